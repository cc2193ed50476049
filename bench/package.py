"""Roster 26 (course outcomes) with its files zip for the demo school once ``import_grades``
has given 3,000 students 15 courses each: 6 certified outcomes per student, each with a small
PDF, selected and locked (18,000 rows and files, set up untimed), then the build job run in
its own process (``manage.py shell``): wall time and peak memory."""

from collections.abc import Callable, Mapping

from bench.errors import BenchError, log
from bench.imports import SCHOOL, STUDENTS, current_term, timed_manage

OUTCOMES_EACH = 6

SETUP = """
import hashlib
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from portfolio.models import SchoolYear, Window
from records.models import CourseEnrolment, Student
from submissions.models import CourseOutcome, OutcomeState, Selection, StoredFile
year = SchoolYear.objects.get(school__code=SCHOOL, roc_year=ROC_YEAR)
school = year.school
now = timezone.now()
# A school whose grade 12 does not select in batches: every student's items go in roster 26
# (the demo's batch windows would send grade 12's in roster 36 instead).
Window.objects.filter(term__school_year=year, batch__isnull=False).delete()
students = list(
    Student.objects.filter(school=school, school_class__school_year=year, national_id_hash__gt="")
    .exclude(pk__in=CourseOutcome.objects.values("student"))
    .order_by("pk")[:STUDENTS]
)
enrolments = {}
for e in CourseEnrolment.objects.filter(
    student__in=students, course__term__school_year=year, course__term__number=1
).order_by("course__code"):
    enrolments.setdefault(e.student_id, []).append(e)
files, outcomes = [], []
for student in students:
    for n, enrolment in enumerate(enrolments.get(student.pk, [])[:EACH]):
        data = b"%PDF-1.4 bench outcome " + f"{student.pk}-{n}".encode() + b" " * 2000
        key = hashlib.sha256(b"bench" + data).hexdigest()[:32]
        stored = StoredFile(
            school=school, student=student, storage_key=key, display_name="report.pdf",
            extension="pdf", mime="application/pdf", size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )
        default_storage.save(StoredFile.path_for(school, key), ContentFile(data))
        files.append(stored)
        outcomes.append(CourseOutcome(
            school=school, student=student, enrolment=enrolment, title=f"成果{n}",
            description="以實驗驗證課堂所學。", state=OutcomeState.CERTIFIED, document=stored,
        ))
StoredFile.objects.bulk_create(files, batch_size=2000)
for outcome in outcomes:
    outcome.document_id = outcome.document.pk
CourseOutcome.objects.bulk_create(outcomes, batch_size=2000)
selections = Selection.objects.bulk_create(
    [Selection(school=school, student=s, school_year=year, saved_at=now, confirmed_at=now,
               locked_at=now) for s in students],
    batch_size=2000,
)
by_student = {s.student_id: s.pk for s in selections}
link = Selection.outcomes.through
link.objects.bulk_create(
    [link(selection_id=by_student[o.student_id], courseoutcome_id=o.pk) for o in outcomes],
    batch_size=5000,
)
print("SETUP", len(outcomes))
"""

BUILD = """
from portfolio.jobs import job_run
from portfolio.models import Job, SchoolYear
from submissions.models import RosterPackage
from submissions.services.packages import PACKAGE_JOB
year = SchoolYear.objects.get(school__code=SCHOOL, roc_year=ROC_YEAR)
package = RosterPackage.objects.create(
    school=year.school, school_year=year, roster=26, division="day", spec_version="108",
)
job = Job.objects.create(
    school=year.school, kind=PACKAGE_JOB, params={"package": package.pk, "language": "zh-hant"},
)
RosterPackage.objects.filter(pk=package.pk).update(job=job)
job_run(job.pk)
"""

REPORT = """
from submissions.models import RosterPackage
p = RosterPackage.objects.latest("pk")
print("PACKAGE", p.state, p.row_count, p.file_count, p.files_zip.size if p.files_zip else 0)
"""


def package(
    env: Mapping[str, str], manage: Callable[..., str]
) -> list[tuple[str, float, str, int]]:
    header = (
        f"SCHOOL = {SCHOOL!r}\nROC_YEAR = {int(current_term().split('-')[0])}\n"
        f"STUDENTS = {STUDENTS}\nEACH = {OUTCOMES_EACH}\n"
    )
    output = manage("shell", "-c", header + SETUP)
    line = next((row for row in output.splitlines() if row.startswith("SETUP ")), "")
    wanted = STUDENTS * OUTCOMES_EACH
    if not line or int(line.split()[1]) < wanted:
        raise BenchError(
            f"the roster's outcomes were not set up ({wanted} wanted): {output[-1000:]}"
        )
    seconds, peak = timed_manage(env, "shell", "-c", header + BUILD)
    output = manage("shell", "-c", REPORT)
    line = next((row for row in output.splitlines() if row.startswith("PACKAGE ")), "")
    parts = line.split()
    if len(parts) < 5 or parts[1] != "built":
        raise BenchError(f"roster 26 was not built: {output[-1000:]}")
    rows, files, zip_bytes = int(parts[2]), int(parts[3]), int(parts[4])
    if rows < wanted or files < wanted:
        raise BenchError(f"roster 26 holds {rows} rows and {files} files, fewer than {wanted}")
    log(f"roster 26: {rows} rows, {files} files ({zip_bytes / 1e6:.0f} MB zip), "
        f"{seconds:.1f} s, peak {peak:.0f} MB")  # fmt: skip
    return [
        (f"package_{STUDENTS}_students_s", seconds, "s", 1),
        ("package_peak_mb", peak, "MB", 0),
    ]
