"""The whole school's data as one zip, for a school leaving the platform with nothing lost.

A school administrator starts it (``school_export_start``); it is built in the background
(``portfolio.jobs``, kind ``SCHOOL_EXPORT_JOB``, run again if its worker dies: it only writes
its result file) and kept ``KEEP_HOURS`` for download, then deleted by the job-file purge.

What goes in (README.txt in the zip says the same to whoever opens it):

- ``rosters/<學年度>/``: the central-layout workbooks the platform can write from the school's
  records, for each division with data: roster 1 (student data) per school year, roster 2
  (grades) and roster 24 (cadre posts) per term; the continuing-education division's in a
  ``continuing/`` folder. They are written by the roster builds' own code
  (``submissions.services.packages.write_package``) on an unsaved RosterPackage, so they are
  what a build would send; the rows a build's checks refuse or leave out are listed in
  ``rosters/problems.csv`` instead, so that nothing is silently missing.
- ``rosters/submitted/``: the files of every roster package the school built, as stored, and
  ``index.csv`` saying which package each is and whether it is still whole.
- ``students.csv``: every student of the school, with the national ID decrypted (the school's
  own data leaving with it), in the student import's columns.
- ``files/<student number>/``: every stored file of the school, copied from storage in blocks
  with its sha256 checked against the one taken at upload.
- ``manifest.csv`` and ``manifest.json``: one line per stored file, its item and its status:
  ok, missing (no object in storage: the line stays, the zip has no file), or changed (the
  sha256 differs: the file is included and the line says so).

Memory stays flat whatever the school's size: every part is streamed into a zip in a temporary
file (workbooks and manifests through temporary files of their own), and every query reads in
batches, so the number of queries does not grow with the number of students or files.
"""

import contextlib
import csv
import dataclasses
import datetime as dt
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone, translation

from accounts.models import Division, Role
from portfolio.audit import audit_write
from portfolio.jobs import job_start
from portfolio.models import Job, School, SchoolYear, Term
from records.models import CadrePost, CourseEnrolment, SchoolClass, Student
from submissions.central import spec_for
from submissions.export import ACTIVE, ZipNames, safe_segment
from submissions.models import CourseOutcome, FileFault, Performance, RosterPackage, StoredFile
from submissions.services.packages import Build, write_package
from submissions.services.precheck import Findings
from submissions.services.rosters import KINDS_BY_KEY, RosterKind
from submissions.services.stored_files import copy_into_zip, copy_path_into_zip, zip_time

if TYPE_CHECKING:
    from accounts.acting import ActingContext

SCHOOL_EXPORT_JOB = "submissions.school_export"
KEEP_HOURS = 48
FILE_BATCH = 500  # stored files (and their items) read per query
BLOCK = 64 * 1024

OUTCOME, PERFORMANCE, OTHER = "course_outcome", "diverse_performance", "other"
OK, MISSING, CHANGED = "ok", "missing", "changed"
FAULT_STATUS: dict[str, str] = {FileFault.MISSING: MISSING, FileFault.MISMATCH: CHANGED}
MANIFEST_COLUMNS = (
    "path", "sha256", "size", "student_number", "student_name", "item_kind", "item_id",
    "item_title", "item_state", "school_year", "term", "file_name", "uploaded_at", "status",
)  # fmt: skip
PROBLEM_COLUMNS = (
    "roster", "school_year", "term", "division", "kind", "student_number", "student_name",
    "class", "column", "course", "message",
)  # fmt: skip
STUDENT_COLUMNS = (
    "學號", "姓名", "身分證號", "性別", "出生日期", "班級", "座號", "年級", "科/班/學程別代碼",
    "學年度", "學籍狀態", "帳號已連結",
)  # fmt: skip
PACKAGE_COLUMNS = (
    "path", "package", "roster", "school_year", "term", "division", "state", "built_at",
    "submitted_at", "sha256", "status",
)  # fmt: skip


# --- the jobs of a school ---------------------------------------------------------------------


def school_exports_of(school: School) -> QuerySet[Job]:
    return Job.objects.filter(school=school, kind=SCHOOL_EXPORT_JOB)


