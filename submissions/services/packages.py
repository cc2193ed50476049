"""Building a roster package (名冊) for the central database, as a background job.

A build reads the roster's rows once, in roster order (class, seat, student number), checks
each as it goes (the pre-check: the student's key, the course code, the item's state and
files; ``submissions.services.precheck.Findings``) and streams what may be sent into

- the workbook in the central layout of the school year's specification
  (``submissions.central``): the cover 封面, then every data sheet of the roster in order,
  header in row 1, even when a sheet has no rows;
- for the item rosters (25 performances, 26/28 course outcomes), a zip of the items' files,
  each copied from storage in blocks while its sha256 is checked against the one taken at
  upload, and ``manifest.csv`` naming each file's row, size and sha256.

Both are written to temporary files and handed to storage at the end, so memory stays flat
whatever the school's size. The package ends with problems (nothing to submit until they are
fixed and the roster is built again) or built; either way it keeps what the pre-check found.

The same data gives the same content: ``content_sha256`` covers every row and every file's
sum in order, not the time of the build. ``row_digests`` keep one digest per row under the
row's identity, so that the next build says what changed since the last submitted one (rows
added, changed, removed).

Safe to retry: the package is marked built only in the transaction that records its files,
after they are stored; a worker killed before that leaves it building, with its heartbeat
stopped, and the next build of the roster marks it interrupted, removes what it stored, and
builds again (``submissions.services.rosters.package_start``).
"""

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import itertools
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import IO, Any

from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from openpyxl import Workbook

from portfolio.exports import add_sheet
from portfolio.lib import national_id as national_ids
from portfolio.lib.roc import to_roc_date
from portfolio.models import Job, SchoolYear, Term, Window, WindowKind
from records.access import division_q
from records.models import CadrePost, Student
from submissions.central import spec_for
from submissions.models import (
    FROZEN_STATES,
    CourseOutcome,
    FileFault,
    OutcomeState,
    PackageState,
    Performance,
    PerformanceSource,
    PerformanceState,
    RosterPackage,
    Selection,
    StoredFile,
)
from submissions.services.precheck import Findings, checked_grade_rows, student_key_problems
from submissions.services.stored_files import copy_into_zip, zip_time

PACKAGE_JOB = "roster.package"
MANIFEST_NAME = "manifest.csv"
MANIFEST_COLUMNS = ("檔案", "sha256", "位元組", "名冊別", "工作表", "身分證號", "出生日期", "項目")
# How often a running build says it is alive; one silent for STALE_AFTER lost its worker.
HEARTBEAT_EVERY = dt.timedelta(seconds=5)
STALE_AFTER = dt.timedelta(minutes=5)
PROGRESS_EVERY = 200
# The most changed rows a diff keeps to show; the counts are always whole.
DIFF_EXAMPLES = 200
STUDENT_ORDER = ("student__school_class__name", "student__seat_number", "student__student_number")
GRADE_FIELDS = ("score", "passed", "makeup_score", "makeup_passed", "counts_credit", "description")


@dataclasses.dataclass
class Row:
    """A data row that passed its checks: its sheet, student, identity among the student's
    rows of the sheet (``item``), the key (身分證號, 出生日期), the columns after the key, and
    the files that go with it."""

    sheet: str
    student: Student
    item: str
    key: list[str]
    values: list[Any]
    files: list[tuple[StoredFile, str]] = dataclasses.field(default_factory=list)
    source: CourseOutcome | Performance | None = None

    @property
    def identity(self) -> str:
        return f"{self.sheet}|{self.student.pk}|{self.item}"


@dataclasses.dataclass
class Build:
    """What a build reads and reports: the package's roster, the year's spec and findings."""

    package: RosterPackage
    spec: ModuleType
    school_year: SchoolYear
    term: Term | None
    findings: Findings
    report: Callable[[int, int], None]
    batch: int = 0
    total: int = 0
    done: int = 0
    _keys: dict[int, list[str] | None] = dataclasses.field(default_factory=dict)

    @property
    def division(self) -> str:
        return self.package.division

    def step(self) -> None:
        self.done += 1
        if self.done % PROGRESS_EVERY == 0:
            self.report(self.done, self.total + 1)

    def key_for(self, student: Student) -> list[str] | None:
        """The student's row key, or None (reported once) when their rows cannot go."""
        if student.pk not in self._keys:
            fine = student_key_problems(student, self.findings)
            birth = student.birth_date
            self._keys[student.pk] = (
                [national_ids.normalize(student.national_id), to_roc_date(birth)]
                if fine and birth is not None
                else None
            )
        return self._keys[student.pk]


