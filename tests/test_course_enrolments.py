"""One course's students and grades: the services (checks, audit) and the pages."""

import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from accounts.acting import ActingContext
from accounts.models import Role
from portfolio.models import AuditLog, Term
from records.models import CourseEnrolment, SchoolClass, Student, StudentStatus
from records.services import course_enrolments as services
from records.services import courses as course_services
from records.services import students as student_services
from tests.builders.people import client_for, english_client

GRADE = {
    "score": Decimal("78.5"),
    "passed": True,
    "makeup_score": None,
    "makeup_passed": None,
    "counts_credit": "1",
    "description": "認真",
}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def term_of(school, roc_year) -> Term:
    return Term.objects.select_related("school_year").get(
        school=school, school_year__roc_year=roc_year, number=1
    )


def make_course(term, tail="H11101A1010101", name="國語文"):
    return course_services.course_create(
        school=term.school,
        term=term,
        code=f"{term.school_year.roc_year:03d}{term.school.code}{tail}",
        name=name,
        grade=10,
        credits=4,
        by=None,
    )


def make_student(school, number, name="學生", school_class=None, seat=None):
    return student_services.student_create(
        school=school,
        student_number=number,
        name=name,
        school_class=school_class,
        seat_number=seat,
        user=None,
        by=None,
    )


@pytest.fixture
def term(school, current_roc_year):
    return term_of(school, current_roc_year)


@pytest.fixture
def course(term):
    return make_course(term)


@pytest.fixture
def student(school):
    return make_student(school, "S001", "王小明")


@pytest.fixture
def curriculum(school, make_member):
    return make_member(school, Role.CURRICULUM, username="alice-curriculum")


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY, username="rita-registry")


def ctx(membership) -> ActingContext:
    return ActingContext(user=membership.user, membership=membership)


def enrol(course, student, **grade):
    enrolment = services.course_enrolment_add(
        course=course, student_number=student.student_number, by=None
    )
    if grade:
        CourseEnrolment.objects.filter(pk=enrolment.pk).update(**grade)
        enrolment.refresh_from_db()
    return enrolment


# --- Services --------------------------------------------------------------------------------


class TestAdd:
    def test_adds_and_audits(self, course, student, curriculum):
        enrolment = services.course_enrolment_add(
            course=course, student_number=" S001 ", by=ctx(curriculum)
        )
        assert enrolment.student == student and enrolment.school_id == course.school_id
        entry = AuditLog.objects.get(action="course_enrolment.add")
        assert entry.actor == curriculum.user
        assert entry.changes == {
            "course": course.pk,
            "student": student.pk,
            "student_number": "S001",
        }

    @pytest.mark.parametrize(
        ("number", "message"),
        [
            ("", "Enter the student number"),
            ("NOPE", "No student of this school"),
            ("X001", "No student of this school"),  # a student of the other school
            ("S002", "is not enrolled"),
            ("S001", "already enrolled"),
        ],
    )
    def test_refusals(self, course, student, school, other_school, number, message):
        make_student(other_school, "X001")
        left = make_student(school, "S002")
        Student.objects.filter(pk=left.pk).update(status=StudentStatus.TRANSFERRED_OUT)
        enrol(course, student)
        with pytest.raises(ValidationError) as caught:
            services.course_enrolment_add(course=course, student_number=number, by=None)
        assert message in " ".join(caught.value.message_dict["student_number"])
        assert CourseEnrolment.objects.count() == 1
        assert AuditLog.objects.filter(action="course_enrolment.add").count() == 1


class TestRemove:
    def test_removes_ungraded_and_audits(self, course, student, curriculum):
        enrolment = enrol(course, student)
        services.course_enrolment_remove(enrolment=enrolment, by=ctx(curriculum))
        assert not CourseEnrolment.objects.exists()
        entry = AuditLog.objects.get(action="course_enrolment.remove")
        assert entry.changes["student"] == student.pk and "grade" not in entry.changes

    @pytest.mark.parametrize(
        "grade", [{"score": Decimal("60")}, {"passed": False}, {"description": "x"}]
    )
    def test_graded_needs_registry(self, course, student, curriculum, registry, grade):
        enrolment = enrol(course, student, **grade)
        with pytest.raises(ValidationError, match="only the registry"):
            services.course_enrolment_remove(enrolment=enrolment, by=ctx(curriculum))
        assert CourseEnrolment.objects.exists()
        assert not AuditLog.objects.filter(action="course_enrolment.remove").exists()
        services.course_enrolment_remove(enrolment=enrolment, by=ctx(registry))
        assert not CourseEnrolment.objects.exists()
        entry = AuditLog.objects.get(action="course_enrolment.remove")
        assert entry.actor == registry.user and "grade" in entry.changes