def school_export_start(*, school: School, by: "ActingContext") -> Job:
    """Start building the school's zip, or return the one already on its way (the school's
    row is locked while looking, so two presses start one job)."""
    with transaction.atomic():
        School.objects.select_for_update().get(pk=school.pk)
        underway = school_exports_of(school).filter(status__in=ACTIVE).order_by("-created_at")
        if (job := underway.first()) is not None:
            return job
        job = job_start(
            school=school,
            kind=SCHOOL_EXPORT_JOB,
            # keep_hours: the job-file purge deletes this zip after two days, not a week.
            params={
                "language": translation.get_language() or settings.LANGUAGE_CODE,
                "keep_hours": KEEP_HOURS,
            },
            by=by,
        )
        audit_write(school=school, by=by, action="school_export.start", target=job)
    return job


def get_school_export_for(acting: "ActingContext", pk: int) -> Job:
    """An export of the acting school, for its school administrator only; 404 for anyone
    else (another role of the school as much as another school)."""
    if acting.role != Role.SCHOOL_ADMIN:
        raise Http404
    return get_object_or_404(school_exports_of(acting.school), pk=pk)


def school_export_downloaded(*, job: Job, by: "ActingContext") -> None:
    """Record a download of the zip (it holds every student's national ID)."""
    audit_write(
        school=job.school,
        by=by,
        action="school_export.download",
        target=job,
        changes={"file_name": job.result.get("file_name", "")},
    )


# --- writing into the zip ---------------------------------------------------------------------


@contextlib.contextmanager
def _text_entry(
    archive: zipfile.ZipFile, name: str, when: dt.datetime, encoding: str = "utf-8-sig"
) -> Iterator[io.TextIOWrapper]:
    """A compressed zip entry to write text into; UTF-8 with a byte-order mark by default,
    so that spreadsheet programs read a csv as UTF-8."""
    info = zipfile.ZipInfo(name, date_time=zip_time(when))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as target:
        text = io.TextIOWrapper(target, encoding=encoding, newline="")
        yield text
        text.flush()
        text.detach()


@contextlib.contextmanager
def _csv_entry(archive: zipfile.ZipFile, name: str, when: dt.datetime) -> Iterator[Any]:
    """A csv writer straight into a zip entry (nothing else may be written meanwhile)."""
    with _text_entry(archive, name, when) as text:
        yield csv.writer(text)


