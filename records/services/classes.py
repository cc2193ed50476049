"""Who looks after a class: its homeroom teacher and its course consultants."""

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Role
from portfolio.audit import audit_write
from records.models import SchoolClass
from records.services.staff import school_class_consultant_add, school_class_consultant_remove

if TYPE_CHECKING:
    from accounts.acting import ActingContext
    from accounts.models import User


@transaction.atomic
def school_class_staff_update(
    *,
    school_class: SchoolClass,
    homeroom_teacher: "User | None",
    consultants: list["User"],
    by: "ActingContext | None",
) -> SchoolClass:
    school = school_class.school
    if (
        homeroom_teacher is not None
        and not Membership.objects.active()
        .filter(school=school, user=homeroom_teacher, role=Role.HOMEROOM)
        .exists()
    ):
        raise ValidationError(
            {"homeroom_teacher": [_("Only a homeroom teacher of this school can lead a class.")]}
        )
    if school_class.homeroom_teacher_id != (homeroom_teacher.pk if homeroom_teacher else None):
        audit_write(
            school=school, by=by, action="class.homeroom", target=school_class,
            changes={"homeroom_teacher": [school_class.homeroom_teacher_id,
                                          homeroom_teacher.pk if homeroom_teacher else None]},
        )  # fmt: skip
        school_class.homeroom_teacher = homeroom_teacher
        school_class.save(update_fields=["homeroom_teacher"])
    wanted = {user.pk: user for user in consultants}
    current = {user.pk: user for user in school_class.consultants.all()}
    for pk in current.keys() - wanted.keys():
        school_class_consultant_remove(school_class=school_class, user=current[pk], by=by)
    for pk in wanted.keys() - current.keys():
        school_class_consultant_add(school_class=school_class, user=wanted[pk], by=by)
    return school_class
