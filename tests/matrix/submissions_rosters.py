"""Rows for the registry's rosters for the central database: registry only, each division its
own pre-checks (any clerk of the division sees them)."""

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Division, Role
from portfolio.models import Job, JobStatus
from submissions.services.precheck import PRECHECK_JOB
from tests.matrix import only

R = Role


def build(world, make_member):
    job = Job.objects.create(
        school=world["school"],
        kind=PRECHECK_JOB,
        params={"term": world["term"].pk, "division": Division.DAY},
        status=JobStatus.SUCCEEDED,
        finished_at=timezone.now(),
        result={"file_name": "precheck.xlsx", "passed": True, "rows": 0, "problems": []},
    )
    job.result_file.save("precheck.xlsx", ContentFile(b"PK"), save=True)
    world["precheck_job"] = job


def _term(world):
    return {"term_pk": world["term"].pk}


def _job(world):
    return {"pk": world["precheck_job"].pk}


# The lists show the acting school's and division's own rows: 200 for a registry of
# another school or division (with their own data), 404 on this division's pre-check.
INDEX = only({R.REGISTRY: 200}, outsider=200, outsider_role=R.REGISTRY)
START = only({R.REGISTRY: 302}, outsider=404, outsider_role=R.REGISTRY)
OWN_DIVISION = only({R.REGISTRY: 200}, outsider=404, outsider_role=R.REGISTRY, other_division=404)

ROWS = {
    "rosters:index": ("get", None, INDEX),
    "rosters:precheck_start": ("post", _term, START),
    "rosters:precheck": ("get", _job, OWN_DIVISION),
    "rosters:precheck_file": ("get", _job, OWN_DIVISION),
}