@contextlib.contextmanager
def _spooled_csv(archive: zipfile.ZipFile, name: str, when: dt.datetime) -> Iterator[Any]:
    """A csv writer into a temporary file, copied into the zip entry at the end: for a csv
    written while other entries are (a zip takes one entry at a time)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as spool:
        yield csv.writer(spool)
        spool.seek(0)
        with _text_entry(archive, name, when) as target:
            shutil.copyfileobj(spool, target, BLOCK)


def _copy_entry(archive: zipfile.ZipFile, name: str, source: IO[bytes], when: dt.datetime) -> None:
    """A temporary file into a compressed zip entry, in blocks."""
    source.seek(0)
    info = zipfile.ZipInfo(name, date_time=zip_time(when))
    info.compress_type = zipfile.ZIP_DEFLATED
    with archive.open(info, "w", force_zip64=True) as target:
        shutil.copyfileobj(source, target, BLOCK)


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).isoformat(timespec="seconds") if moment else ""


# --- 1. the rosters the platform can write ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PlannedRoster:
    """One workbook to write: a roster kind for a school year (and term), one division."""

    kind: RosterKind
    school_year: SchoolYear
    term: Term | None
    term_number: int
    division: str


def _divisions(school: School) -> list[str]:
    if school.has_continuing_division:
        return [Division.DAY, Division.CONTINUING]
    return [Division.DAY]


def roster_plan(school: School) -> list[PlannedRoster]:
    """The workbooks that have data: roster 1 for each school year and division with students
    in its classes, rosters 2 and 24 for each term and division with enrolments or cadre posts
    (a student without a class counts in the day division, as the rosters do). Four queries,
    five when a year has classes but no terms yet."""
    student_years = set(
        SchoolClass.objects.filter(school=school, students__isnull=False)
        .values_list("school_year_id", "division")
        .distinct()
    )
    graded = {
        (term_id, division or Division.DAY)
        for term_id, division in CourseEnrolment.objects.filter(school=school)
        .values_list("course__term_id", "student__school_class__division")
        .distinct()
    }
    posted = {
        (term_id, division or Division.DAY)
        for term_id, division in CadrePost.objects.filter(school=school)
        .values_list("term_id", "student__school_class__division")
        .distinct()
    }
    # The school's divisions, and any other its records hold (nothing is left behind).
    seen = {division for _pk, division in student_years | graded | posted}
    divisions = [*_divisions(school), *sorted(seen - set(_divisions(school)))]
    terms = list(
        Term.objects.filter(school=school)
        .select_related("school", "school_year")
        .order_by("school_year__roc_year", "number")
    )
    years = {term.school_year_id: term.school_year for term in terms}
    first_terms: dict[int, Term] = {}
    for term in terms:
        first_terms.setdefault(term.school_year_id, term)
    if without_terms := {year for year, _division in student_years} - set(years):
        # A year with classes but no terms yet: its roster 1 still goes (cover term 1).
        years.update({year.pk: year for year in SchoolYear.objects.filter(pk__in=without_terms)})
    students, grades, cadres = (KINDS_BY_KEY[key] for key in ("students", "grades", "cadres"))
    plan: list[PlannedRoster] = []
    for year in sorted(years.values(), key=lambda y: y.roc_year):
        year_terms = [term for term in terms if term.school_year_id == year.pk]
        for division in divisions:
            if (year.pk, division) in student_years:
                first = first_terms.get(year.pk)
                plan.append(
                    PlannedRoster(students, year, None, first.number if first else 1, division)
                )
            for term in year_terms:
                for kind, present in ((grades, graded), (cadres, posted)):
                    if (term.pk, division) in present:
                        plan.append(PlannedRoster(kind, year, term, term.number, division))
    return plan


class _ListedFindings(Findings):
    """A build's findings, each also written to problems.csv (a build keeps only the first
    few hundred; here every one is listed)."""

    def __init__(self, lines: Any, planned: PlannedRoster, roster: int) -> None:
        super().__init__()
        self.lines = lines
        self.head = [
            roster,
            planned.school_year.roc_year,
            planned.term.number if planned.term else "",
            planned.division,
        ]

    def problem(self, student: Student, field: str, message: str, course: str = "") -> None:
        super().problem(student, field, message, course)
        self._write("problem", student, field, message, course)

    def exclude(self, student: Student, field: str, message: str, course: str = "") -> None:
        super().exclude(student, field, message, course)
        self._write("left_out", student, field, message, course)

    def _write(self, kind: str, student: Student, field: str, message: str, course: str) -> None:
        klass = student.school_class
        self.lines.writerow(
            [*self.head, kind, student.student_number, student.name,
             klass.name if klass else "", field, course, message]
        )  # fmt: skip


@dataclasses.dataclass
class Summary:
    students: int = 0
    files: int = 0
    bytes: int = 0
    missing: int = 0
    changed: int = 0
    rosters: int = 0
    roster_rows: int = 0
    problems: int = 0
    left_out: int = 0
    submitted_files: int = 0
    submitted_missing: int = 0
    submitted_changed: int = 0


def _write_rosters(
    archive: zipfile.ZipFile,
    school: School,
    plan: list[PlannedRoster],
    summary: Summary,
    step: Callable[[], None],
    now: dt.datetime,
) -> None:
    """Each planned workbook, written as a build would write it, then problems.csv."""
    moment = timezone.localtime(now)
    paths = ZipNames()
    with _spooled_csv(archive, "rosters/problems.csv", now) as lines:
        lines.writerow(PROBLEM_COLUMNS)
        for planned in plan:
            spec = spec_for(planned.school_year.roc_year)
            roster = planned.kind.code(spec, planned.division)
            # Never saved: write_package and the row functions read only its fields.
            package = RosterPackage(
                school=school, school_year=planned.school_year, term=planned.term,
                term_number=planned.term_number, roster=roster, division=planned.division,
                spec_version=spec.VERSION,
            )  # fmt: skip
            findings = _ListedFindings(lines, planned, roster)
            build = Build(
                package=package, spec=spec, school_year=planned.school_year, term=planned.term,
                findings=findings, report=lambda done, total: None, batch=planned.kind.batch,
            )  # fmt: skip
            name = spec.file_name(
                school.code, planned.school_year.roc_year, planned.term_number, roster, moment
            )
            folder = f"rosters/{planned.school_year.roc_year}"
            if planned.division != Division.DAY:
                folder += f"/{planned.division}"
            with tempfile.TemporaryFile() as book:
                written = write_package(build, planned.kind, book, None)
                _copy_entry(archive, paths.take(folder, name), book, now)
            summary.rosters += 1
            summary.roster_rows += written.rows
            summary.problems += findings.problem_count
            summary.left_out += findings.excluded_count
            step()


# --- 2. the roster packages as they were built ------------------------------------------------


def _packages_with_files(school: School) -> QuerySet[RosterPackage]:
    return RosterPackage.objects.filter(school=school).filter(~Q(workbook="") | ~Q(files_zip=""))


def _write_submitted(
    archive: zipfile.ZipFile,
    school: School,
    summary: Summary,
    step: Callable[[], None],
    now: dt.datetime,
) -> None:
    """Every stored file of the school's roster packages, as stored, and an index of them."""
    packages = (
        _packages_with_files(school)
        .select_related("school_year")
        .order_by("school_year__roc_year", "term_number", "roster", "division", "created_at", "pk")
    )
    paths = ZipNames()
    with _spooled_csv(archive, "rosters/submitted/index.csv", now) as index:
        index.writerow(PACKAGE_COLUMNS)
        for package in packages.iterator(chunk_size=FILE_BATCH):
            for field, sha256 in (
                (package.workbook, package.workbook_sha256),
                (package.files_zip, package.files_zip_sha256),
            ):
                if not field:
                    continue
                base = field.name.rsplit("/", 1)[-1]
                path = paths.take(
                    "rosters/submitted", safe_segment(base, fallback="file", limit=120)
                )
                fault = copy_path_into_zip(
                    archive, field.name, path, sha256=sha256, when=package.built_at or now
                )
                status = FAULT_STATUS.get(fault, OK)
                summary.submitted_files += 1
                summary.submitted_missing += status == MISSING
                summary.submitted_changed += status == CHANGED
                index.writerow(
                    [
                        "" if status == MISSING else path,
                        package.pk,
                        package.roster,
                        package.school_year.roc_year,
                        package.term_number,
                        package.division,
                        package.state,
                        _local(package.built_at),
                        _local(package.submitted_at),
                        sha256,
                        status,
                    ]
                )
            step()


