"""The student's basic-data page, and a student's record for staff: who may read it, the
registry's national-ID reveal (audited) and the registry's edit of the basic data."""

import datetime as dt
import decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Division, Membership, Role
from portfolio.crypto import keyed_hash
from portfolio.models import AuditLog, SchoolYear, Term
from records.models import (
    AbsenceKind,
    AttendanceSummary,
    CadreLevel,
    CadrePost,
    CareerExploration,
    Club,
    ClubMembership,
    Consultation,
    Course,
    CourseEnrolment,
    Gender,
    SchoolClass,
    Student,
)
from records.services.student_records import set_national_id, student_update
from tests.builders.people import client_for, deputy_client, english
from tests.builders.records import NATIONAL_ID, make_class, make_student

OTHER_ID = "B120000008"  # valid check digit (see test_set_national_id_normalizes)
TZ = timezone.get_fixed_timezone(8 * 60)


# --- Helpers shared with tests/test_corrections.py ------------------------------------


# --- Fixtures -------------------------------------------------------------------------


@pytest.fixture
def year(school, current_roc_year) -> SchoolYear:
    return SchoolYear.objects.get(school=school, roc_year=current_roc_year)


@pytest.fixture
def term1(year) -> Term:
    return year.terms.get(number=1)


@pytest.fixture
def term2(year) -> Term:
    return year.terms.get(number=2)


@pytest.fixture
def homeroom(school, make_member) -> Membership:
    return make_member(school, Role.HOMEROOM)


@pytest.fixture
def klass(school, year, homeroom) -> SchoolClass:
    return make_class(school, year, homeroom=homeroom.user)


@pytest.fixture
def alice(school, make_member, klass) -> tuple[Student, Membership]:
    return make_student(school, make_member, klass)


@pytest.fixture
def student(alice) -> Student:
    return alice[0]


@pytest.fixture
def student_client(alice) -> Client:
    return english(client_for(alice[1]))


@pytest.fixture
def registry(school, make_member) -> Membership:
    return make_member(school, Role.REGISTRY)


@pytest.fixture
def registry_client(registry) -> Client:
    return english(client_for(registry))


def fill_records(student, term1, term2, staff_user, *, n_courses=2):
    """Records of every kind the page shows, ``n_courses`` courses per term."""
    school = student.school
    CadrePost.objects.create(
        school=school,
        student=student,
        term=term1,
        unit="101班",
        title="風紀股長",
        level=CadreLevel.CLASS,
        starts_on=term1.starts_on,
        ends_on=term1.ends_on,
    )
    club = Club.objects.get_or_create(school=school, school_year=term1.school_year, name="天文社")[
        0
    ]
    ClubMembership.objects.get_or_create(school=school, club=club, student=student, term=term1)
    for kind, periods in [(AbsenceKind.SICK, 4), (AbsenceKind.PERSONAL, 2)]:
        AttendanceSummary.objects.get_or_create(
            school=school, student=student, term=term1, kind=kind, defaults={"periods": periods}
        )
    for term in (term1, term2):
        for i in range(n_courses):
            course, _created = Course.objects.get_or_create(
                school=school,
                term=term,
                code=f"115123456H11101A10101{i:02d}"[:23],
                section=f"{term.number}-{i}",
                defaults={"name": f"科目{term.number}-{i}", "grade": 10, "credits": 2},
            )
            CourseEnrolment.objects.get_or_create(
                school=school,
                student=student,
                course=course,
                defaults={
                    "score": decimal.Decimal("75.5") if term.number == 1 else None,
                    "passed": True if term.number == 1 else None,
                },
            )
    Consultation.objects.create(
        school=school,
        student=student,
        consultant=staff_user,
        held_at=dt.datetime.combine(term1.starts_on, dt.time(10), tzinfo=TZ),
        place="諮詢室",
        content="選課討論",
        advice="多修數學",
    )
    CareerExploration.objects.create(
        school=school,
        student=student,
        counsellor=staff_user,
        held_on=term1.starts_on,
        clusters=["01", "03"],
        content="想讀資工",
    )


# --- The student's own page -----------------------------------------------------------


