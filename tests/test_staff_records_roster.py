"""The homeroom teacher's class roster: only their classes of this year, national IDs
masked, courses of the chosen term, and the same number of queries for 5 or 900 students."""

import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from portfolio import services as portfolio_services
from portfolio.models import Term
from records.models import Course, CourseEnrolment
from tests.builders.people import client_for
from tests.builders.records import make_class, make_students

# The figure the bench reports as ``roster_page_queries`` comes from this test.
ROSTER_BIG = 900


@pytest.fixture
def terms(school, current_roc_year):
    return list(
        Term.objects.filter(school=school, school_year__roc_year=current_roc_year).order_by(
            "number"
        )
    )


@pytest.fixture
def hannah(school, make_member):
    return make_member(school, Role.HOMEROOM, username="hannah")


@pytest.fixture
def her_class(school, terms, hannah):
    return make_class(school, terms[0].school_year, "101", homeroom=hannah.user)


def make_courses(school, term, count=3):
    return [
        Course.objects.create(
            school=school,
            term=term,
            code=f"115123456H111010101010{n}",
            name=f"課程{term.number}-{n}",
            grade=10,
            credits=2,
        )
        for n in range(count)
    ]


def enrol(students, courses):
    CourseEnrolment.objects.bulk_create(
        CourseEnrolment(school=s.school, student=s, course=c) for s in students for c in courses
    )


def test_roster_shows_masked_ids_and_the_terms_courses(school, hannah, her_class, terms):
    students = make_students(school, her_class, 3)
    enrol(students, make_courses(school, terms[0], 2))
    enrol(students[:1], make_courses(school, terms[1], 1))
    client = client_for(hannah)
    response = client.get(reverse("staffrecords:roster"), {"term": terms[0].pk})
    html = response.content.decode()
    first = students[0]
    assert first.national_id_masked in html
    assert first.national_id not in html
    assert "課程1-0、課程1-1" in html
    assert "課程2-0" not in html
    response = client.get(reverse("staffrecords:roster"), {"term": terms[1].pk})
    assert "課程2-0" in response.content.decode()


def test_roster_export_is_masked(school, hannah, her_class, terms):
    students = make_students(school, her_class, 2)
    enrol(students, make_courses(school, terms[0], 1))
    response = client_for(hannah).get(
        reverse("staffrecords:roster"), {"term": terms[0].pk, "export": "xlsx"}
    )
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3
    assert rows[1][5] == students[0].national_id_masked
    assert rows[1][7] == "課程1-0"


def test_only_my_classes_of_this_year(
    school, hannah, her_class, terms, make_member, current_roc_year, other_school
):
    mine = make_students(school, her_class, 1, prefix="M")
    colleague = make_member(school, Role.HOMEROOM, username="colleague")
    their_class = make_class(school, terms[0].school_year, "102", homeroom=colleague.user)
    theirs = make_students(school, their_class, 1, prefix="T")
    last_year = portfolio_services.school_year_create(
        school=school,
        roc_year=current_roc_year - 1,
        terms=[
            {
                "number": 1,
                "starts_on": dt.date(current_roc_year + 1910, 8, 30),
                "closing_day": dt.date(current_roc_year + 1911, 1, 20),
                "ends_on": dt.date(current_roc_year + 1911, 1, 31),
            }
        ],
        by=None,
    )
    old_class = make_class(school, last_year, "101", homeroom=hannah.user)
    old = make_students(school, old_class, 1, prefix="O")
    client = client_for(hannah)
    url = reverse("staffrecords:roster")
    for params in ({}, {"school_class": their_class.pk}, {"school_class": old_class.pk}):
        response = client.get(url, params)
        shown = list(response.context["students"])
        assert shown == mine, params
    html = client.get(url, {"school_class": their_class.pk}).content.decode()
    assert theirs[0].student_number not in html and old[0].student_number not in html
    # Another school's homeroom teacher and other roles see nothing of it.
    outsider = client_for(make_member(other_school, Role.HOMEROOM))
    assert list(outsider.get(url).context["students"]) == []
    assert client_for(make_member(school, Role.REGISTRY)).get(url).status_code == 403


def test_a_homeroom_teacher_without_a_class_is_told_so(school, make_member):
    response = client_for(make_member(school, Role.HOMEROOM)).get(reverse("staffrecords:roster"))
    assert response.status_code == 200
    assert not response.context["has_classes"]


def test_queries_do_not_grow_with_the_class(
    school, hannah, her_class, terms, django_assert_num_queries
):
    """The roster is one page however large the class; 900 students cost the same
    queries as 5 (the figure reported as roster_page_queries)."""
    courses = make_courses(school, terms[0], 3)
    small = make_students(school, her_class, 5)
    enrol(small, courses)
    client = client_for(hannah)
    url = reverse("staffrecords:roster")
    with CaptureQueriesContext(connection) as few:
        response = client.get(url, {"term": terms[0].pk})
    assert len(response.context["students"]) == 5
    big = make_students(school, her_class, ROSTER_BIG - 5, start=6)
    enrol(big, courses)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(url, {"term": terms[0].pk})
    students = response.context["students"]
    assert len(students) == ROSTER_BIG
    assert all(len(s.term_enrolments) == 3 for s in students)
    print(f"roster_page_queries={len(few.captured_queries)} for {ROSTER_BIG} students")