# --- 3. the students --------------------------------------------------------------------------


def _write_students(
    archive: zipfile.ZipFile, school: School, summary: Summary, now: dt.datetime
) -> None:
    students = (
        Student.objects.filter(school=school)
        .select_related("school_class__school_year")
        .order_by("student_number", "pk")
    )
    with _csv_entry(archive, "students.csv", now) as lines:
        lines.writerow(STUDENT_COLUMNS)
        for student in students.iterator(chunk_size=FILE_BATCH):
            klass = student.school_class
            lines.writerow(
                [
                    student.student_number,
                    student.name,
                    student.national_id,  # decrypted: the school's own data leaving with it
                    student.gender,
                    student.birth_date.isoformat() if student.birth_date else "",
                    klass.name if klass else "",
                    student.seat_number or "",
                    klass.grade if klass else "",
                    student.department_code,
                    klass.school_year.roc_year if klass else "",
                    student.status,
                    "1" if student.user_id else "0",
                ]
            )
            summary.students += 1


# --- 4. and 5. the files and their manifest ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Item:
    kind: str
    pk: int
    title: str
    state: str
    school_year: int | str = ""
    term: int | str = ""


def _file_batches(school: School) -> Iterator[list[StoredFile]]:
    """The school's stored files with their students, FILE_BATCH at a time (by key)."""
    last = 0
    while True:
        batch = list(
            StoredFile.objects.filter(school=school, pk__gt=last)
            .select_related("student")
            .order_by("pk")[:FILE_BATCH]
        )
        if not batch:
            return
        yield batch
        last = batch[-1].pk


def _items_of(school: School, ids: list[int]) -> dict[int, Item]:
    """The item each of these stored files belongs to (two queries)."""
    found: dict[int, Item] = {}
    holds = Q(document_id__in=ids) | Q(media_id__in=ids)
    outcomes = (
        CourseOutcome.objects.filter(holds, school=school)
        .values_list("pk", "title", "state", "document_id", "media_id",
                     "enrolment__course__term__school_year__roc_year",
                     "enrolment__course__term__number")
    )  # fmt: skip
    for pk, title, state, document, media, roc_year, term in outcomes:
        item = Item(OUTCOME, pk, title, state, roc_year, term)
        found.update({file_id: item for file_id in (document, media) if file_id})
    performances = Performance.objects.filter(holds, school=school).values_list(
        "pk", "name", "state", "document_id", "media_id", "school_year__roc_year"
    )
    for pk, name, state, document, media, roc_year in performances:
        item = Item(PERFORMANCE, pk, name, state, roc_year)
        found.update({file_id: item for file_id in (document, media) if file_id})
    return found


def _file_name(stored: StoredFile) -> str:
    """The display name (cleaned on upload; cleaned again, the zip trusts nothing)."""
    return safe_segment(stored.display_name, fallback=f"file.{stored.extension}", limit=100)