# --- the rows of each roster ------------------------------------------------------------------


def _division_students(build: Build, prefix: str = "student__"):
    return division_q(build.division, prefix=prefix)


def student_rows(build: Build) -> Iterator[Row]:
    """Roster 1: every student of the division in a class of the term's school year."""
    spec = build.spec
    students = (
        Student.objects.filter(
            school_id=build.package.school_id, school_class__school_year=build.school_year
        )
        .filter(_division_students(build, prefix=""))
        .select_related("school_class")
        .annotate(changed_on=Max("changes__effective_on"))
        .order_by("school_class__name", "seat_number", "student_number")
    )
    build.total = students.count()
    for student in students.iterator(chunk_size=1000):
        build.step()
        key = build.key_for(student)
        if key is None:
            continue
        klass = student.school_class
        assert klass is not None  # filtered on the class's year
        values = spec.student_row(
            gender=student.gender,
            department_code=student.department_code,
            division=build.division,
            grade=klass.grade,
            class_name=klass.name,
            seat=student.seat_number,
            changed_on=student.changed_on,
        )
        if not student.gender:
            build.findings.problem(student, "性別代碼", _("The gender is missing."))
            continue
        yield Row(spec.STUDENT_SHEET, student, "", key, values)


def _report_ungraded(build: Build, student: Student | None, codes: list[str]) -> None:
    if student is None or not codes:
        return
    build.findings.problem(
        student,
        "學期學業成績",
        ngettext(
            "%(count)s course has no term score or pass flag yet: %(codes)s",
            "%(count)s courses have no term score or pass flag yet: %(codes)s",
            len(codes),
        )
        % {"count": len(codes), "codes": ", ".join(codes)},
    )


def grade_rows(build: Build) -> Iterator[Row]:
    """Roster 2: the term's grades, with the pre-check's checks and a score on every row
    (courses without one are reported once per student, not once per row)."""
    assert build.term is not None
    spec = build.spec
    rows = checked_grade_rows(
        build.term, build.division, build.findings, build.report, GRADE_FIELDS
    )
    ungraded: tuple[Student | None, list[str]] = (None, [])
    for row in rows:
        if ungraded[0] is not row.student:
            _report_ungraded(build, *ungraded)
            ungraded = (row.student, [])
        score, passed, makeup_score, makeup_passed, counts_credit, description = row.values
        if score is None or passed is None:
            ungraded[1].append(row.verdict.code)
            continue
        course = row.verdict.course
        values = spec.grade_row(
            row.verdict.code, course.name, course.grade, course.credits, build.division,
            score=score, passed=passed, makeup_score=makeup_score, makeup_passed=makeup_passed,
            counts_credit=counts_credit, description=description,
        )  # fmt: skip
        yield Row(spec.GRADE_SHEET, row.student, row.verdict.code, row.key, values)
    _report_ungraded(build, *ungraded)


def _cadres_sent_in_first_batch(build: Build) -> set[str]:
    """For the second batch: the posts (row items) the submitted first-batch roster held."""
    first = (
        RosterPackage.objects.filter(
            school_id=build.package.school_id,
            school_year=build.school_year,
            roster=build.spec.batch_roster(build.spec.CADRES_ROSTER, 1),
            division=build.division,
            state__in=FROZEN_STATES,
            superseded_at=None,
        )
        .only("row_digests")
        .first()
    )
    return {key.rsplit("|", 1)[-1] for key in (first.row_digests if first else {})}


def cadre_rows(build: Build) -> Iterator[Row]:
    """Roster 24: the cadre posts student affairs recorded for the term. Grade 12's batch
    versions (34, 74) are yearly: every post of the year's grade-12 students, the second
    batch without those the first sent (the public sources do not say more)."""
    spec = build.spec
    posts = CadrePost.objects.filter(school_id=build.package.school_id).filter(
        _selecting_students(build)
    )
    if build.batch:
        posts = posts.filter(term__school_year=build.school_year)
    else:
        posts = posts.filter(term=build.term)
    posts = posts.select_related("student__school_class").order_by(
        *STUDENT_ORDER, "starts_on", "pk"
    )
    sent = _cadres_sent_in_first_batch(build) if build.batch == 2 else set()
    build.total = posts.count()
    for post in posts.iterator(chunk_size=1000):
        build.step()
        if f"C{post.pk}" in sent:
            continue
        key = build.key_for(post.student)
        if key is None:
            continue
        if post.level not in spec.CADRE_LEVELS:
            build.findings.problem(
                post.student,
                "幹部等級",
                _("%(post)s: the central database takes the levels school, class and club only.")
                % {"post": f"{post.unit} {post.title}"},
            )
            continue
        values = spec.cadre_row(post.unit, post.title, post.level, post.starts_on, post.ends_on)
        yield Row(spec.CADRE_SHEET, post.student, f"C{post.pk}", key, values)


