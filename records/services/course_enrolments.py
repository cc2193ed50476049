"""One course's enrolments (修課紀錄) and their grades, edited one record at a time.

The curriculum office adds a student to a course and removes one; once a grade is
recorded, only the registry may remove the enrolment. The registry edits the grade of
one enrolment. The grade values follow the grade import (``records.imports.grades``):
the same parsers check them here, so a form and a file accept the same values.
"""

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from accounts.models import Role
from portfolio.audit import audit_write, update_audited
from records.imports import values
from records.imports.grades import GRADE_FIELDS
from records.imports.messages import describe
from records.models import Course, CourseEnrolment, Student, StudentStatus

if TYPE_CHECKING:
    from accounts.acting import ActingContext

DESCRIPTION_MAX = 500
# The codes of 是否採計學分 as the central database writes them (meaning not published).
COUNTS_CREDIT_CODES = ("1", "2", "3")


def has_grade(enrolment: CourseEnrolment) -> bool:
    """Whether any grade field of ``enrolment`` holds a value."""
    return any(getattr(enrolment, field) not in (None, "") for field in GRADE_FIELDS)


def _graded_q() -> Q:
    q = Q()
    for field in GRADE_FIELDS:
        if field in {"counts_credit", "description"}:
            q |= ~Q(**{field: ""})
        else:
            q |= Q(**{f"{field}__isnull": False})
    return q


def graded(enrolments: QuerySet[CourseEnrolment]) -> QuerySet[CourseEnrolment]:
    """The enrolments of a queryset that have any grade recorded."""
    return enrolments.filter(_graded_q())


@transaction.atomic
def course_enrolment_add(
    *, course: Course, student_number: str, by: "ActingContext | None"
) -> CourseEnrolment:
    """Enrol the student with ``student_number`` (of the course's school, enrolled) in
    ``course``; refused for an unknown number, a student not enrolled, or a duplicate."""
    number = student_number.strip()
    if not number:
        raise ValidationError({"student_number": [_("Enter the student number (學號).")]})
    student = (
        Student.objects.filter(school_id=course.school_id, student_number=number)
        .select_related("school_class")
        .first()
    )
    if student is None:
        raise ValidationError(
            {
                "student_number": [
                    _("No student of this school has the student number %(number)s.")
                    % {"number": number}
                ]
            }
        )
    if student.status != StudentStatus.ENROLLED:
        raise ValidationError(
            {
                "student_number": [
                    _(
                        "%(student)s is not enrolled (status: %(status)s), so they cannot be "
                        "added to a course. The registry changes the enrolment status."
                    )
                    % {"student": student, "status": student.get_status_display()}
                ]
            }
        )
    if CourseEnrolment.objects.filter(course=course, student=student).exists():
        raise ValidationError(
            {
                "student_number": [
                    _("%(student)s is already enrolled in this course.") % {"student": student}
                ]
            }
        )
    enrolment = CourseEnrolment.objects.create(
        school_id=course.school_id, course=course, student=student
    )
    audit_write(
        school=course.school,
        by=by,
        action="course_enrolment.add",
        target=enrolment,
        changes={"course": course.pk, "student": student.pk, "student_number": number},
    )
    return enrolment


@transaction.atomic
def course_enrolment_remove(*, enrolment: CourseEnrolment, by: "ActingContext | None") -> None:
    """Take a student off a course. Once a grade is recorded only the registry (or the
    system, ``by`` None) may: the grade goes with the enrolment."""
    enrolment = CourseEnrolment.objects.select_for_update().get(pk=enrolment.pk)
    grade = {field: _plain(getattr(enrolment, field)) for field in GRADE_FIELDS}
    is_graded = has_grade(enrolment)
    if is_graded and by is not None and by.role != Role.REGISTRY:
        raise ValidationError(
            _(
                "%(student)s already has a grade in this course, so only the registry "
                "(註冊組) can remove the enrolment."
            )
            % {"student": enrolment.student}
        )
    changes: dict[str, Any] = {
        "course": enrolment.course_id,
        "student": enrolment.student_id,
        "student_number": enrolment.student.student_number,
    }
    if is_graded:
        changes["grade"] = grade
    audit_write(
        school=enrolment.course.school,
        by=by,
        action="course_enrolment.remove",
        target=enrolment,
        changes=changes,
    )
    enrolment.delete()


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def _score(value: Decimal | None, field: str, problems: dict[str, list[str]]) -> Decimal | None:
    if value is None:
        return None
    try:
        return values.score(str(value))
    except values.CellError as exc:
        problems[field] = [describe(exc.code, exc.params)]
        return None


@transaction.atomic
def course_enrolment_grade_update(
    *,
    enrolment: CourseEnrolment,
    score: Decimal | None,
    passed: bool | None,
    makeup_score: Decimal | None,
    makeup_passed: bool | None,
    counts_credit: str,
    description: str,
    by: "ActingContext | None",
) -> CourseEnrolment:
    """Save the grade of one enrolment, checked as the grade import checks it; the audit
    row holds each changed field as [old, new]. Nothing changes, nothing is written."""
    problems: dict[str, list[str]] = {}
    score = _score(score, "score", problems)
    makeup_score = _score(makeup_score, "makeup_score", problems)
    counts_credit = (counts_credit or "").strip()
    if counts_credit:
        try:
            counts_credit = values.counts_credit(counts_credit)
        except values.CellError as exc:
            problems["counts_credit"] = [describe(exc.code, exc.params)]
    try:
        description = values.limited(DESCRIPTION_MAX)(description or "")
    except values.CellError as exc:
        problems["description"] = [describe(exc.code, exc.params)]
    for field, value in (("passed", passed), ("makeup_passed", makeup_passed)):
        if value not in (True, False, None):
            problems[field] = [_("Choose yes, no or unknown.")]
    if problems:
        raise ValidationError(problems)
    data = {
        "score": score,
        "passed": passed,
        "makeup_score": makeup_score,
        "makeup_passed": makeup_passed,
        "counts_credit": counts_credit,
        "description": description,
    }
    update_audited(
        enrolment,
        data,
        school=enrolment.course.school,
        by=by,
        action="course_enrolment.grade_update",
        extra={"course": enrolment.course_id, "student": enrolment.student_id},
        only_if_changed=True,
    )
    return enrolment
