"""Rows for the progress page (portal/views/progress.py): the working group and the
registry only. The page and its workbook show the acting school's own numbers, so another
school's working group gets 200 there (with its own), as the continuing division's does."""

from accounts.models import Role
from tests.matrix import only

R = Role
PROGRESS = only(
    {R.WORKING_GROUP: 200, R.REGISTRY: 200},
    outsider=200,
    outsider_role=R.WORKING_GROUP,
    other_division=200,
)

ROWS = {
    "progress:index": ("get", None, PROGRESS),
    "progress:export": ("get", None, PROGRESS),
    # The registry's request to the teachers behind: back to the page (302); the registry
    # of another school or division asks its own teachers.
    "progress:notify_teachers": (
        "post",
        None,
        only({R.REGISTRY: 302}, outsider=302, outsider_role=R.REGISTRY, other_division=302),
    ),
}
