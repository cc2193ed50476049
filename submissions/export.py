"""A student's whole portfolio as one zip: every file of their course outcomes and diverse
performances, and an ``index.html`` that lists each item with its state and links to its files.

Students keep their own copy whatever happens to the platform (a national e-portfolio was shut
down and its data deleted; a storage error lost thousands of uploads). The zip is built in the
background (``portfolio.jobs``) and kept ``KEEP_HOURS`` for download, then deleted.

What goes in: every item that is not withdrawn, with its files; withdrawn items are listed in
the index, marked withdrawn, without their files. A withdrawn item is one the student took back
(usually to upload a better version), so its files would be a second, outdated copy beside the
current one; listing it keeps the record complete, so nothing seems to have vanished.

Memory stays flat whatever the file sizes: each file is copied from storage in 64 KB
pieces into a zip in a temporary file on disk (stored, not compressed: PDFs, images and media
are compressed already), and the zip is then handed to storage as a file.
"""

import dataclasses
import datetime as dt
import re
import tempfile
import unicodedata
import urllib.parse
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portfolio.jobs import job_start
from portfolio.models import Job, JobStatus
from records.models import Student
from submissions.models import (
    CourseOutcome,
    FileFault,
    OutcomeState,
    Performance,
    PerformanceState,
    StoredFile,
)
from submissions.services.stored_files import copy_into_zip, zip_time

if TYPE_CHECKING:
    from accounts.acting import ActingContext

EXPORT_JOB = "submissions.portfolio_export"
KEEP_HOURS = 24
SEGMENT_MAX = 60
INDEX_NAME = "index.html"
ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)

_UNSAFE = re.compile(r'[\\/<>:"|?*\x00-\x1f\x7f]')
_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")


# --- the jobs of one student ------------------------------------------------------------------


def exports_of(student: Student) -> QuerySet[Job]:
    return Job.objects.filter(
        school_id=student.school_id, kind=EXPORT_JOB, params__student=student.pk
    )


def export_start(*, student: Student, by: "ActingContext") -> Job:
    """Start building the student's zip, or return the one already on its way.

    The student's row is locked while looking, so a double click starts one job, not two.
    """
    with transaction.atomic():
        Student.objects.select_for_update().get(pk=student.pk)
        underway = exports_of(student).filter(status__in=ACTIVE).order_by("-created_at").first()
        if underway is not None:
            return underway
        return job_start(
            school=student.school,
            kind=EXPORT_JOB,
            # keep_hours: the job-file purge deletes this job's zip after a day, not a week.
            params={
                "student": student.pk,
                "language": translation.get_language() or settings.LANGUAGE_CODE,
                "keep_hours": KEEP_HOURS,
            },
            by=by,
        )


def export_expires_at(job: Job) -> dt.datetime | None:
    """When the zip is deleted: a day after it was finished (None while it is being built)."""
    if job.finished_at is None:
        return None
    return job.finished_at + dt.timedelta(hours=job.params.get("keep_hours", KEEP_HOURS))


def export_available(job: Job, now: dt.datetime) -> bool:
    expires = export_expires_at(job)
    return (
        job.status == JobStatus.SUCCEEDED
        and bool(job.result_file)
        and expires is not None
        and now < expires
    )


# --- names inside the zip ---------------------------------------------------------------------


def safe_segment(text: str, *, fallback: str, limit: int = SEGMENT_MAX) -> str:
    """One path segment from a title or file name: no separators, no "..", nothing a file
    system refuses, no invisible or direction-changing characters, at most ``limit`` long."""
    name = unicodedata.normalize("NFC", text or "")
    name = _INVISIBLE.sub("", _UNSAFE.sub(" ", name))
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    return name[:limit].rstrip(" .") or fallback


def _file_name(stored: StoredFile) -> str:
    """The display name, cleaned again (it was cleaned on upload; the zip must not trust it),
    keeping its extension when shortened."""
    stem, dot, ext = stored.display_name.rpartition(".")
    if not dot:
        stem, ext = stored.display_name, stored.extension
    ext = safe_segment(ext, fallback=stored.extension, limit=8)
    return f"{safe_segment(stem, fallback='file', limit=SEGMENT_MAX)}.{ext}"