def year_has_batches(school_year: SchoolYear) -> bool:
    """Whether grade 12 selects in batches (梯次) this school year."""
    return Window.objects.filter(
        term__school_year=school_year, kind=WindowKind.SELECTION, batch__isnull=False
    ).exists()


def _selecting_students(build: Build) -> Q:
    """The students whose selections the roster sends: the division's; in a year of batches,
    grade 12's go in the batch rosters and the others in the ordinary ones."""
    scope = _division_students(build)
    grade_12 = Q(
        student__school_class__school_year=build.school_year, student__school_class__grade=12
    )
    if build.batch:
        return scope & grade_12
    if year_has_batches(build.school_year):
        return scope & ~grade_12
    return scope


def _locked_selections(build: Build):
    return Selection.objects.filter(
        school_id=build.package.school_id, school_year=build.school_year, locked_at__isnull=False
    ).filter(_selecting_students(build))


def _sent_in_first_batch(build: Build, model: type[CourseOutcome] | type[Performance]):
    """For the second batch: the items a submitted first-batch roster holds (sent once)."""
    first = {build.spec.batch_roster(code, 1) for code in build.spec.BATCH_ROSTERS[1]}
    return model.objects.filter(
        packages__school_year=build.school_year,
        packages__roster__in=first,
        packages__state__in=FROZEN_STATES,
        packages__superseded_at=None,
    ).values("pk")


def _exclude_open_selections(build: Build) -> None:
    """Selections whose window has closed are locked first (the periodic task may not have
    come by yet); students whose selection is not final yet are left out, and said so."""
    from submissions.services.selection import selections_lock_year

    selections_lock_year(build.school_year, timezone.now())
    still_open = (
        Selection.objects.filter(
            school_id=build.package.school_id, school_year=build.school_year, locked_at=None
        )
        .filter(_selecting_students(build))
        .select_related("student__school_class")
        .order_by(*STUDENT_ORDER)
    )
    for selection in still_open.iterator(chunk_size=1000):
        build.findings.exclude(
            selection.student,
            "勾選",
            _(
                "Left out: the selection window is still open for this student; the selection "
                "goes in the first build after it locks."
            ),
        )


def _file_problems(build: Build, student: Student, files: list[tuple[StoredFile, str]]) -> bool:
    """Report files the nightly sweep found missing or changed; whether all are whole."""
    whole = True
    for stored, _role in files:
        if stored.fault:
            build.findings.problem(
                student,
                "檔案",
                _("%(file)s: %(fault)s. Ask the student to replace it.")
                % {"file": stored.display_name, "fault": stored.get_fault_display()},
            )
            whole = False
    return whole


def _item_files(item: CourseOutcome | Performance) -> list[tuple[StoredFile, str]]:
    return [(f, role) for f, role in ((item.document, "document"), (item.media, "media")) if f]


def outcome_rows(build: Build) -> Iterator[Row]:
    """Roster 26 (28): the certified course outcomes in the students' final selections."""
    spec = build.spec
    _exclude_open_selections(build)
    outcomes = (
        CourseOutcome.objects.filter(selections__in=_locked_selections(build))
        .select_related(
            "student__school_class", "enrolment__course__term__school_year", "document", "media"
        )
        .order_by(*STUDENT_ORDER, "enrolment__course__term__school_year__roc_year",
                  "enrolment__course__term__number", "enrolment__course__code", "pk")
    )  # fmt: skip
    if build.batch == 2:
        outcomes = outcomes.exclude(pk__in=_sent_in_first_batch(build, CourseOutcome))
    build.total = outcomes.count()
    sheet = spec.OUTCOME_SHEET
    for outcome in outcomes.iterator(chunk_size=1000):
        build.step()
        student = outcome.student
        key = build.key_for(student)
        if key is None:
            continue
        if outcome.state != OutcomeState.CERTIFIED:
            build.findings.problem(
                student,
                "課程學習成果",
                _("%(title)s is selected but no longer certified (%(state)s).")
                % {"title": outcome.title, "state": outcome.get_state_display()},
            )
            continue
        files = _item_files(outcome)
        if not _file_problems(build, student, files):
            continue
        values = list(spec.outcome_row(outcome, build.division).values())
        course, term = outcome.enrolment.course, outcome.enrolment.course.term
        item = f"{course.code}|{term.school_year.roc_year}{term.number}|O{outcome.pk}"
        yield Row(sheet, student, item, key, values, files, outcome)


