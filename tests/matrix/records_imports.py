"""Record imports: the registry, curriculum and student-affairs offices, each on their
own imports.

An import job is seen only by the user who started it (here a registry clerk of
``world``), so every actor gets 404 on it; other roles are refused first (403).
"""

from accounts.models import Role
from portfolio.models import Job, JobStatus
from tests.matrix import only

OFFICES = {Role.REGISTRY: 200, Role.CURRICULUM: 200, Role.STUDENT_AFFAIRS: 200}
NOT_THEIRS = only(
    {Role.REGISTRY: 404, Role.CURRICULUM: 404, Role.STUDENT_AFFAIRS: 404},
    outsider=404,
    outsider_role=Role.REGISTRY,
)

ROWS = {
    # Lists show the acting school's own imports: the registry of another school gets
    # its own page.
    "imports:index": ("get", None, only(OFFICES, outsider=200, outsider_role=Role.REGISTRY)),
    # The student template is the registry's; the curriculum and student-affairs offices
    # have no such kind (their own templates: tests/test_imports_pages.py and
    # tests/test_imports_affairs.py).
    "imports:template": (
        "get",
        lambda w: {"kind": "students"},
        only(
            {Role.REGISTRY: 200, Role.CURRICULUM: 404, Role.STUDENT_AFFAIRS: 404},
            outsider=200,
            outsider_role=Role.REGISTRY,
        ),
    ),
    "imports:detail": ("get", lambda w: {"pk": w["import_job"].pk}, NOT_THEIRS),
    "imports:apply": ("post", lambda w: {"pk": w["import_job"].pk}, NOT_THEIRS),
    "imports:export": ("get", lambda w: {"pk": w["import_job"].pk}, NOT_THEIRS),
}


def build(world, make_member):
    clerk = make_member(world["school"], Role.REGISTRY, username="rex-registry")
    world["import_job"] = Job.objects.create(
        school=world["school"],
        kind="records.import.preview",
        created_by=clerk.user,
        status=JobStatus.SUCCEEDED,
        params={"kind": "students", "file_name": "roster.xlsx", "term": None},
        result={"kind": "students", "clean": True, "counts": {"added": 1}},
    )
