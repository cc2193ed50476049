"""Rows for a student's zip of their whole portfolio: only the student who asked for it."""

from django.utils import timezone

from accounts.models import Role
from portfolio.models import Job, JobStatus
from records.models import Student
from submissions.export import EXPORT_JOB
from tests.matrix import only

R = Role


def build(world, make_member):
    member = make_member(world["school"], R.STUDENT, username="export-student")
    student = Student.objects.create(
        school=world["school"], student_number="X0001", name="匯出生", user=member.user
    )
    world["export_job"] = Job.objects.create(
        school=world["school"],
        kind=EXPORT_JOB,
        params={"student": student.pk, "keep_hours": 24},
        created_by=member.user,
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
    )


def _job(world):
    return {"pk": world["export_job"].pk}


# The matrix's student actors have no student record linked: the start page says so (200);
# the export of another student is 404 for them and for a student of another school.
START = only({R.STUDENT: 200}, outsider=200, outsider_role=R.STUDENT)
OWNER_ONLY = only({R.STUDENT: 404}, outsider=404, outsider_role=R.STUDENT)

ROWS = {
    "portfolioexport:start": ("get", None, START),
    "portfolioexport:detail": ("get", _job, OWNER_ONLY),
    "portfolioexport:download": ("get", _job, OWNER_ONLY),
}