def performance_rows(build: Build) -> Iterator[Row]:
    """Roster 25: the students' own performances in their final selections, sheet by sheet."""
    spec = build.spec
    _exclude_open_selections(build)
    performances = (
        Performance.objects.filter(selections__in=_locked_selections(build))
        .select_related("student__school_class", "document", "media")
        .order_by(*STUDENT_ORDER, "starts_on", "pk")
    )
    if build.batch == 2:
        performances = performances.exclude(pk__in=_sent_in_first_batch(build, Performance))
    build.total = performances.count()
    for sheet in spec.PERFORMANCE_SHEETS:
        categories = [c.code for c in spec.categories.CATEGORY_LIST if c.sheet == sheet]
        for performance in performances.filter(category__in=categories).iterator(chunk_size=1000):
            build.step()
            student = performance.student
            key = build.key_for(student)
            if key is None:
                continue
            if (
                performance.source != PerformanceSource.STUDENT
                or performance.state == PerformanceState.WITHDRAWN
            ):
                build.findings.problem(
                    student,
                    "多元表現",
                    _("%(name)s is selected but withdrawn or not the student's own.")
                    % {"name": performance.name},
                )
                continue
            files = _item_files(performance)
            if not _file_problems(build, student, files):
                continue
            values = list(spec.performance_row(performance).values())
            yield Row(sheet, student, f"P{performance.pk}", key, values, files, performance)


# --- writing ----------------------------------------------------------------------------------


@dataclasses.dataclass
class Written:
    rows: int = 0
    files: int = 0
    content: Any = dataclasses.field(default_factory=hashlib.sha256)
    digests: dict[str, str] = dataclasses.field(default_factory=dict)
    outcome_ids: list[int] = dataclasses.field(default_factory=list)
    performance_ids: list[int] = dataclasses.field(default_factory=list)


def _extension(stored: StoredFile) -> str:
    return "".join(c for c in stored.extension.lower() if c.isalnum())[:8] or "bin"


class FilesZip:
    """The item files of a package, copied in blocks into a zip on disk, with a manifest."""

    def __init__(self, target: IO[bytes], roster: int) -> None:
        self.archive = zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True)
        self.roster = roster
        # Closed in close(), once the zip is written.
        self.manifest = tempfile.TemporaryFile("w+", encoding="utf-8", newline="")  # noqa: SIM115
        self.lines = csv.writer(self.manifest)
        self.lines.writerow(MANIFEST_COLUMNS)

    def add(self, build: Build, row: Row, stored: StoredFile, role: str) -> bool:
        """Copy one file in, checking its sha256 as it goes; whether it is whole."""
        item = row.item.replace("|", "-")
        path = f"{row.key[0]}/{row.sheet}/{item}-{role}.{_extension(stored)}"
        fault = copy_into_zip(self.archive, stored, path, build.package.school)
        if fault:
            message = (
                _("%(file)s is missing from the school's storage. Ask the student to replace it.")
                if fault == FileFault.MISSING
                else _("%(file)s differs from the one uploaded (its checksum changed).")
            )
            build.findings.problem(row.student, "檔案", message % {"file": stored.display_name})
            return False
        self.lines.writerow(
            [path, stored.sha256, stored.size, self.roster, row.sheet, *row.key, row.item]
        )
        return True

    def close(self) -> None:
        self.manifest.seek(0)
        info = zipfile.ZipInfo(MANIFEST_NAME, date_time=zip_time(timezone.now()))
        with self.archive.open(info, "w") as target:
            # With a byte-order mark, so that spreadsheet programs read it as UTF-8.
            wrapper = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
            while block := self.manifest.read(64 * 1024):
                wrapper.write(block)
            wrapper.flush()
            wrapper.detach()
        self.manifest.close()
        self.archive.close()


