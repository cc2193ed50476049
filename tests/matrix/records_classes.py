"""Permission rows of the class pages (homeroom teacher and consultants of a class)."""

from accounts.models import Division, Role
from records.services.students import school_class_create
from tests.matrix import only

OFFICES = {Role.REGISTRY.value: 200, Role.CURRICULUM.value: 200}


def build(world, make_member) -> None:
    world["school_class"] = school_class_create(
        school=world["school"], school_year=world["term"].school_year, name="199", grade=10,
        division=Division.DAY, homeroom_teacher=None, by=None,
    )  # fmt: skip


ROWS = {
    "classes:list": ("get", None, only(OFFICES, outsider=200, outsider_role=Role.REGISTRY)),
    "classes:edit": (
        "get",
        lambda w: {"pk": w["school_class"].pk},
        # A day-division class: the other division's offices do not see it.
        only(OFFICES, outsider=404, outsider_role=Role.REGISTRY, other_division=404),
    ),
}
