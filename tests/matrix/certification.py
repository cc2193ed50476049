"""Rows for the certification pages (the teacher's queue, the registry's proxy page and the
decisions).

The outcome of this world belongs to a course whose teacher is still active and is none of
the actors: a teacher actor is "another teacher of the school" (404 on the outcome, an empty
queue of their own), and the registry may not act as proxy on it (404). Other roles get 403;
a teacher or registry member of another school reaches only their own, empty, lists.
"""

from accounts.models import Role
from certification.models import Concern, ConcernMessage
from submissions.models import OutcomeState
from tests.matrix import only, outcome_for_matrix

R = Role


def _outcome(world):
    return {"pk": world["certification_outcome"].pk}


def build(world, make_member):
    teacher = make_member(world["school"], R.TEACHER).user
    outcome = outcome_for_matrix(
        world, key="certification", state=OutcomeState.SUBMITTED, teacher=teacher
    )
    world["certification_outcome"] = outcome
    concern = Concern.objects.create(
        school=world["school"], outcome=outcome, student=outcome.student
    )
    ConcernMessage.objects.create(concern=concern, author=teacher, role=R.TEACHER, text="答覆")
    world["concern"] = concern


def _concern(world):
    return {"pk": world["concern"].pk}


NOT_THEIRS = only({R.TEACHER: 404, R.REGISTRY: 404}, outsider=404, outsider_role=R.TEACHER)

ROWS = {
    "certification:queue": (
        "get",
        None,
        only({R.TEACHER: 200}, outsider=200, outsider_role=R.TEACHER),
    ),
    "certification:proxy": (
        "get",
        None,
        only({R.REGISTRY: 200}, outsider=200, outsider_role=R.REGISTRY),
    ),
    "certification:decide": ("post", _outcome, NOT_THEIRS),
    "certification:reject": ("get", _outcome, NOT_THEIRS),
    # Nothing ticked: back to the list with a word (each ticked item is checked alone).
    "certification:certify_many": (
        "post",
        None,
        only({R.TEACHER: 302, R.REGISTRY: 302}, outsider=302, outsider_role=R.TEACHER),
    ),
    "certification:undo": ("post", _outcome, NOT_THEIRS),
    # The registry reopens any decision of its division's students (the outcome is a day
    # student's): the page with its form; the continuing division and another school: 404.
    "certification:reopen": (
        "get",
        _outcome,
        only({R.REGISTRY: 200}, outsider=404, outsider_role=R.REGISTRY, other_division=404),
    ),
    "certification:export": (
        "get",
        None,
        only({R.TEACHER: 200, R.REGISTRY: 200}, outsider=200, outsider_role=R.TEACHER),
    ),
    # Concerns: each participant's own list (200, another school's their own); the thread of a
    # day student's outcome of a course none of the actors teaches: the registry of the day
    # division only. A student actor has no record linked: no outcome of theirs (404).
    "certification:concerns": (
        "get",
        None,
        only(
            {R.STUDENT: 200, R.TEACHER: 200, R.REGISTRY: 200},
            outsider=200,
            outsider_role=R.REGISTRY,
        ),
    ),
    "certification:concern": (
        "get",
        _concern,
        only(
            {R.STUDENT: 404, R.TEACHER: 404, R.REGISTRY: 200},
            outsider=404,
            outsider_role=R.REGISTRY,
            other_division=404,
        ),
    ),
    "certification:concern_new": (
        "get",
        _outcome,
        only({R.STUDENT: 404}, outsider=404, outsider_role=R.STUDENT),
    ),
}