def _sheet_rows(
    build: Build, rows: Iterator[Row], sheet: str, written: Written, files: FilesZip | None
) -> Iterator[list[Any]]:
    """The rows of ``sheet`` from the roster's rows (which come in sheet order), counted and
    digested, their files copied into the zip; a row whose file fails is not written."""
    for row in rows:
        if row.sheet != sheet:
            raise ValueError(f"row of {row.sheet!r} out of sheet order (writing {sheet!r})")
        if files is not None and not all(files.add(build, row, f, r) for f, r in row.files):
            continue
        cells = [*row.key, *row.values]
        digest = hashlib.sha256(
            json.dumps([sheet, cells, [f.sha256 for f, _r in row.files]], default=str).encode()
        ).hexdigest()
        written.content.update(digest.encode())
        written.digests[row.identity] = digest[:24]
        written.rows += 1
        written.files += len(row.files)
        if isinstance(row.source, CourseOutcome):
            written.outcome_ids.append(row.source.pk)
        elif isinstance(row.source, Performance):
            written.performance_ids.append(row.source.pk)
        yield cells


def _by_sheet(rows: Iterator[Row], sheets: list[str]) -> dict[str, Iterator[Row]]:
    """One iterator per sheet over a stream of rows in sheet order."""
    grouped = itertools.groupby(rows, key=lambda row: row.sheet)
    pending: dict[str, Any] = {}

    def for_sheet(sheet: str) -> Iterator[Row]:
        if pending:
            # A later sheet's rows came first: this sheet has none (advancing the groupby
            # now would lose them).
            if sheet in pending:
                yield from pending.pop(sheet)
            return
        try:
            name, group = next(grouped)
        except StopIteration:
            return
        if name == sheet:
            yield from group
        else:
            pending[name] = group

    return {sheet: for_sheet(sheet) for sheet in sheets}


def write_package(
    build: Build, kind: Any, workbook_file: IO[bytes], zip_file: IO[bytes] | None
) -> Written:
    """Write the roster's workbook (and files zip) from its rows, streamed."""
    spec, package = build.spec, build.package
    written = Written()
    book = Workbook(write_only=True)
    cover = spec.cover_row(
        package.school.code, build.school_year.roc_year, package.term_number, package.roster
    )
    add_sheet(book, title=spec.COVER_SHEET, headers=spec.COVER_COLUMNS, rows=[cover], bold=False)
    files = FilesZip(zip_file, package.roster) if zip_file is not None else None
    sheets = kind.sheets(spec, build.division)
    streams = _by_sheet(kind.rows(build), [title for title, _columns in sheets])
    for title, columns in sheets:
        add_sheet(
            book,
            title=title,
            headers=(*spec.KEY_COLUMNS, *columns),
            rows=_sheet_rows(build, streams[title], title, written, files),
            bold=False,
        )
    book.save(workbook_file)
    if files is not None:
        files.close()
    return written


def sha256_of(file: IO[bytes]) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    while block := file.read(1024 * 1024):
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()


# --- the diff with the last submitted package ------------------------------------------------


def last_submitted(package: RosterPackage) -> RosterPackage | None:
    return (
        RosterPackage.objects.filter(
            school_id=package.school_id,
            school_year_id=package.school_year_id,
            term_number=package.term_number,
            roster=package.roster,
            division=package.division,
            submitted_at__isnull=False,
        )
        .exclude(pk=package.pk)
        .order_by("-submitted_at", "-pk")
        .first()
    )


def row_diff(before: dict[str, str], after: dict[str, str]) -> dict[str, Any]:
    """Rows added, changed and removed from ``before`` to ``after`` (identity: digest)."""
    added = [key for key in after if key not in before]
    removed = [key for key in before if key not in after]
    changed = [key for key, digest in after.items() if key in before and before[key] != digest]
    examples = (
        [("added", key) for key in added]
        + [("changed", key) for key in changed]
        + [("removed", key) for key in removed]
    )[:DIFF_EXAMPLES]
    return {
        "added": len(added),
        "changed": len(changed),
        "removed": len(removed),
        "examples": examples,
    }


# --- the job ----------------------------------------------------------------------------------


def package_folder(package: RosterPackage) -> str:
    return f"rosters/{package.school.code}/{package.pk}"