class TestStudentPage:
    def test_shows_own_data_with_the_national_id_masked(
        self, student_client, student, term1, term2, homeroom
    ):
        fill_records(student, term1, term2, homeroom.user)
        response = student_client.get(reverse("basicdata:mine"))
        assert response.status_code == 200
        html = response.content.decode()
        assert "A12****789" in html
        assert NATIONAL_ID not in html
        for text in [
            "S001",
            "學生S001",
            "2009-05-17",
            "風紀股長",
            "天文社",
            "選課討論",
            "想讀資工",
        ]:
            assert text in html
        assert "Information" in html  # cluster 01 by its name
        data = response.context["data"]
        assert [group.term for group in data.course_terms] == [term1, term2]
        assert data.course_terms[0].credits == 4
        assert data.course_terms[0].credits_passed == 4
        assert data.course_terms[1].credits_passed == 0
        assert "75.5" in html
        assert "Not entered yet" in html  # term 2 has no grades yet
        assert [group.total for group in data.attendance] == [6]

    def test_empty_states_say_who_fills_what(self, student_client):
        html = student_client.get(reverse("basicdata:mine")).content.decode()
        assert "student-affairs office" in html
        assert "curriculum office" in html
        assert "course consultant" in html
        assert "counselling office" in html
        assert "You have not asked for any corrections" in html

    def test_shows_only_own_records(
        self, student_client, school, make_member, klass, term1, term2, homeroom
    ):
        other, _membership = make_student(
            school, make_member, klass, number="S002", seat=2, national_id=OTHER_ID
        )
        fill_records(other, term1, term2, homeroom.user)
        html = student_client.get(reverse("basicdata:mine")).content.decode()
        assert "風紀股長" not in html
        assert "S002" not in html

    def test_a_student_without_a_linked_record_is_told_who_links_it(self, school, make_member):
        client = english(client_for(make_member(school, Role.STUDENT)))
        response = client.get(reverse("basicdata:mine"))
        assert response.status_code == 200
        assert response.context["student"] is None
        assert "registry office" in response.content.decode()

    def test_a_record_of_another_school_is_not_shown(self, alice, other_school):
        student, membership = alice
        elsewhere = account_services.membership_add(
            school=other_school,
            user=membership.user,
            role=Role.STUDENT,
            division=Division.DAY,
            by=None,
        )
        response = english(client_for(elsewhere)).get(reverse("basicdata:mine"))
        assert response.context["student"] is None
        assert student.name not in response.content.decode()

    def test_staff_may_not_open_it(self, as_role):
        assert as_role(Role.REGISTRY).get(reverse("basicdata:mine")).status_code == 403

    def test_query_count_does_not_grow_with_the_records(
        self, student_client, student, term1, term2, homeroom, django_assert_num_queries
    ):
        fill_records(student, term1, term2, homeroom.user, n_courses=1)
        url = reverse("basicdata:mine")
        student_client.get(url)
        with CaptureQueriesContext(connection) as few:
            student_client.get(url)
        assert len(few.captured_queries) <= 15
        fill_records(student, term1, term2, homeroom.user, n_courses=12)
        with django_assert_num_queries(len(few.captured_queries)):
            response = student_client.get(url)
        assert len(response.context["data"].course_terms[0].enrolments) == 12


# --- A student's record for staff -----------------------------------------------------


