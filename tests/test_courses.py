"""Courses of a term: the services (validation, audit, changed_at) and the pages."""

import datetime as dt
import io

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts import services as account_services
from accounts.models import Role
from portfolio import services as portfolio_services
from portfolio.models import AuditLog, Term
from records.models import Course, CourseEnrolment, Student
from records.services import courses as services
from tests.builders.people import client_for

TZ = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture(autouse=True)
def _english():
    """Messages are asserted in the English source, whatever the catalogue holds."""
    with translation.override("en"):
        yield


def english_client(membership):
    client = client_for(membership)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def good_code(term: Term, school_code: str = "123456", tail: str = "H11101A1010101") -> str:
    return f"{term.school_year.roc_year:03d}{school_code}{tail}"


@pytest.fixture
def term(school, current_roc_year) -> Term:
    return Term.objects.select_related("school_year").get(
        school=school, school_year__roc_year=current_roc_year, number=1
    )


@pytest.fixture
def other_term(other_school, current_roc_year) -> Term:
    return Term.objects.select_related("school_year").get(
        school=other_school, school_year__roc_year=current_roc_year, number=1
    )


@pytest.fixture
def curriculum(school, make_member):
    return make_member(school, Role.CURRICULUM, username="alice-curriculum")


@pytest.fixture
def client(curriculum):
    return english_client(curriculum)


@pytest.fixture
def teacher(school, make_member):
    return make_member(school, Role.TEACHER, username="tina-teacher", name="Tina").user


def make_course(term, *, code=None, section="", name="國語文", grade=10, credits=4, **extra):
    return services.course_create(
        school=term.school,
        term=term,
        code=code or good_code(term),
        section=section,
        name=name,
        grade=grade,
        credits=credits,
        by=None,
        **extra,
    )


class TestCourseServices:
    def test_create_normalizes_and_audits(self, term, teacher):
        course = make_course(term, code=" " + good_code(term).lower() + " ", teachers=[teacher])
        assert course.code == good_code(term)
        assert list(course.teachers.all()) == [teacher]
        entry = AuditLog.objects.get(action="course.create")
        assert entry.target_id == str(course.pk)
        assert entry.changes["term"] == term.pk and entry.changes["teachers"] == [teacher.pk]

    @pytest.mark.parametrize(
        ("code", "words"),
        [
            ("12345", "exactly 23"),
            ("11412345AH11101A1010101", "3 digits of entry year"),
            ("114123456H11101AZ010101", "Position 17 (course category)"),
            ("114123456H11101A10Z0101", "Position 19 (subject attribute)"),
            ("114654321H11101A1010101", "this school's code is 123456"),
        ],
    )
    def test_bad_codes_are_explained_in_words(self, term, code, words):
        with pytest.raises(ValidationError) as exc:
            make_course(term, code=code)
        assert list(exc.value.message_dict) == ["code"]
        assert words in exc.value.message_dict["code"][0]
        assert not Course.objects.exists()

    def test_teachers_must_be_active_teachers_of_the_school(
        self, term, school, other_school, make_member
    ):
        registry = make_member(school, Role.REGISTRY).user
        stranger = make_member(other_school, Role.TEACHER).user
        with pytest.raises(ValidationError) as exc:
            make_course(term, teachers=[registry, stranger])
        assert "teachers" in exc.value.message_dict

    def test_switched_off_teacher_is_refused(self, term, school, make_member):
        membership = make_member(school, Role.TEACHER)
        account_services.membership_set_active(membership=membership, active=False, by=None)
        with pytest.raises(ValidationError) as exc:
            make_course(term, teachers=[membership.user])
        assert "teachers" in exc.value.message_dict

    def test_same_code_needs_another_section(self, term):
        make_course(term, section="101")
        with pytest.raises(ValidationError) as exc:
            make_course(term, section="101")
        assert "section" in exc.value.message_dict
        assert make_course(term, section="102").pk

    def test_term_of_another_school_is_refused(self, school, other_term):
        with pytest.raises(ValidationError) as exc:
            services.course_create(
                school=school,
                term=other_term,
                code=good_code(other_term),
                name="x",
                grade=10,
                credits=1,
                by=None,
            )
        assert "term" in exc.value.message_dict

    def test_update_moves_changed_at_only_when_something_changed(self, term, teacher):
        with time_machine.travel(dt.datetime(2025, 9, 1, 9, tzinfo=TZ), tick=False):
            course = make_course(term)
        created_at = course.changed_at
        data = {
            "code": course.code,
            "name": course.name,
            "grade": course.grade,
            "credits": course.credits,
            "section": "",
            "teachers": [],
        }
        with time_machine.travel(dt.datetime(2025, 9, 2, 9, tzinfo=TZ), tick=False):
            services.course_update(course=course, by=None, **data)
        course.refresh_from_db()
        assert course.changed_at == created_at
        assert not AuditLog.objects.filter(action="course.update").exists()
        with time_machine.travel(dt.datetime(2025, 9, 3, 9, tzinfo=TZ), tick=False):
            services.course_update(course=course, by=None, **{**data, "teachers": [teacher]})
        course.refresh_from_db()
        assert course.changed_at == dt.datetime(2025, 9, 3, 9, tzinfo=TZ)
        assert list(course.teachers.all()) == [teacher]
        entry = AuditLog.objects.get(action="course.update")
        assert entry.changes["teachers"] == [[], [teacher.pk]]
        with time_machine.travel(dt.datetime(2025, 9, 4, 9, tzinfo=TZ), tick=False):
            services.course_update(course=course, by=None, **{**data, "credits": 3})
        course.refresh_from_db()
        assert course.credits == 3 and course.changed_at.day == 4

    def test_delete_refused_once_graded(self, term, school):
        course = make_course(term)
        student = Student.objects.create(school=school, student_number="1", name="甲")
        enrolment = CourseEnrolment.objects.create(school=school, student=student, course=course)
        enrolment.score = 70
        enrolment.save()
        with pytest.raises(ValidationError):
            services.course_delete(course=course, by=None)
        CourseEnrolment.objects.filter(pk=enrolment.pk).update(score=None)
        services.course_delete(course=course, by=None)
        assert not Course.objects.exists()
        entry = AuditLog.objects.get(action="course.delete")
        assert entry.changes["term"] == term.pk and entry.changes["enrolments"] == 1