def remove_files(package: RosterPackage) -> None:
    """Delete what a build of ``package`` stored (an interrupted or discarded build)."""
    folder = package_folder(package)
    try:
        _dirs, names = default_storage.listdir(folder)
    except (FileNotFoundError, NotImplementedError):
        return
    for name in names:
        default_storage.delete(f"{folder}/{name}")


def _store(field: Any, package: RosterPackage, name: str, file: IO[bytes]) -> None:
    file.seek(0)
    # ``upload_to`` adds "rosters/"; the package's own folder keeps its builds apart.
    field.save(f"{package.school.code}/{package.pk}/{name}", File(file, name=name), save=False)


def package_build(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    """The job: pre-check and write the package, then record it, once."""
    from submissions.services.rosters import kind_of

    package = RosterPackage.objects.select_related("school", "school_year", "term").get(
        pk=job.params["package"], school_id=job.school_id
    )
    if package.state != PackageState.BUILDING:
        return {"package": package.pk, "state": package.state}
    kind = kind_of(package.roster, spec_for(package.school_year.roc_year), package.division)
    last_beat = {"at": timezone.now()}
    RosterPackage.objects.filter(pk=package.pk).update(heartbeat_at=last_beat["at"])

    def report(done: int, total: int) -> None:
        progress(done, total)
        now = timezone.now()
        if now - last_beat["at"] >= HEARTBEAT_EVERY:
            last_beat["at"] = now
            RosterPackage.objects.filter(pk=package.pk).update(heartbeat_at=now)

    build = Build(
        package=package,
        spec=spec_for(package.school_year.roc_year),
        school_year=package.school_year,
        term=package.term,
        findings=Findings(),
        report=report,
        batch=kind.batch,
    )
    moment = timezone.localtime()
    name = build.spec.file_name(
        package.school.code, package.school_year.roc_year, package.term_number, package.roster,
        moment,
    )  # fmt: skip
    with tempfile.TemporaryFile() as book_file, tempfile.TemporaryFile() as zip_file:
        written = write_package(build, kind, book_file, zip_file if kind.with_files else None)
        _store(package.workbook, package, name, book_file)
        workbook_sha256 = sha256_of(book_file)
        zip_sha256 = ""
        if kind.with_files:
            zip_sha256 = sha256_of(zip_file)
            _store(package.files_zip, package, name.removesuffix(".xlsx") + "_files.zip", zip_file)
    return _record(package, build, written, name, workbook_sha256, zip_sha256)


def _record(
    package: RosterPackage,
    build: Build,
    written: Written,
    name: str,
    workbook_sha256: str,
    zip_sha256: str,
) -> dict[str, Any]:
    findings = build.findings
    before = last_submitted(package)
    with transaction.atomic():
        current = RosterPackage.objects.select_for_update().get(pk=package.pk)
        if current.state != PackageState.BUILDING:
            # Marked interrupted meanwhile (its heartbeat looked stopped): a newer build
            # owns the roster now, and this one's files go.
            transaction.on_commit(lambda: remove_files(package))
            return {"package": package.pk, "state": current.state}
        package.state = PackageState.PROBLEMS if findings.problem_count else PackageState.BUILT
        package.file_name = name
        package.workbook_sha256 = workbook_sha256
        package.files_zip_sha256 = zip_sha256
        package.content_sha256 = written.content.hexdigest()
        package.row_count = written.rows
        package.file_count = written.files
        package.findings = {
            "problem_count": findings.problem_count,
            "excluded_count": findings.excluded_count,
            "problems": findings.problems,
            "excluded": findings.excluded,
        }
        package.row_digests = written.digests
        package.diff = row_diff(before.row_digests, written.digests) if before else None
        package.built_at = timezone.now()
        package.heartbeat_at = None
        package.save()
        if package.state == PackageState.BUILT:
            _record_items(package, written)
    return {"package": package.pk, "state": package.state, "rows": written.rows}


def _record_items(package: RosterPackage, written: Written) -> None:
    outcome_link = RosterPackage.outcomes.through
    performance_link = RosterPackage.performances.through
    outcome_link.objects.bulk_create(
        [
            outcome_link(rosterpackage_id=package.pk, courseoutcome_id=i)
            for i in written.outcome_ids
        ],
        batch_size=2000,
    )
    performance_link.objects.bulk_create(
        [
            performance_link(rosterpackage_id=package.pk, performance_id=i)
            for i in written.performance_ids
        ],
        batch_size=2000,
    )
