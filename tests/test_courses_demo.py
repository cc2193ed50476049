"""The demo courses (records/demo/courses.py): realistic, complete, idempotent and fast."""

import time

import pytest

from accounts import services as account_services
from accounts.models import Division, Role
from portfolio.lib import course_code
from portfolio.models import SchoolYear
from records.demo import courses as demo
from records.models import (
    Course,
    CourseCodeCheck,
    CourseCodeList,
    CourseEnrolment,
    SchoolClass,
    Student,
)
from records.services import courses as services
from tests.builders.people import make_school_with_year


@pytest.fixture
def demo_world(db, make_member, current_roc_year):
    school = make_school_with_year("999001", "示範高級中學", current_roc_year)
    year = SchoolYear.objects.get(school=school, roc_year=current_roc_year)
    teacher = make_member(school, Role.TEACHER, username="teacher").user
    homeroom = make_member(school, Role.HOMEROOM, username="homeroom").user
    account_services.membership_add(
        school=school, user=homeroom, role=Role.TEACHER, division=Division.DAY, by=None
    )
    number = 0
    for grade, name in demo.CLASS_OF_GRADE.items():
        school_class = SchoolClass.objects.create(
            school=school, school_year=year, name=name, grade=grade
        )
        students = []
        for seat in range(1, 31):
            number += 1
            students.append(
                Student(
                    school=school,
                    student_number=f"{number:05d}",
                    name=f"學生{number}",
                    school_class=school_class,
                    seat_number=seat,
                )
            )
        Student.objects.bulk_create(students)
    return {"school": school, "year": year, "staff": {"teacher": teacher, "homeroom": homeroom}}


def test_seed(demo_world):
    school, year = demo_world["school"], demo_world["year"]
    started = time.monotonic()
    demo.seed(**demo_world)
    assert time.monotonic() - started < 10
    term1, term2 = year.terms.order_by("number")
    courses = list(Course.objects.filter(school=school).select_related("term"))
    assert {c.term_id for c in courses} == {term1.pk, term2.pk}
    for course in courses:
        assert course_code.problems(course.code, school_code="999001") == []
        parsed = course_code.parse(course.code)
        assert parsed.entry_year == year.roc_year - (course.grade - 10)
        assert course.section == demo.CLASS_OF_GRADE[course.grade]
    names = {c.name for c in courses}
    for subject in ["國語文", "英語文", "數學", "歷史", "地理", "公民與社會", "物理", "化學"]:
        assert subject in names
    for subject in ["生物", "地球科學", "音樂", "美術", "體育", "健康與護理", "資訊科技"]:
        assert subject in names
    assert {"生活科技", "團體活動時間", "彈性學習時間", "自主學習"} <= names
    electives = {(c.grade, c.name) for c in courses if course_code.parse(c.code).category == "5"}
    assert {grade for grade, _name in electives} == {10, 11, 12}
    assert all(course_code.parse(c.code).attribute == "A" for c in courses if c.name == "自主學習")
    taught = Course.objects.filter(teachers=demo_world["staff"]["teacher"]).count()
    assert taught >= 3
    assert Course.objects.filter(teachers=demo_world["staff"]["homeroom"]).exists()
    # Every student in every course of their grade, each term.
    for course in courses:
        assert course.enrolments.count() == 30
    graded = CourseEnrolment.objects.filter(course__term=term1, score__isnull=False)
    assert graded.exists()
    assert not CourseEnrolment.objects.filter(course__term=term2, score__isnull=False).exists()
    for row in graded:
        assert 40 <= row.score <= 98 and row.passed == (row.score >= 60)
    assert CourseEnrolment.objects.filter(makeup_score__isnull=False).exists()
    # One check of term 1 against its official list, passed, and up to date.
    check = CourseCodeCheck.objects.get(term=term1)
    assert check.code_list == CourseCodeList.objects.get(term=term1)
    assert check.passed
    assert services.course_code_check_status(term1)["after_latest_change"]
    assert not CourseCodeCheck.objects.filter(term=term2).exists()

    counts = (
        Course.objects.count(),
        CourseEnrolment.objects.count(),
        CourseCodeCheck.objects.count(),
        CourseCodeList.objects.count(),
    )
    demo.seed(**demo_world)
    assert counts == (
        Course.objects.count(),
        CourseEnrolment.objects.count(),
        CourseCodeCheck.objects.count(),
        CourseCodeList.objects.count(),
    )
