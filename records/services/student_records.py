"""A student's basic data: who may see it, everything shown on one page, and the
registry's writes to it (the basic-data edit, revealing the national ID).

The national ID is stored encrypted with a keyed hash beside it for look-ups;
``set_national_id`` is the one place here that sets both. It is shown masked to
everyone except the registry office, and each reveal is audited.
"""

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from portfolio.audit import audit_write, diff_fields
from portfolio.crypto import keyed_hash
from portfolio.lib import national_id as national_id_lib
from records.models import (
    Gender,
    SchoolClass,
    Student,
    StudentStatus,
)

if TYPE_CHECKING:
    from accounts.acting import ActingContext
    from records.selectors import BasicData

# Staff roles that may open a student's record; only the registry sees the national ID.
STUDENT_DETAIL_ROLES = (
    Role.REGISTRY,
    Role.HOMEROOM,
    Role.COUNSELLOR,
    Role.STUDENT_AFFAIRS,
    Role.CURRICULUM,
)
UNMASK_ROLES = frozenset({Role.REGISTRY})


# --- Who may see what -------------------------------------------------------------------


def may_unmask(context: "ActingContext") -> bool:
    return context.role in UNMASK_ROLES


def may_edit_basic_data(context: "ActingContext") -> bool:
    """The registry keeps the basic data (``student_edit``)."""
    return context.role == Role.REGISTRY


def answerable_corrections(context: "ActingContext", data: "BasicData") -> set[int]:
    """Of the student's requests on their page, the open ones the acting office answers."""
    return {c.pk for c in data.corrections if c.office == context.role and c.is_open}


def set_national_id(student: Student, value: str) -> None:
    """Put ``value`` (normalized) in the encrypted field and its keyed hash beside it.

    Does not save, and does not validate: callers check ``national_id.problem`` and
    duplicates first. An empty value clears both.
    """
    normalized = national_id_lib.normalize(value)
    student.national_id = normalized
    student.national_id_hash = keyed_hash(normalized) if normalized else ""


def national_id_problem_message(key: str) -> str:
    return {
        "empty": _("Enter the national ID."),
        "shape": _(
            "A national ID is a capital letter followed by 9 digits, such as A123456789 "
            "(a resident certificate number may have a letter A-D in second place)."
        ),
        "checksum": _(
            "This number fails the national ID check digit: a character is probably mistyped."
        ),
    }[key]


def _national_id_problems(student: Student, value: str) -> list[str]:
    key = national_id_lib.problem(value)
    if key is not None:
        return [national_id_problem_message(key)]
    taken = (
        Student.objects.for_school(student.school)
        .with_national_id(value)
        .exclude(pk=student.pk)
        .exists()
    )
    if taken:
        return [_("Another student of this school already has this national ID.")]
    return []


@transaction.atomic
def student_update(
    *,
    student: Student,
    name: str,
    gender: str,
    birth_date: dt.date | None,
    school_class: SchoolClass | None,
    seat_number: int | None,
    department_code: str,
    national_id: str = "",
    by: "ActingContext | None",
) -> Student:
    """The registry's edit of a student's basic data.

    ``national_id`` empty keeps the one on record (the edit form never shows it, so
    that editing does not reveal it); a value replaces it after the checksum and the
    school's other students are checked.
    """
    name = name.strip()
    department_code = department_code.strip()
    problems: dict[str, list[str]] = {}
    if not name:
        problems["name"] = [_("Enter the student's name.")]
    if gender not in {"", *Gender.values}:
        problems["gender"] = [_("Choose male or female.")]
    if birth_date is not None and birth_date > timezone.localdate():
        problems["birth_date"] = [_("A date of birth cannot be in the future.")]
    if school_class is not None and school_class.school_id != student.school_id:
        problems["school_class"] = [_("Choose a class of this school.")]
    if seat_number is not None and not 1 <= seat_number <= 99:
        problems["seat_number"] = [_("A seat number is between 1 and 99.")]
    if school_class is not None and seat_number is not None and "seat_number" not in problems:
        holder = (
            Student.objects.filter(
                school_class=school_class, seat_number=seat_number, status=StudentStatus.ENROLLED
            )
            .exclude(pk=student.pk)
            .first()
        )
        if holder is not None:
            problems["seat_number"] = [
                _("Seat %(seat)s of class %(class)s is already %(student)s's.")
                % {"seat": seat_number, "class": school_class.name, "student": holder}
            ]
    new_id = national_id_lib.normalize(national_id)
    if new_id:
        id_problems = _national_id_problems(student, new_id)
        if id_problems:
            problems["national_id"] = id_problems
    if problems:
        raise ValidationError(problems)

    data = {
        "name": name,
        "gender": gender,
        "birth_date": birth_date,
        "school_class": school_class,
        "seat_number": seat_number,
        "department_code": department_code,
    }
    changes = diff_fields(student, data)
    for field, value in data.items():
        setattr(student, field, value)
    update_fields = list(data)
    if new_id and new_id != student.national_id:
        # The audit keeps only masked values: the log must not become a copy of the IDs.
        changes["national_id"] = [student.national_id_masked, national_id_lib.mask(new_id)]
        set_national_id(student, new_id)
        update_fields += ["national_id", "national_id_hash"]
    try:
        with transaction.atomic():
            student.save(update_fields=update_fields)
    except IntegrityError as exc:
        # Someone else saved the same number between the check and this save.
        student.refresh_from_db()
        raise ValidationError(
            {"national_id": [_("Another student of this school already has this national ID.")]}
        ) from exc
    audit_write(
        school=student.school, by=by, action="student.update", target=student, changes=changes
    )
    return student


@transaction.atomic
def national_id_view(*, student: Student, by: "ActingContext") -> str:
    """The full national ID, for one response; each look is audited."""
    if not may_unmask(by):
        raise PermissionError("only the registry office may see a national ID in full")
    audit_write(school=student.school, by=by, action="national_id.view", target=student)
    return student.national_id
