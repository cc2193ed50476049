"""Rows for the offices' rosters for the central database: registry (and student affairs for
roster 24) only, each division its own pre-checks and packages (any clerk of the division sees
them)."""

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Division, Role
from portfolio.models import Job, JobStatus
from submissions.models import PackageState, RosterPackage
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
    package = RosterPackage.objects.create(
        school=world["school"], school_year=world["term"].school_year, roster=26,
        division=Division.DAY, spec_version="108", state=PackageState.BUILT,
        file_name="roster.xlsx", built_at=timezone.now(), findings={"problem_count": 0},
    )  # fmt: skip
    package.workbook.save("matrix/roster.xlsx", ContentFile(b"PK"), save=False)
    package.files_zip.save("matrix/roster.zip", ContentFile(b"PK"), save=True)
    world["package"] = package


def _term(world):
    return {"term_pk": world["term"].pk}


def _job(world):
    return {"pk": world["precheck_job"].pk}


def _year(world):
    return {"roc_year": world["term"].school_year.roc_year}


def _package(world):
    return {"pk": world["package"].pk}


# The lists show the acting school's and division's own rows: 200 for a registry of
# another school or division (with their own data), 404 on this division's objects.
OFFICES = only({R.REGISTRY: 200, R.STUDENT_AFFAIRS: 200}, outsider=200, outsider_role=R.REGISTRY)
# A build without a roster named goes back to the year's page with the form's message.
BUILD = only({R.REGISTRY: 302, R.STUDENT_AFFAIRS: 302}, outsider=302, outsider_role=R.REGISTRY)
START = only({R.REGISTRY: 302}, outsider=404, outsider_role=R.REGISTRY)
OWN_DIVISION = only({R.REGISTRY: 200}, outsider=404, outsider_role=R.REGISTRY, other_division=404)
# Roster 26 is the registry's: student affairs (roster 24's office) does not find it.
PACKAGE = only(
    {R.REGISTRY: 200, R.STUDENT_AFFAIRS: 404},
    outsider=404,
    outsider_role=R.REGISTRY,
    other_division=404,
)
SUBMIT = {**PACKAGE, R.REGISTRY: 302}
# Reopening without a reason is refused on the page itself.
REOPEN = {**PACKAGE, R.REGISTRY: 400}

ROWS = {
    "rosters:index": ("get", None, OFFICES),
    "rosters:year": ("get", _year, OFFICES),
    "rosters:build": ("post", _year, BUILD),
    "rosters:package": ("get", _package, PACKAGE),
    "rosters:workbook": ("get", _package, PACKAGE),
    "rosters:files": ("get", _package, PACKAGE),
    "rosters:submit": ("post", _package, SUBMIT),
    "rosters:reopen": ("post", _package, REOPEN),
    # Not submitted over HTTP: back to the package's page.
    "rosters:poll": ("post", _package, SUBMIT),
    "rosters:precheck_start": ("post", _term, START),
    "rosters:precheck": ("get", _job, OWN_DIVISION),
    "rosters:precheck_file": ("get", _job, OWN_DIVISION),
}
