"""Writes to school records. (Imports and the full enrolment record build on these.)"""

from typing import TYPE_CHECKING

from django.db import transaction

from portfolio.audit import audit_write
from portfolio.models import School, SchoolYear
from records.models import SchoolClass, Student

if TYPE_CHECKING:
    from accounts.acting import ActingContext
    from accounts.models import User


@transaction.atomic
def school_class_create(
    *,
    school: School,
    school_year: SchoolYear,
    name: str,
    grade: int,
    division: str,
    homeroom_teacher: "User | None",
    by: "ActingContext | None",
) -> SchoolClass:
    school_class = SchoolClass.objects.create(
        school=school,
        school_year=school_year,
        name=name,
        grade=grade,
        division=division,
        homeroom_teacher=homeroom_teacher,
    )
    audit_write(school=school, by=by, action="class.create", target=school_class)
    return school_class


@transaction.atomic
def student_create(
    *,
    school: School,
    student_number: str,
    name: str,
    school_class: SchoolClass | None,
    seat_number: int | None,
    user: "User | None",
    by: "ActingContext | None",
) -> Student:
    student = Student.objects.create(
        school=school,
        student_number=student_number,
        name=name,
        school_class=school_class,
        seat_number=seat_number,
        user=user,
    )
    audit_write(school=school, by=by, action="student.create", target=student)
    return student
