"""Rows for a student's stored files (download and inline view).

The file belongs to a student of a day-division class; every role's actor is a member of
the school without a tie to that student (not their homeroom teacher, not the teacher of
the course), so only the day-division offices may open it. Everyone else who reaches the
views gets 404, as if the file did not exist.
"""

from accounts.models import Role
from submissions.models import OutcomeState
from tests.builders.files import make_pdf
from tests.matrix import only, outcome_for_matrix

R = Role


def _file(world):
    return {"pk": world["stored_file"].pk}


def build(world, make_member):
    teacher = make_member(world["school"], R.TEACHER).user
    outcome = outcome_for_matrix(
        world, key="files", state=OutcomeState.SUBMITTED, teacher=teacher, data=make_pdf()
    )
    world["stored_file"] = outcome.document


OFFICES = [R.REGISTRY, R.CURRICULUM, R.STUDENT_AFFAIRS, R.COUNSELLOR]
FILE = only(
    {
        **dict.fromkeys(OFFICES, 200),
        R.STUDENT: 404,  # another student of the school
        R.TEACHER: 404,  # not the course's teacher
        R.HOMEROOM: 404,  # not this class's homeroom teacher
    },
    outsider=404,
    outsider_role=R.REGISTRY,
    other_division=404,  # a day-division student's file
)

ROWS = {
    "files:download": ("get", _file, FILE),
    "files:inline": ("get", _file, FILE),
}