class TestGradeUpdate:
    def test_saves_and_audits_old_and_new(self, course, student, registry):
        enrolment = enrol(course, student, score=Decimal("50"), passed=False)
        services.course_enrolment_grade_update(enrolment=enrolment, by=ctx(registry), **GRADE)
        enrolment.refresh_from_db()
        assert enrolment.score == Decimal("78.50") and enrolment.passed is True
        assert enrolment.counts_credit == "1" and enrolment.description == "認真"
        entry = AuditLog.objects.get(action="course_enrolment.grade_update")
        assert entry.actor == registry.user
        assert entry.changes["score"] == ["50.00", "78.50"]
        assert entry.changes["passed"] == [False, True]
        assert entry.changes["counts_credit"] == ["", "1"]
        assert "makeup_score" not in entry.changes
        # Saving the same values again writes nothing.
        services.course_enrolment_grade_update(enrolment=enrolment, by=ctx(registry), **GRADE)
        assert AuditLog.objects.filter(action="course_enrolment.grade_update").count() == 1

    def test_clearing_is_a_change(self, course, student):
        enrolment = enrol(course, student, score=Decimal("50"), passed=False)
        services.course_enrolment_grade_update(
            enrolment=enrolment, by=None, **{**GRADE, "score": None, "passed": None}
        )
        enrolment.refresh_from_db()
        assert enrolment.score is None and enrolment.passed is None

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"score": Decimal("100.01")}, "score"),
            ({"score": Decimal("-1")}, "score"),
            ({"score": Decimal("70.555")}, "score"),
            ({"makeup_score": Decimal("101")}, "makeup_score"),
            ({"counts_credit": "4"}, "counts_credit"),
            ({"description": "字" * 501}, "description"),
        ],
    )
    def test_refusals(self, course, student, change, field):
        enrolment = enrol(course, student)
        with pytest.raises(ValidationError) as caught:
            services.course_enrolment_grade_update(
                enrolment=enrolment, by=None, **{**GRADE, **change}
            )
        assert set(caught.value.message_dict) == {field}
        enrolment.refresh_from_db()
        assert enrolment.score is None
        assert not AuditLog.objects.filter(action="course_enrolment.grade_update").exists()

    def test_counts_credit_codes_are_those_of_the_import(self, course, student):
        enrolment = enrol(course, student)
        for code in ("1", "2", "3", ""):
            services.course_enrolment_grade_update(
                enrolment=enrolment, by=None, **{**GRADE, "counts_credit": code}
            )
            enrolment.refresh_from_db()
            assert enrolment.counts_credit == code


# --- The course page -------------------------------------------------------------------------


