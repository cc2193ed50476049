"""Permission rows of the curriculum office's courses and course-code check.

The curriculum office edits; the registry may look. Lists and the check page show the
acting school's own term, so a curriculum clerk of another school gets 200 there (with
their own data) and 404 on this school's objects.
"""

from accounts.models import Role
from records.models import CourseCodeCheck
from records.services import courses as services
from tests.matrix import only

CURRICULUM = Role.CURRICULUM.value
REGISTRY = Role.REGISTRY.value
CODE = "{year}123456H11101A1010101"


def _viewers(*, outsider: int) -> dict:
    return only({CURRICULUM: 200, REGISTRY: 200}, outsider=outsider, outsider_role=CURRICULUM)


def _curriculum(*, outsider: int, status: int = 200) -> dict:
    return only({CURRICULUM: status}, outsider=outsider, outsider_role=CURRICULUM)


def build(world, make_member) -> None:
    term = world["term"]
    course = services.course_create(
        school=world["school"],
        term=term,
        code=CODE.format(year=term.school_year.roc_year),
        name="國語文",
        grade=10,
        credits=4,
        by=None,
    )
    world["course"] = course
    world["code_check"] = services.code_check_run(term=term, by=None)
    assert isinstance(world["code_check"], CourseCodeCheck)


ROWS = {
    "courses:list": ("get", None, _viewers(outsider=200)),
    "courses:export": ("get", None, _viewers(outsider=200)),
    "courses:add": ("get", None, _curriculum(outsider=200)),
    "courses:edit": ("get", lambda w: {"pk": w["course"].pk}, _curriculum(outsider=404)),
    # GET asks to confirm; the removal itself is a POST (see tests/test_courses.py).
    "courses:delete": ("get", lambda w: {"pk": w["course"].pk}, _curriculum(outsider=404)),
    "courses:check": ("get", None, _viewers(outsider=200)),
    # Posted without a file: the page comes back with the error next to the field.
    "courses:check_upload": (
        "post",
        lambda w: {"term_pk": w["term"].pk},
        _curriculum(outsider=404),
    ),
    "courses:check_run": (
        "post",
        lambda w: {"term_pk": w["term"].pk},
        _curriculum(outsider=404, status=302),
    ),
    "courses:check_detail": (
        "get",
        lambda w: {"pk": w["code_check"].pk},
        _viewers(outsider=404),
    ),
    "courses:check_export": (
        "get",
        lambda w: {"pk": w["code_check"].pk},
        _viewers(outsider=404),
    ),
}