class TestCourseList:
    def test_lists_the_terms_courses_with_filters(self, client, term, school):
        make_course(term, name="國語文", grade=10)
        make_course(term, code=good_code(term, tail="H11101A1020101"), name="數學", grade=11)
        url = reverse("courses:list")
        page = client.get(url, {"term": term.pk})
        assert [c.name for c, _problems in page.context["rows"]] == ["國語文", "數學"]
        assert reverse("courses:add") in page.content.decode()
        assert [c.name for c, _ in client.get(url, {"grade": "11"}).context["rows"]] == ["數學"]
        assert [c.name for c, _ in client.get(url, {"q": "國語"}).context["rows"]] == ["國語文"]
        by_name = client.get(url, {"sort": "name"}).context["rows"]
        assert [c.name for c, _ in by_name] == ["國語文", "數學"]
        latest_first = client.get(url, {"sort": "changed"}).context["rows"]
        assert [c.name for c, _ in latest_first] == ["數學", "國語文"]

    def test_defaults_to_the_current_term(self, client, term):
        with time_machine.travel(term.starts_on + dt.timedelta(days=3)):
            assert client.get(reverse("courses:list")).context["term"] == term

    def test_queries_stay_flat(
        self, client, term, school, make_member, django_assert_max_num_queries
    ):
        teachers = [make_member(school, Role.TEACHER).user for _ in range(3)]
        make_course(term, teachers=teachers[:1])
        url = reverse("courses:list")
        with django_assert_max_num_queries(20) as first:
            client.get(url, {"term": term.pk})
        for n in range(30):
            make_course(term, section=str(n), teachers=teachers)
        with django_assert_max_num_queries(len(first.captured_queries)) as second:
            response = client.get(url, {"term": term.pk})
        assert len(second.captured_queries) == len(first.captured_queries)
        assert len(response.context["rows"]) == 31

    def test_registry_may_look_but_not_edit(self, school, make_member, term):
        make_course(term)
        registry = english_client(make_member(school, Role.REGISTRY))
        response = registry.get(reverse("courses:list"), {"term": term.pk})
        assert response.status_code == 200
        assert reverse("courses:add") not in response.content.decode()
        assert registry.get(reverse("courses:add")).status_code == 403

    def test_teacher_is_refused(self, school, make_member):
        assert (
            english_client(make_member(school, Role.TEACHER))
            .get(reverse("courses:list"))
            .status_code
            == 403
        )

    def test_another_schools_term_is_404(self, client, other_term):
        make_course(other_term, code=good_code(other_term, "654321"))
        assert client.get(reverse("courses:list"), {"term": other_term.pk}).status_code == 404
        assert client.get(reverse("courses:export"), {"term": other_term.pk}).status_code == 404

    def test_export_as_xlsx(self, client, term, teacher):
        make_course(term, teachers=[teacher], section="101")
        # A bad code can arrive through an import; the service itself refuses one.
        Course.objects.create(
            school=term.school,
            term=term,
            code=good_code(term, tail="H11101A10Z0101"),
            section="102",
            name="數學",
            grade=10,
            credits=4,
        )
        response = client.get(reverse("courses:export"), {"term": term.pk})
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:4] == ("Term", "Course code", "Section", "Subject name")
        assert len(rows) == 3
        assert rows[1][1] == good_code(term) and "Tina" in rows[1][6]
        assert rows[1][8] is None or rows[1][8] == ""
        assert "Position 19" in rows[2][8]