class TestDetail:
    def url(self, course):
        return reverse("enrolments:detail", args=[course.pk])

    def test_curriculum_sees_students_and_add_form(self, course, student, curriculum, school):
        enrol(course, student, score=Decimal("88"), passed=True)
        page = english_client(curriculum).get(self.url(course))
        assert page.status_code == 200
        assert [e.student for e, _graded in page.context["rows"]] == [student]
        html = page.content.decode()
        assert "王小明" in html and "88.00" in html
        assert reverse("enrolments:add", args=[course.pk]) in html
        assert "only the registry can remove" in html
        assert (
            reverse("enrolments:grade", args=[course.pk, page.context["rows"][0][0].pk]) not in html
        )

    def test_registry_sees_grade_links(self, course, student, registry):
        enrolment = enrol(course, student, score=Decimal("88"))
        page = english_client(registry).get(self.url(course))
        assert page.status_code == 200
        html = page.content.decode()
        assert reverse("enrolments:grade", args=[course.pk, enrolment.pk]) in html
        assert reverse("enrolments:remove", args=[course.pk, enrolment.pk]) in html
        assert reverse("enrolments:add", args=[course.pk]) not in html

    def test_same_school_without_the_right(self, course, as_role):
        assert as_role(Role.TEACHER).get(self.url(course)).status_code == 403
        assert as_role(Role.STUDENT_AFFAIRS).get(self.url(course)).status_code == 403

    def test_other_school(self, course, other_school, make_member):
        client = client_for(make_member(other_school, Role.CURRICULUM))
        assert client.get(self.url(course)).status_code == 404
        export = reverse("enrolments:export", args=[course.pk])
        assert client.get(export).status_code == 404

    def test_filter_sort_page(self, course, school, term, curriculum):
        a = student_services.school_class_create(
            school=school,
            school_year=term.school_year,
            name="101",
            grade=10,
            division="day",
            homeroom_teacher=None,
            by=None,
        )
        b = student_services.school_class_create(
            school=school,
            school_year=term.school_year,
            name="102",
            grade=10,
            division="day",
            homeroom_teacher=None,
            by=None,
        )
        assert SchoolClass.objects.count() == 2
        enrol(course, make_student(school, "S3", "丙", b, 1), score=Decimal("90"), passed=True)
        enrol(course, make_student(school, "S1", "甲", a, 2), score=Decimal("50"), passed=False)
        enrol(course, make_student(school, "S2", "乙", a, 1))
        client = english_client(curriculum)

        def numbers(**query):
            page = client.get(self.url(course), query)
            return [e.student.student_number for e, _graded in page.context["rows"]]

        assert numbers() == ["S2", "S1", "S3"]
        assert numbers(sort="number") == ["S1", "S2", "S3"]
        assert numbers(sort="score") == ["S3", "S1", "S2"]
        assert numbers(**{"class": str(b.pk)}) == ["S3"]
        assert numbers(passed="no") == ["S1"]
        assert numbers(passed="ungraded") == ["S2"]
        assert numbers(q="甲") == ["S1"]
        assert numbers(sort="bogus", passed="bogus") == ["S2", "S1", "S3"]
        page = client.get(self.url(course))
        assert [c.name for c in page.context["classes"]] == ["101", "102"]

    def test_pages_of_fifty(self, course, school, curriculum):
        for n in range(51):
            enrol(course, make_student(school, f"P{n:03d}"))
        client = english_client(curriculum)
        assert len(client.get(self.url(course)).context["rows"]) == 50
        assert len(client.get(self.url(course), {"page": 2}).context["rows"]) == 1

    def test_query_count_flat(self, course, school, curriculum, term, django_assert_num_queries):
        klass = student_services.school_class_create(
            school=school,
            school_year=term.school_year,
            name="101",
            grade=10,
            division="day",
            homeroom_teacher=None,
            by=None,
        )
        enrol(course, make_student(school, "Q0", school_class=klass, seat=1), score=Decimal("1"))
        client = english_client(curriculum)
        client.get(self.url(course))  # warm the session
        with CaptureQueriesContext(connection) as few:
            assert client.get(self.url(course)).status_code == 200
        for n in range(1, 30):
            enrol(course, make_student(school, f"Q{n}", school_class=klass, seat=n + 1))
        with django_assert_num_queries(len(few.captured_queries)):
            page = client.get(self.url(course))
        assert len(page.context["rows"]) == 30

    def test_export(self, course, student, registry):
        enrol(course, student, score=Decimal("78.5"), passed=True, counts_credit="2")
        response = english_client(registry).get(reverse("enrolments:export", args=[course.pk]))
        assert response.status_code == 200
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == "Student number" and len(rows[0]) == 10
        assert rows[1][0] == "S001" and rows[1][3] == "王小明"
        assert rows[1][4] == 78.5 and rows[1][5] == "Yes" and rows[1][8] == "2"

    def test_course_list_links_here(self, course, curriculum, term):
        page = english_client(curriculum).get(reverse("courses:list"), {"term": term.pk})
        assert self.url(course) in page.content.decode()


class TestAddView:
    def url(self, course):
        return reverse("enrolments:add", args=[course.pk])

    def test_curriculum_adds(self, course, student, curriculum):
        response = english_client(curriculum).post(self.url(course), {"student_number": "S001"})
        assert response.status_code == 302
        assert response["Location"] == reverse("enrolments:detail", args=[course.pk])
        assert CourseEnrolment.objects.get().student == student

    def test_error_next_to_the_field(self, course, student, curriculum):
        enrol(course, student)
        page = english_client(curriculum).post(self.url(course), {"student_number": "S001"})
        assert page.status_code == 200
        assert "already enrolled" in page.context["add_form"].errors["student_number"][0]
        assert 'aria-invalid="true"' in page.content.decode()

    def test_same_school_without_the_right(self, course, student, registry):
        assert (
            english_client(registry).post(self.url(course), {"student_number": "S001"}).status_code
            == 403
        )
        assert not CourseEnrolment.objects.exists()

    def test_other_school(self, course, student, other_school, make_member):
        client = client_for(make_member(other_school, Role.CURRICULUM))
        assert client.post(self.url(course), {"student_number": "S001"}).status_code == 404
        assert not CourseEnrolment.objects.exists()

    def test_get_goes_to_the_course_page(self, course, curriculum):
        response = english_client(curriculum).get(self.url(course), {"page": "2", "sort": "name"})
        assert response.status_code == 302
        detail = reverse("enrolments:detail", args=[course.pk])
        assert response["Location"] == f"{detail}?page=2&sort=name"


