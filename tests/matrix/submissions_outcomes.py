"""Rows for the student's course-outcome pages and portfolio page.

Only students reach them (staff get 403). A student actor here has no Student record linked
to their account: the portfolio and upload pages say so (200), and the outcome of this
world's student, like any outcome not their own, is a 404 on every page that names it.
"""

from accounts.models import Role
from submissions.models import OutcomeState
from tests.matrix import only, outcome_for_matrix

R = Role


def _outcome(world):
    return {"pk": world["outcomes_outcome"].pk}


def build(world, make_member):
    world["outcomes_outcome"] = outcome_for_matrix(world, key="outcomes", state=OutcomeState.DRAFT)


STUDENT_PAGE = only({R.STUDENT: 200}, outsider=200, outsider_role=R.STUDENT)
NOT_THEIRS = only({R.STUDENT: 404}, outsider=404, outsider_role=R.STUDENT)

ROWS = {
    "outcomes:portfolio": ("get", None, STUDENT_PAGE),
    "outcomes:add": ("get", None, STUDENT_PAGE),
    "outcomes:edit": ("get", _outcome, NOT_THEIRS),
    "outcomes:replace": ("get", _outcome, NOT_THEIRS),
    "outcomes:withdraw": ("post", _outcome, NOT_THEIRS),
    "outcomes:submit": ("post", _outcome, NOT_THEIRS),
    # Uploading a lost file again: the student's own, or the registry for the students of
    # its division (this world's outcome is a day student's; it needs no file, so the page
    # says so).
    "outcomes:restore": (
        "get",
        _outcome,
        only(
            {R.STUDENT: 404, R.REGISTRY: 200},
            outsider=404,
            outsider_role=R.REGISTRY,
            other_division=404,
        ),
    ),
}
