"""Classes, students and course codes."""

import datetime as dt

from accounts.models import Division, Membership, Role
from portfolio.crypto import keyed_hash
from records.models import (
    Gender,
    Student,
)
from records.services import students as student_services
from records.services.student_records import set_national_id

NATIONAL_ID = "A123456789"
SCHOOL = "123456"


def make_class(school, year, name="101", grade=10, homeroom=None, division=Division.DAY):
    return student_services.school_class_create(
        school=school,
        school_year=year,
        name=name,
        grade=grade,
        division=division,
        homeroom_teacher=homeroom,
        by=None,
    )


def make_student(
    school, make_member, school_class, *, number="S001", seat=1, national_id=NATIONAL_ID
) -> tuple[Student, Membership]:
    membership = make_member(school, Role.STUDENT, username=f"stu-{number}-{school.code}")
    student = student_services.student_create(
        school=school,
        student_number=number,
        name=f"學生{number}",
        school_class=school_class,
        seat_number=seat,
        user=membership.user,
        by=None,
    )
    if national_id:
        set_national_id(student, national_id)
        student.gender = Gender.FEMALE
        student.birth_date = dt.date(2009, 5, 17)
        student.save()
    return student, membership


def make_students(school, school_class, count, *, prefix="S", start=1):
    """``count`` students of ``school_class`` in one query, national IDs set."""
    students = []
    for n in range(start, start + count):
        national_id = f"A1{ord(prefix[0]) % 100:02d}{n:06d}"
        students.append(
            Student(
                school=school,
                student_number=f"{prefix}{n:05d}",
                name=f"學生{prefix}{n}",
                school_class=school_class,
                seat_number=(n - start) % 99 + 1,
                national_id=national_id,
                national_id_hash=keyed_hash(national_id),
                gender="1" if n % 2 else "2",
                birth_date=dt.date(2010, 1, 1) + dt.timedelta(days=n),
            )
        )
    Student.objects.bulk_create(students)
    numbers = [s.student_number for s in students]
    return list(
        Student.objects.filter(school=school, student_number__in=numbers).order_by("student_number")
    )


def code(
    *,
    year: int = 114,
    school: str = SCHOOL,
    category: str = "1",
    attribute: str = "1",
    seq: str = "01",
) -> str:
    return f"{year:03d}{school}H11101A{category}0{attribute}01{seq}"