class ZipNames:
    """Hands out paths unique within the zip (case-insensitively, for Windows and macOS)."""

    def __init__(self) -> None:
        self.used: set[str] = {INDEX_NAME}

    def take(self, folder: str, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = f"{folder}/{name}", 1
        while candidate.lower() in self.used:
            n += 1
            candidate = f"{folder}/{stem} ({n}){dot}{ext}"
        self.used.add(candidate.lower())
        return candidate


# --- what goes in -----------------------------------------------------------------------------


@dataclasses.dataclass
class ExportFile:
    stored: StoredFile
    label: str  # "document" or "media file", in the student's language
    path: str = ""  # inside the zip; empty when the file is not included
    problem: str = ""  # why it could not be included as uploaded

    @property
    def href(self) -> str:
        return urllib.parse.quote(self.path)


@dataclasses.dataclass
class ExportItem:
    obj: CourseOutcome | Performance
    withdrawn: bool
    files: list[ExportFile]


@dataclasses.dataclass
class ExportTerm:
    label: str
    outcomes: list[ExportItem] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ExportYear:
    roc_year: int
    terms: dict[int, ExportTerm] = dataclasses.field(default_factory=dict)
    performances: list[ExportItem] = dataclasses.field(default_factory=list)

    @property
    def term_list(self) -> list[ExportTerm]:
        return [self.terms[n] for n in sorted(self.terms)]


def _files(obj: CourseOutcome | Performance) -> list[ExportFile]:
    labels = (("document", _("Document")), ("media", _("Media file")))
    return [
        ExportFile(stored=getattr(obj, field), label=label)
        for field, label in labels
        if getattr(obj, field) is not None
    ]


def _place(items: list[ExportItem], folder: str, names: ZipNames) -> None:
    """Number the items of one folder and give each file of those kept its path."""
    for n, item in enumerate(items, start=1):
        if item.withdrawn:
            continue
        item_folder = f"{folder}/{n}-{safe_segment(str(item.obj), fallback=str(n))}"
        for export_file in item.files:
            export_file.path = names.take(item_folder, _file_name(export_file.stored))


def export_plan(student: Student) -> list[ExportYear]:
    """Every item of the student by school year (then term for outcomes), oldest first, with
    the path of each file to include. Three queries, whatever the number of items."""
    outcomes = (
        CourseOutcome.objects.filter(school_id=student.school_id, student=student)
        .select_related("enrolment__course__term__school_year", "document", "media", "certified_by")
        .order_by("created_at", "id")
    )
    performances = (
        Performance.objects.filter(school_id=student.school_id, student=student)
        .select_related("school_year", "document", "media")
        .order_by("created_at", "id")
    )
    years: dict[int, ExportYear] = {}
    for outcome in outcomes:
        term = outcome.enrolment.course.term
        year = years.setdefault(term.school_year.roc_year, ExportYear(term.school_year.roc_year))
        export_term = year.terms.setdefault(term.number, ExportTerm(label=term.label))
        withdrawn = outcome.state == OutcomeState.WITHDRAWN
        export_term.outcomes.append(ExportItem(outcome, withdrawn, _files(outcome)))
    for performance in performances:
        roc_year = performance.school_year.roc_year
        year = years.setdefault(roc_year, ExportYear(roc_year))
        withdrawn = performance.state == PerformanceState.WITHDRAWN
        year.performances.append(ExportItem(performance, withdrawn, _files(performance)))

    names = ZipNames()
    outcomes_folder = safe_segment(_("Course outcomes"), fallback="outcomes")
    performances_folder = safe_segment(_("Diverse performances"), fallback="performances")
    plan = [years[key] for key in sorted(years)]
    for year in plan:
        for export_term in year.term_list:
            _place(export_term.outcomes, f"{export_term.label}/{outcomes_folder}", names)
        _place(year.performances, f"{year.roc_year}/{performances_folder}", names)
    return plan


def _included(plan: Iterable[ExportYear]) -> list[ExportFile]:
    found: list[ExportFile] = []
    for year in plan:
        items = [item for term in year.term_list for item in term.outcomes] + year.performances
        found.extend(f for item in items for f in item.files if f.path)
    return found


# --- the zip ----------------------------------------------------------------------------------


def _copy_into(archive: zipfile.ZipFile, student: Student, export_file: ExportFile) -> None:
    """Copy one stored file into the zip in chunks, checking it is still the uploaded one."""
    fault = copy_into_zip(archive, export_file.stored, export_file.path, student.school)
    if fault == FileFault.MISSING:
        export_file.problem = _("The file is missing from the school's storage.")
        export_file.path = ""
    elif fault == FileFault.MISMATCH:
        export_file.problem = _("The file differs from the one uploaded (its checksum changed).")


def _index_html(student: Student, plan: list[ExportYear], now: dt.datetime) -> bytes:
    context = {
        "student": student,
        "school": student.school,
        "years": plan,
        "generated_at": now,
        "language": translation.get_language(),
        "outcome_states": OutcomeState,
        "performance_states": PerformanceState,
    }
    return render_to_string("submissions/export/index.html", context).encode("utf-8")


def download_name(student: Student, day: dt.date) -> str:
    number = re.sub(r"[^0-9A-Za-z_-]", "", student.student_number) or str(student.pk)
    return f"portfolio-{number}-{day:%Y%m%d}.zip"


def export_build(job: Job, progress: Callable[[int, int], None]) -> dict:
    """The job: write the zip to a temporary file, then keep it as the job's result file."""
    student = Student.objects.select_related("school", "school_class").get(
        pk=job.params["student"], school_id=job.school_id
    )
    language = job.params.get("language") or settings.LANGUAGE_CODE
    now = timezone.now()
    with translation.override(language), tempfile.TemporaryFile() as temporary:
        plan = export_plan(student)
        files = _included(plan)
        with zipfile.ZipFile(temporary, "w", allowZip64=True) as archive:
            for done, export_file in enumerate(files, start=1):
                _copy_into(archive, student, export_file)
                progress(done, len(files) + 1)
            info = zipfile.ZipInfo(INDEX_NAME, date_time=zip_time(now))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, _index_html(student, plan, now))
        size = temporary.tell()
        temporary.seek(0)
        name = download_name(student, timezone.localdate(now))
        job.result_file.save(name, File(temporary, name=name), save=False)
    Job.objects.filter(pk=job.pk).update(result_file=job.result_file.name)
    return _summary(plan, name=name, size=size)


def _summary(plan: list[ExportYear], *, name: str, size: int) -> dict:
    counts: dict[str, int] = defaultdict(int)
    problems = []
    for year in plan:
        items = [item for term in year.term_list for item in term.outcomes] + year.performances
        for item in items:
            counts["withdrawn" if item.withdrawn else "items"] += 1
            for export_file in item.files:
                if export_file.path:
                    counts["files"] += 1
                if export_file.problem:
                    problems.append(f"{item.obj}: {export_file.stored.display_name}")
    return {
        "file_name": name,
        "size": size,
        "items": counts["items"],
        "withdrawn": counts["withdrawn"],
        "files": counts["files"],
        "problems": problems,
    }