class _Manifest:
    """manifest.json's lines, written to a temporary file while the files are copied (and
    manifest.csv's, to the spooled csv ``lines``), then into the zip."""

    def __init__(self, lines: Any, spool: IO[str]) -> None:
        self.lines, self.spool = lines, spool
        self.lines.writerow(MANIFEST_COLUMNS)
        self.count = 0

    def add(self, values: list[Any]) -> None:
        self.lines.writerow(values)
        self.spool.write(",\n  " if self.count else "\n  ")
        json.dump(dict(zip(MANIFEST_COLUMNS, values, strict=True)), self.spool,
                  ensure_ascii=False)  # fmt: skip
        self.count += 1

    def json_into(
        self, archive: zipfile.ZipFile, school: School, summary: Summary, now: dt.datetime
    ) -> None:
        head = {
            "school_code": school.code,
            "school_name": school.name,
            "generated_at": _local(now),
            "summary": dataclasses.asdict(summary),
        }
        self.spool.seek(0)
        with _text_entry(archive, "manifest.json", now, encoding="utf-8") as target:
            # The head's closing brace is left off, the files' list goes in its place.
            target.write(json.dumps(head, ensure_ascii=False, indent=2).removesuffix("\n}"))
            target.write(',\n  "files": [')
            shutil.copyfileobj(self.spool, target, BLOCK)
            target.write("\n  ]\n}\n")


def _write_files(
    archive: zipfile.ZipFile,
    school: School,
    manifest: _Manifest,
    summary: Summary,
    step: Callable[[], None],
) -> None:
    paths = ZipNames()
    for batch in _file_batches(school):
        items = _items_of(school, [stored.pk for stored in batch])
        for stored in batch:
            student = stored.student
            item = items.get(stored.pk) or Item(OTHER, stored.pk, "", "")
            folder = f"files/{safe_segment(student.student_number, fallback=str(student.pk))}"
            path = paths.take(folder, f"{item.kind}-{item.pk}-{_file_name(stored)}")
            fault = copy_into_zip(archive, stored, path, school)
            status = FAULT_STATUS.get(fault, OK)
            if status == MISSING:
                path = ""
                summary.missing += 1
            else:
                summary.files += 1
                summary.bytes += stored.size
                summary.changed += status == CHANGED
            manifest.add(
                [path, stored.sha256, stored.size, student.student_number, student.name,
                 item.kind, item.pk, item.title, item.state, item.school_year, item.term,
                 stored.display_name, _local(stored.created_at), status]
            )  # fmt: skip
            step()


# --- the job ----------------------------------------------------------------------------------


def download_name(school: School, day: dt.date) -> str:
    return f"school-{school.code}-{day:%Y%m%d}.zip"


def school_export_build(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    """The job: write the zip to a temporary file, then keep it as the job's result file."""
    school = School.objects.get(pk=job.school_id)
    now = timezone.now()
    plan = roster_plan(school)
    package_count = _packages_with_files(school).count()
    total = len(plan) + package_count + StoredFile.objects.filter(school=school).count() + 2
    done = {"steps": 0}

    def step() -> None:
        done["steps"] += 1
        progress(done["steps"], total)

    summary = Summary()
    with tempfile.TemporaryFile() as temporary:
        with zipfile.ZipFile(temporary, "w", allowZip64=True) as archive:
            _write_rosters(archive, school, plan, summary, step, now)
            _write_submitted(archive, school, summary, step, now)
            _write_students(archive, school, summary, now)
            step()
            with (
                _spooled_csv(archive, "manifest.csv", now) as lines,
                tempfile.TemporaryFile("w+", encoding="utf-8") as spool,
            ):
                manifest = _Manifest(lines, spool)
                _write_files(archive, school, manifest, summary, step)
                manifest.json_into(archive, school, summary, now)
            readme = render_to_string(
                "submissions/school_export/readme.txt",
                {"school": school, "generated_at": timezone.localtime(now), "summary": summary},
            )
            info = zipfile.ZipInfo("README.txt", date_time=zip_time(now))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, readme.encode("utf-8"))
            step()
        size = temporary.tell()
        temporary.seek(0)
        name = download_name(school, timezone.localdate(now))
        job.result_file.save(name, File(temporary, name=name), save=False)
    Job.objects.filter(pk=job.pk).update(result_file=job.result_file.name)
    return {"file_name": name, "size": size, **dataclasses.asdict(summary)}
