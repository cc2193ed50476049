"""Numbers from addresses, forms and headers: one parser, and the pages that once answered 500
to a superscript digit, a 25-digit id or a 5,000-digit number."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from portfolio.lib.numbers import MAX_ID, parse_id, parse_ids, parse_int, whole_number
from portfolio.models import Term
from records.models import Course, SchoolClass
from submissions.serving import byte_range
from tests.builders.files import make_mp3
from tests.builders.people import client_for, english_client
from tests.builders.portfolio import Files, inline

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("007", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("9" * 25, None),
        (HUGE, None),
        ("0", None),
        ("²", None),
        ("٣", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("", None),
        (None, None),
        (1, None),  # text only: a caller passes what the request holds
        ("1\x00", None),
    ],
)
def test_parse_id(text, expected):
    assert parse_id(text) == expected


def test_parse_int_is_bounded():
    assert parse_int("0") == 0
    assert parse_int("115", low=100, high=200) == 115
    assert parse_int("99", low=100, high=200) is None
    assert parse_int("201", low=100, high=200) is None
    assert parse_int("0115", low=100, high=200) == 115
    assert parse_int("-5") is None  # a sign only where negative numbers are allowed
    assert parse_int("-5", low=-10, high=10) == -5
    assert parse_int("+5", low=-10, high=10) == 5
    assert parse_int("0" * 40 + "1") is None  # more characters than any number needs


def test_whole_number_has_no_bounds_but_a_length():
    assert whole_number("9" * 25) == 10**25 - 1
    assert whole_number("-3", signed=True) == -3
    assert whole_number("-3") is None
    assert whole_number("12\n") is None
    assert whole_number(HUGE) is None


def test_parse_ids_leaves_out_what_is_no_id():
    assert parse_ids(["3", "²", HUGE, "3", "", "12"]) == {3, 12}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=" + HUGE + "-", None),
        ("bytes=-" + HUGE, None),
        ("bytes=0-" + HUGE, None),
        ("bytes=²-", None),
        ("bytes=0-" + "9" * 18, (0, 99)),
    ],
)
def test_byte_range_with_hostile_numbers(header, expected):
    assert byte_range(header, 100) == expected


def test_public_schedule_with_a_superscript_year(school, current_roc_year):
    response = Client().get(reverse("portal:public_schedule", args=[school.code]), {"year": "²"})
    assert response.status_code == 200
    assert response.context["year"].roc_year == current_roc_year


def test_course_list_with_a_superscript_term(school, as_role):
    response = as_role(Role.REGISTRY).get(reverse("courses:list"), {"term": "²"})
    assert response.status_code == 200


def test_consultation_list_with_a_superscript_student(school, as_role):
    response = as_role(Role.CONSULTANT).get(
        reverse("staffrecords:consultation_list"), {"student": "²"}
    )
    assert response.status_code == 200


def test_extension_form_with_a_huge_student_is_404(school, as_role):
    client = as_role(Role.REGISTRY)
    for value in ("²", "9" * 25, HUGE):
        assert client.get(reverse("extensions:add"), {"student": value}).status_code == 404


@pytest.fixture
def course(school):
    term = Term.objects.filter(school=school).order_by("number").first()
    return Course.objects.create(
        school=school, term=term, code="1" * 23, name="物理", grade=10, credits=2
    )


@pytest.mark.parametrize("value", ["9" * 25, HUGE, "²"])
def test_course_students_with_a_hostile_class(course, as_role, value):
    response = as_role(Role.REGISTRY).get(
        reverse("enrolments:detail", args=[course.pk]), {"class": value}
    )
    assert response.status_code == 200


def test_certify_many_with_a_huge_selection(school, make_member):
    client = english_client(make_member(school, Role.TEACHER))
    response = client.post(reverse("certification:certify_many"), {"selected": [HUGE, "²"]})
    assert response.status_code == 302
    with translation.override("en"):
        said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == ["Tick the outcomes to certify first."]


def test_a_range_of_5000_digits_gets_the_whole_file(school, make_member):
    files = Files(school, make_member)
    data = make_mp3(frames=5)
    stored = files.store(data, name="talk.mp3", mime="audio/mpeg")
    response = client_for(files.owner).get(inline(stored), HTTP_RANGE="bytes=" + HUGE + "-")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data


def test_a_25_digit_consultant_is_a_field_error(school, make_member):
    registry = make_member(school, Role.REGISTRY)
    term = Term.objects.filter(school=school).first()
    school_class = SchoolClass.objects.create(
        school=school, school_year=term.school_year, name="101", grade=10
    )
    response = english_client(registry).post(
        reverse("classes:edit", args=[school_class.pk]), {"consultants": ["9" * 25]}
    )
    assert response.status_code == 200
    assert "is not a valid value" in str(response.context["form"].errors["consultants"])


@pytest.mark.parametrize("pk", ["9" * 25, HUGE])
def test_a_huge_id_in_the_address_is_404(school, as_role, pk):
    response = as_role(Role.REGISTRY).get(f"/records/courses/{pk}/")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("raw", "code"), [("9" * 25, "out_of_range"), (HUGE, "integer"), ("²", "integer")]
)
def test_an_import_cell_with_a_hostile_number_is_a_cell_problem(raw, code):
    from records.imports.values import CellError, integer

    with pytest.raises(CellError) as error:
        integer(raw, low=1, high=99)
    assert error.value.code == code