class TestStudentRecordAccess:
    @pytest.mark.parametrize(
        "role", [Role.REGISTRY, Role.CURRICULUM, Role.STUDENT_AFFAIRS, Role.COUNSELLOR]
    )
    def test_offices_read_it_masked(self, as_role, student, role):
        response = english(as_role(role)).get(reverse("basicdata:student", args=[student.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert "A12****789" in html
        assert NATIONAL_ID not in html
        assert ("Show national ID" in html) == (role == Role.REGISTRY)

    def test_homeroom_teacher_reads_own_class(self, homeroom, student):
        response = english(client_for(homeroom)).get(
            reverse("basicdata:student", args=[student.pk])
        )
        assert response.status_code == 200
        assert "Show national ID" not in response.content.decode()

    def test_homeroom_teacher_of_another_class_gets_404(self, as_role, student):
        response = as_role(Role.HOMEROOM).get(reverse("basicdata:student", args=[student.pk]))
        assert response.status_code == 404

    @pytest.mark.parametrize(
        "role", [Role.TEACHER, Role.CONSULTANT, Role.SCHOOL_ADMIN, Role.WORKING_GROUP, Role.STUDENT]
    )
    def test_other_roles_are_refused(self, as_role, student, role):
        response = as_role(role).get(reverse("basicdata:student", args=[student.pk]))
        assert response.status_code == 403

    def test_registry_of_another_school_gets_404(self, as_role, other_school, student):
        client = as_role(Role.REGISTRY, at=other_school)
        assert client.get(reverse("basicdata:student", args=[student.pk])).status_code == 404
        assert client.get(reverse("basicdata:student_edit", args=[student.pk])).status_code == 404
        assert client.post(reverse("basicdata:national_id", args=[student.pk])).status_code == 404

    def test_offices_of_the_continuing_division_see_their_own_students(
        self, school, make_member, year, student
    ):
        continuing = client_for(make_member(school, Role.REGISTRY, division=Division.CONTINUING))
        assert continuing.get(reverse("basicdata:student", args=[student.pk])).status_code == 404
        night = make_class(school, year, name="N101", division=Division.CONTINUING)
        evening, _m = make_student(school, make_member, night, number="N001", national_id="")
        assert continuing.get(reverse("basicdata:student", args=[evening.pk])).status_code == 200


class TestNationalIdReveal:
    def test_registry_sees_it_in_full_once_and_it_is_audited(
        self, registry, registry_client, student
    ):
        url = reverse("basicdata:national_id", args=[student.pk])
        response = registry_client.post(url)
        assert response.status_code == 200
        assert NATIONAL_ID in response.content.decode()
        assert "no-store" in response["Cache-Control"]
        entry = AuditLog.objects.get(action="national_id.view")
        assert entry.actor == registry.user
        assert entry.target_id == str(student.pk)
        assert entry.on_behalf_of is None
        assert NATIONAL_ID not in str(entry.changes) + entry.target_repr
        # The next page is masked again.
        again = registry_client.get(reverse("basicdata:student", args=[student.pk]))
        assert NATIONAL_ID not in again.content.decode()

    def test_only_by_post(self, registry_client, student):
        url = reverse("basicdata:national_id", args=[student.pk])
        assert registry_client.get(url).status_code == 405
        assert not AuditLog.objects.filter(action="national_id.view").exists()

    @pytest.mark.parametrize(
        "role", [Role.CURRICULUM, Role.STUDENT_AFFAIRS, Role.COUNSELLOR, Role.HOMEROOM]
    )
    def test_other_roles_may_not_unmask(self, as_role, student, role):
        response = as_role(role).post(reverse("basicdata:national_id", args=[student.pk]))
        assert response.status_code == 403
        assert NATIONAL_ID not in response.content.decode()
        assert not AuditLog.objects.filter(action="national_id.view").exists()

    def test_a_deputy_for_the_registry_is_audited_for_the_principal(
        self, school, make_member, student
    ):
        client, principal, deputy = deputy_client(school, make_member, Role.REGISTRY)
        response = client.post(reverse("basicdata:national_id", args=[student.pk]))
        assert NATIONAL_ID in response.content.decode()
        entry = AuditLog.objects.get(action="national_id.view")
        assert (entry.actor, entry.on_behalf_of) == (deputy.user, principal.user)


def edit_data(student, **changes) -> dict:
    data = {
        "name": student.name,
        "gender": student.gender,
        "birth_date": student.birth_date.isoformat() if student.birth_date else "",
        "school_class": student.school_class_id or "",
        "seat_number": student.seat_number or "",
        "department_code": student.department_code,
        "national_id": "",
    }
    data.update(changes)
    return data


class TestStudentEdit:
    def test_the_form_never_shows_the_full_national_id(self, registry_client, student):
        response = registry_client.get(reverse("basicdata:student_edit", args=[student.pk]))
        assert response.status_code == 200
        html = response.content.decode()
        assert NATIONAL_ID not in html
        assert "A12****789" in html

    def test_saves_and_audits_with_masked_ids(self, registry, registry_client, student, klass):
        other_class = make_class(student.school, klass.school_year, name="102")
        url = reverse("basicdata:student_edit", args=[student.pk])
        response = registry_client.post(
            url,
            edit_data(
                student,
                name="王小美",
                gender=Gender.MALE,
                birth_date="2009-06-01",
                school_class=other_class.pk,
                seat_number=7,
                department_code="101",
                national_id=" b120000008 ",
            ),
        )
        assert response.status_code == 302
        assert response["Location"] == reverse("basicdata:student", args=[student.pk])
        student.refresh_from_db()
        assert (student.name, student.gender, student.birth_date) == (
            "王小美",
            Gender.MALE,
            dt.date(2009, 6, 1),
        )
        assert (student.school_class, student.seat_number, student.department_code) == (
            other_class,
            7,
            "101",
        )
        assert student.national_id == OTHER_ID
        assert student.national_id_hash == keyed_hash(OTHER_ID)
        assert Student.objects.with_national_id(OTHER_ID).get() == student
        entry = AuditLog.objects.get(action="student.update")
        assert entry.actor == registry.user
        assert entry.changes["name"] == ["學生S001", "王小美"]
        assert entry.changes["national_id"] == ["A12****789", "B12****008"]
        assert NATIONAL_ID not in str(entry.changes)
        assert OTHER_ID not in str(entry.changes)

    def test_empty_national_id_keeps_the_one_on_record(self, registry_client, student):
        url = reverse("basicdata:student_edit", args=[student.pk])
        registry_client.post(url, edit_data(student, name="改名"))
        student.refresh_from_db()
        assert student.name == "改名"
        assert student.national_id == NATIONAL_ID
        assert "national_id" not in AuditLog.objects.get(action="student.update").changes

    @pytest.mark.parametrize(
        ("value", "words"),
        [("A123456788", "check digit"), ("A12345", "capital letter"), ("1234567890", "letter")],
    )
    def test_a_bad_national_id_is_refused_next_to_the_field(
        self, registry_client, student, value, words
    ):
        url = reverse("basicdata:student_edit", args=[student.pk])
        response = registry_client.post(url, edit_data(student, name="X", national_id=value))
        assert response.status_code == 200
        errors = response.context["form"].errors
        assert list(errors) == ["national_id"]
        assert words in errors["national_id"][0]
        student.refresh_from_db()
        assert (student.name, student.national_id) == ("學生S001", NATIONAL_ID)
        assert 'name="name" value="X"' in response.content.decode()  # keeps what was typed

    def test_a_national_id_used_by_another_student_of_the_school_is_refused(
        self, registry_client, school, make_member, klass, student
    ):
        make_student(school, make_member, klass, number="S002", seat=2, national_id=OTHER_ID)
        url = reverse("basicdata:student_edit", args=[student.pk])
        response = registry_client.post(url, edit_data(student, national_id=OTHER_ID.lower()))
        assert "already has this national ID" in response.context["form"].errors["national_id"][0]
        student.refresh_from_db()
        assert student.national_id == NATIONAL_ID

    def test_the_same_national_id_in_another_school_is_allowed(
        self, registry_client, other_school, make_member, current_roc_year, student
    ):
        other_year = SchoolYear.objects.get(school=other_school, roc_year=current_roc_year)
        make_student(
            other_school,
            make_member,
            make_class(other_school, other_year),
            number="S900",
            national_id=OTHER_ID,
        )
        url = reverse("basicdata:student_edit", args=[student.pk])
        assert (
            registry_client.post(url, edit_data(student, national_id=OTHER_ID)).status_code == 302
        )

    def test_a_class_of_another_school_cannot_be_chosen(
        self, registry_client, other_school, current_roc_year, student
    ):
        other_year = SchoolYear.objects.get(school=other_school, roc_year=current_roc_year)
        foreign = make_class(other_school, other_year, name="999")
        url = reverse("basicdata:student_edit", args=[student.pk])
        response = registry_client.post(url, edit_data(student, school_class=foreign.pk))
        assert "school_class" in response.context["form"].errors
        student.refresh_from_db()
        assert student.school_class != foreign

    def test_a_taken_seat_is_refused(self, registry_client, school, make_member, klass, student):
        make_student(school, make_member, klass, number="S002", seat=2, national_id="")
        url = reverse("basicdata:student_edit", args=[student.pk])
        response = registry_client.post(url, edit_data(student, seat_number=2))
        assert "S002" in response.context["form"].errors["seat_number"][0]

    def test_a_birth_date_in_the_future_is_refused(self, registry_client, student):
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        url = reverse("basicdata:student_edit", args=[student.pk])
        response = registry_client.post(url, edit_data(student, birth_date=tomorrow.isoformat()))
        assert "birth_date" in response.context["form"].errors

    @pytest.mark.parametrize("role", [Role.CURRICULUM, Role.HOMEROOM, Role.SCHOOL_ADMIN])
    def test_only_registry_edits(self, as_role, student, role):
        url = reverse("basicdata:student_edit", args=[student.pk])
        assert as_role(role).post(url, edit_data(student, name="X")).status_code == 403
        student.refresh_from_db()
        assert student.name == "學生S001"


class TestServiceDirectly:
    def test_set_national_id_normalizes_and_hashes(self, student):
        set_national_id(student, " b120000008 ")
        assert student.national_id == OTHER_ID
        assert student.national_id_hash == keyed_hash(OTHER_ID)
        set_national_id(student, "")
        assert (student.national_id, student.national_id_hash) == ("", "")

    def test_student_update_rejects_a_blank_name(self, student):
        with pytest.raises(ValidationError) as exc:
            student_update(
                student=student,
                name="  ",
                gender="",
                birth_date=None,
                school_class=None,
                seat_number=None,
                department_code="",
                by=None,
            )
        assert "name" in exc.value.message_dict
        assert not AuditLog.objects.filter(action="student.update").exists()
