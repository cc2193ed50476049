"""Permission rows of one course's page: its students and their grades.

Curriculum and registry may look; curriculum adds and removes students; only the
registry edits a grade (and removes a graded enrolment). A clerk of another school
gets 404 on this school's course and enrolments.
"""

from accounts.models import Role
from records.services import course_enrolments as enrolment_services
from records.services import courses as course_services
from records.services import students as student_services
from tests.matrix import only

CURRICULUM = Role.CURRICULUM.value
REGISTRY = Role.REGISTRY.value
CODE = "{year}123456H11101A1020101"


def _roles(
    allowed: dict[str, int], *, outsider_role: str = CURRICULUM, other_division: int | None = None
) -> dict:
    return only(allowed, outsider=404, outsider_role=outsider_role, other_division=other_division)


def build(world, make_member) -> None:
    term = world["term"]
    school = world["school"]
    course = course_services.course_create(
        school=school,
        term=term,
        code=CODE.format(year=term.school_year.roc_year),
        name="數學",
        grade=10,
        credits=4,
        by=None,
    )
    student = student_services.student_create(
        school=school,
        student_number="matrix-enrol-1",
        name="甲生",
        school_class=None,
        seat_number=None,
        user=None,
        by=None,
    )
    world["enrolment_course"] = course
    world["enrolment"] = enrolment_services.course_enrolment_add(
        course=course, student_number=student.student_number, by=None
    )


def _course(w) -> dict:
    return {"pk": w["enrolment_course"].pk}


def _enrolment(w) -> dict:
    return {"pk": w["enrolment_course"].pk, "enrolment_pk": w["enrolment"].pk}


ROWS = {
    "enrolments:detail": ("get", _course, _roles({CURRICULUM: 200, REGISTRY: 200})),
    "enrolments:export": ("get", _course, _roles({CURRICULUM: 200, REGISTRY: 200})),
    # Posted without a student number: the page comes back with the error by the field.
    "enrolments:add": ("post", _course, _roles({CURRICULUM: 200})),
    # The enrolment is of a day-division student (no class yet): the other division 404.
    "enrolments:remove": (
        "post",
        _enrolment,
        _roles({CURRICULUM: 302, REGISTRY: 302}, other_division=404),
    ),
    "enrolments:grade": (
        "get",
        _enrolment,
        _roles({REGISTRY: 200}, outsider_role=REGISTRY, other_division=404),
    ),
}
