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
}