class TestCourseForms:
    def test_add(self, client, term, teacher):
        response = client.post(
            reverse("courses:add"),
            {
                "term": term.pk,
                "code": good_code(term).lower(),
                "section": "101",
                "name": "國語文",
                "grade": "10",
                "credits": "4",
                "teachers": [teacher.pk],
            },
        )
        assert response.status_code == 302
        course = Course.objects.get()
        assert course.code == good_code(term) and list(course.teachers.all()) == [teacher]
        assert AuditLog.objects.filter(action="course.create", actor__isnull=False).exists()

    def test_bad_code_error_is_tied_to_the_field(self, client, term):
        response = client.post(
            reverse("courses:add"),
            {
                "term": term.pk,
                "code": good_code(term, "654321"),
                "name": "國語文",
                "grade": "10",
                "credits": "4",
            },
        )
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="id_code_error"' in html and "123456" in html
        assert good_code(term, "654321") in html  # the form keeps what was typed
        assert not Course.objects.exists()

    def test_only_active_teachers_are_offered(self, client, school, make_member, teacher):
        off = make_member(school, Role.TEACHER, username="off-teacher")
        account_services.membership_set_active(membership=off, active=False, by=None)
        registry = make_member(school, Role.REGISTRY, username="reg")
        choices = client.get(reverse("courses:add")).context["form"].fields["teachers"].queryset
        assert list(choices) == [teacher]
        assert off.user not in choices and registry.user not in choices

    def test_edit(self, client, term, teacher):
        course = make_course(term)
        url = reverse("courses:edit", args=[course.pk])
        assert client.get(url).status_code == 200
        response = client.post(
            url,
            {
                "code": course.code,
                "section": "",
                "name": "國語文A",
                "grade": "10",
                "credits": "3",
                "teachers": [teacher.pk],
            },
        )
        assert response.status_code == 302
        course.refresh_from_db()
        assert course.name == "國語文A" and course.credits == 3 and course.term == term

    def test_edit_of_another_school_is_404(self, client, other_term):
        course = make_course(other_term, code=good_code(other_term, "654321"))
        assert client.get(reverse("courses:edit", args=[course.pk])).status_code == 404
        assert client.post(reverse("courses:delete", args=[course.pk])).status_code == 404
        assert Course.objects.filter(pk=course.pk).exists()

    def test_delete(self, client, term):
        course = make_course(term)
        url = reverse("courses:delete", args=[course.pk])
        assert "Remove the course" in client.get(url).content.decode()
        assert client.post(url).status_code == 302
        assert not Course.objects.exists()

    def test_delete_graded_says_why(self, client, term, school):
        course = make_course(term)
        student = Student.objects.create(school=school, student_number="1", name="甲")
        CourseEnrolment.objects.create(school=school, student=student, course=course, score=55)
        response = client.post(reverse("courses:delete", args=[course.pk]))
        assert response.status_code == 200
        assert "cannot be removed" in response.content.decode()
        assert Course.objects.filter(pk=course.pk).exists()

    def test_registry_cannot_post(self, school, make_member, term):
        course = make_course(term)
        registry = english_client(make_member(school, Role.REGISTRY))
        assert registry.post(reverse("courses:delete", args=[course.pk])).status_code == 403
        assert registry.post(reverse("courses:edit", args=[course.pk])).status_code == 403


def test_a_school_without_terms_gets_pages_that_say_so(db, make_member):
    bare = portfolio_services.school_create(code="111111", name="新校", by=None)
    client = english_client(make_member(bare, Role.CURRICULUM))
    for name in ["courses:list", "courses:check", "courses:add"]:
        response = client.get(reverse(name))
        assert response.status_code == 200
    assert "no terms yet" in client.get(reverse("courses:list")).content.decode()
    assert client.get(reverse("courses:export")).status_code == 200