class TestRemoveView:
    def url(self, enrolment):
        return reverse("enrolments:remove", args=[enrolment.course_id, enrolment.pk])

    def test_curriculum_removes_ungraded(self, course, student, curriculum):
        enrolment = enrol(course, student)
        assert english_client(curriculum).post(self.url(enrolment)).status_code == 302
        assert not CourseEnrolment.objects.exists()

    def test_curriculum_refused_once_graded_registry_may(
        self, course, student, curriculum, registry
    ):
        enrolment = enrol(course, student, score=Decimal("60"))
        response = english_client(curriculum).post(self.url(enrolment), follow=True)
        assert "only the registry" in response.content.decode()
        assert CourseEnrolment.objects.exists()
        assert english_client(registry).post(self.url(enrolment)).status_code == 302
        assert not CourseEnrolment.objects.exists()

    def test_same_school_without_the_right(self, course, student, as_role):
        enrolment = enrol(course, student)
        assert as_role(Role.TEACHER).post(self.url(enrolment)).status_code == 403
        assert CourseEnrolment.objects.exists()

    def test_other_school(self, course, student, other_school, make_member):
        enrolment = enrol(course, student)
        client = client_for(make_member(other_school, Role.REGISTRY))
        assert client.post(self.url(enrolment)).status_code == 404
        assert CourseEnrolment.objects.exists()

    def test_enrolment_of_another_course(self, course, student, term, curriculum):
        other = make_course(term, tail="H11101A1020101", name="數學")
        enrolment = enrol(other, student)
        url = reverse("enrolments:remove", args=[course.pk, enrolment.pk])
        assert english_client(curriculum).post(url).status_code == 404


class TestGradeView:
    def url(self, enrolment):
        return reverse("enrolments:grade", args=[enrolment.course_id, enrolment.pk])

    def post_data(self, **change):
        data = {
            "score": "78.5",
            "passed": "1",
            "makeup_score": "",
            "makeup_passed": "",
            "counts_credit": "3",
            "description": "認真",
        }
        data.update(change)
        return data

    def test_registry_edits(self, course, student, registry):
        enrolment = enrol(course, student, score=Decimal("40"), passed=False)
        client = english_client(registry)
        page = client.get(self.url(enrolment))
        assert page.status_code == 200
        assert page.context["form"].initial["passed"] == "0"
        response = client.post(self.url(enrolment), self.post_data())
        assert response.status_code == 302
        enrolment.refresh_from_db()
        assert enrolment.score == Decimal("78.50") and enrolment.passed is True
        assert enrolment.counts_credit == "3" and enrolment.makeup_passed is None
        entry = AuditLog.objects.get(action="course_enrolment.grade_update")
        assert entry.actor == registry.user
        assert entry.changes["score"] == ["40.00", "78.50"]

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"score": "120"}, "score"),
            ({"score": "70.555"}, "score"),
            ({"makeup_score": "abc"}, "makeup_score"),
            ({"counts_credit": "9"}, "counts_credit"),
            ({"passed": "maybe"}, "passed"),
            ({"description": "字" * 501}, "description"),
        ],
    )
    def test_errors_next_to_fields(self, course, student, registry, change, field):
        enrolment = enrol(course, student)
        page = english_client(registry).post(self.url(enrolment), self.post_data(**change))
        assert page.status_code == 200
        assert field in page.context["form"].errors
        assert (
            page.context["form"]["description"].value() == self.post_data(**change)["description"]
        )
        enrolment.refresh_from_db()
        assert enrolment.score is None

    def test_same_school_without_the_right(self, course, student, curriculum):
        enrolment = enrol(course, student)
        client = english_client(curriculum)
        assert client.get(self.url(enrolment)).status_code == 403
        assert client.post(self.url(enrolment), self.post_data()).status_code == 403
        enrolment.refresh_from_db()
        assert enrolment.score is None

    def test_other_school(self, course, student, other_school, make_member):
        enrolment = enrol(course, student)
        client = client_for(make_member(other_school, Role.REGISTRY))
        assert client.get(self.url(enrolment)).status_code == 404
        assert client.post(self.url(enrolment), self.post_data()).status_code == 404

    def test_enrolment_of_another_course(self, course, student, term, registry):
        other = make_course(term, tail="H11101A1020101", name="數學")
        enrolment = enrol(other, student)
        url = reverse("enrolments:grade", args=[course.pk, enrolment.pk])
        assert english_client(registry).get(url).status_code == 404
