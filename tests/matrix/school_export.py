"""Rows for the whole school's data export: its school administrators only. The start page
is the acting school's own (another school's administrator sees theirs); an export of this
school is 404 for everyone else, other roles of the school included."""

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Role
from portfolio.models import Job, JobStatus
from submissions.school_export import KEEP_HOURS, SCHOOL_EXPORT_JOB
from tests.matrix import admin_only, only

R = Role


def build(world, make_member):
    admin = make_member(world["school"], R.SCHOOL_ADMIN, username="export-admin")
    job = Job.objects.create(
        school=world["school"],
        kind=SCHOOL_EXPORT_JOB,
        params={"keep_hours": KEEP_HOURS},
        created_by=admin.user,
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        result={"file_name": "school.zip", "size": 3},
    )
    job.result_file.save("school.zip", ContentFile(b"zip"), save=True)
    world["school_export_job"] = job


def _job(world):
    return {"pk": world["school_export_job"].pk}


ADMIN_ONLY = only({R.SCHOOL_ADMIN: 200}, outsider=404, others=404)

ROWS = {
    "schoolexport:index": ("get", None, admin_only(outsider=200)),
    "schoolexport:detail": ("get", _job, ADMIN_ONLY),
    "schoolexport:download": ("get", _job, ADMIN_ONLY),
}
