"""Rows for the diverse-performance pages (submissions/urls/performances.py).

A student actor here is a fresh member with no Student record: the add page says so (200)
and the item of the world's student is not theirs (404). The offices see the items the
school entered for the students of their division; the one built here is in a day class.
"""

from django.utils import timezone

from accounts.models import Division, Role
from records.models import SchoolClass, Student
from submissions.models import Performance, PerformanceSource
from tests.matrix import only

R = Role
OFFICES = [R.STUDENT_AFFAIRS, R.REGISTRY, R.COUNSELLOR, R.CURRICULUM]


def build(world, make_member):
    school = world["school"]
    year = world["term"].school_year
    school_class = SchoolClass.objects.create(
        school=school, school_year=year, name="PF1", grade=10, division=Division.DAY
    )
    student = Student.objects.create(
        school=school, student_number="PF0001", name="矩陣多元", school_class=school_class
    )
    common = {
        "school": school,
        "student": student,
        "school_year": year,
        "description": "矩陣",
        "starts_on": timezone.localdate(),
    }
    world["performance_own"] = Performance.objects.create(
        category="work", name="作品", source=PerformanceSource.STUDENT, **common
    )
    world["performance_school"] = Performance.objects.create(
        category="other",
        name="校慶志工",
        source=PerformanceSource.SCHOOL,
        details={"organiser": "學務處"},
        **common,
    )


def _own(world):
    return {"pk": world["performance_own"].pk}


def _school(world):
    return {"pk": world["performance_school"].pk}


STUDENT_PAGE = only({R.STUDENT: 200}, outsider=200, outsider_role=R.STUDENT)
NOT_THEIRS = only({R.STUDENT: 404}, outsider=404, outsider_role=R.STUDENT)
OFFICE_PAGE = only(dict.fromkeys(OFFICES, 200), outsider=200, outsider_role=R.STUDENT_AFFAIRS)
# The item is a day-division student's: an office of the other division gets 404.
OFFICE_ITEM = only(
    dict.fromkeys(OFFICES, 200),
    outsider=404,
    outsider_role=R.STUDENT_AFFAIRS,
    other_division=404,
)
OFFICE_DELETE = only(
    dict.fromkeys(OFFICES, 302),
    outsider=404,
    outsider_role=R.STUDENT_AFFAIRS,
    other_division=404,
)

ROWS = {
    "performances:add": ("get", None, STUDENT_PAGE),
    "performances:edit": ("get", _own, NOT_THEIRS),
    "performances:withdraw": ("post", _own, NOT_THEIRS),
    "performances:staff_list": ("get", None, OFFICE_PAGE),
    "performances:staff_add": ("get", None, OFFICE_PAGE),
    "performances:staff_edit": ("get", _school, OFFICE_ITEM),
    "performances:staff_delete": ("post", _school, OFFICE_DELETE),
}
