"""The offices' records: services (rules and audit) and pages (scope, forms, lists, exports).

Actors follow the house habit: the owner of a page, a member of the same school without
the right, and a member of another school.
"""

import datetime as dt
import io

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts import acting
from accounts import services as account_services
from accounts.models import Division, Role
from portfolio.models import AuditLog, Term
from records.models import (
    AttendanceSummary,
    CadrePost,
    CareerExploration,
    Club,
    ClubMembership,
    Consultation,
    EnrolmentChange,
    Student,
    StudentStatus,
)
from records.services import staff as services
from records.services import students as student_services
from tests.builders.people import client_for, english
from tests.builders.records import make_class, make_students

TZ = timezone.get_fixed_timezone(8 * 60)


# --- Helpers ----------------------------------------------------------------------------------


def xlsx_rows(response) -> list[tuple]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(row) for row in book.worksheets[0].iter_rows(values_only=True)]


@pytest.fixture
def term1(school, current_roc_year) -> Term:
    return Term.objects.select_related("school_year").get(
        school=school, school_year__roc_year=current_roc_year, number=1
    )


@pytest.fixture
def term2(school, current_roc_year) -> Term:
    return Term.objects.select_related("school_year").get(
        school=school, school_year__roc_year=current_roc_year, number=2
    )


@pytest.fixture
def year(term1):
    return term1.school_year


@pytest.fixture
def class101(school, year):
    return make_class(school, year, "101")


@pytest.fixture
def class102(school, year):
    return make_class(school, year, "102")


@pytest.fixture
def alice_s(school, class101):
    return student_services.student_create(
        school=school,
        student_number="1150001",
        name="王小明",
        school_class=class101,
        seat_number=1,
        user=None,
        by=None,
    )


@pytest.fixture
def bob_s(school, class102):
    return student_services.student_create(
        school=school,
        student_number="1150002",
        name="林小華",
        school_class=class102,
        seat_number=1,
        user=None,
        by=None,
    )


@pytest.fixture
def stranger_s(other_school, current_roc_year):
    year = other_school.years.get(roc_year=current_roc_year)
    school_class = make_class(other_school, year, "101")
    return student_services.student_create(
        school=other_school,
        student_number="1150001",
        name="外校生",
        school_class=school_class,
        seat_number=1,
        user=None,
        by=None,
    )


@pytest.fixture
def affairs(school, make_member):
    return make_member(school, Role.STUDENT_AFFAIRS, username="affairs")


@pytest.fixture
def affairs_client(affairs):
    return english(client_for(affairs))


def cadre(student, term, **extra):
    data = {
        "school": student.school,
        "student": student,
        "term": term,
        "unit": "101",
        "title": "班長",
        "level": "2",
        "starts_on": term.starts_on,
        "ends_on": term.ends_on,
        "by": None,
    }
    data.update(extra)
    return services.cadre_post_create(**data)


# --- Cadre posts --------------------------------------------------------------------------------


class TestCadreService:
    def test_create_audits(self, alice_s, term1):
        post = cadre(alice_s, term1)
        entry = AuditLog.objects.get(action="cadre_post.create")
        assert entry.target_id == str(post.pk)
        assert entry.changes["title"] == "班長"

    def test_ends_before_start_is_refused(self, alice_s, term1):
        with pytest.raises(ValidationError) as exc:
            cadre(
                alice_s,
                term1,
                starts_on=term1.starts_on + dt.timedelta(days=10),
                ends_on=term1.starts_on,
            )
        assert "ends_on" in exc.value.message_dict

    def test_dates_outside_the_school_year_are_refused(self, alice_s, term1):
        with pytest.raises(ValidationError) as exc:
            cadre(alice_s, term1, starts_on=term1.starts_on - dt.timedelta(days=60))
        assert "starts_on" in exc.value.message_dict

    def test_post_outside_its_term_is_refused(self, alice_s, term1, term2):
        with pytest.raises(ValidationError) as exc:
            cadre(alice_s, term1, starts_on=term2.starts_on, ends_on=term2.ends_on)
        assert "starts_on" in exc.value.message_dict

    def test_a_year_long_post_may_be_recorded_in_each_term(self, alice_s, term1, term2):
        cadre(alice_s, term1, ends_on=term2.ends_on)
        cadre(alice_s, term2, starts_on=term1.starts_on, ends_on=term2.ends_on)
        assert CadrePost.objects.count() == 2

    def test_blank_title_and_unknown_level_are_refused(self, alice_s, term1):
        with pytest.raises(ValidationError) as exc:
            cadre(alice_s, term1, title="  ", level="9")
        assert set(exc.value.message_dict) == {"title", "level"}

    def test_a_student_of_another_school_is_refused(self, school, stranger_s, term1):
        with pytest.raises(ValidationError):
            services.cadre_post_create(
                school=school,
                student=stranger_s,
                term=term1,
                unit="x",
                title="x",
                level="1",
                starts_on=term1.starts_on,
                ends_on=term1.ends_on,
                by=None,
            )

    def test_update_audits_the_difference(self, alice_s, term1):
        post = cadre(alice_s, term1)
        services.cadre_post_update(
            post=post,
            student=alice_s,
            term=term1,
            unit="101",
            title="副班長",
            level="2",
            starts_on=term1.starts_on,
            ends_on=term1.ends_on,
            by=None,
        )
        entry = AuditLog.objects.get(action="cadre_post.update")
        assert entry.changes == {"title": ["班長", "副班長"]}


class TestCadrePages:
    def test_only_student_affairs(self, as_role, school, make_member):
        url = reverse("staffrecords:cadre_list")
        assert as_role(Role.REGISTRY).get(url).status_code == 403
        assert as_role(Role.STUDENT_AFFAIRS).get(url).status_code == 200

    def test_another_schools_office_cannot_reach_a_post(
        self, alice_s, term1, other_school, make_member
    ):
        post = cadre(alice_s, term1)
        outsider = client_for(make_member(other_school, Role.STUDENT_AFFAIRS))
        assert outsider.get(reverse("staffrecords:cadre_edit", args=[post.pk])).status_code == 404
        response = outsider.get(reverse("staffrecords:cadre_list"))
        assert list(response.context["page"].object_list) == []

    def test_add_by_student_number(self, affairs_client, alice_s, term1):
        response = affairs_client.post(
            reverse("staffrecords:cadre_add"),
            {
                "student": "1150001",
                "term": term1.pk,
                "unit": "101",
                "title": "風紀股長",
                "level": "2",
                "starts_on": term1.starts_on.isoformat(),
                "ends_on": term1.ends_on.isoformat(),
            },
        )
        assert response.status_code == 302
        post = CadrePost.objects.get()
        assert (post.student, post.title) == (alice_s, "風紀股長")
        assert AuditLog.objects.filter(action="cadre_post.create", actor__username="affairs")

    def test_add_by_picked_suggestion_or_name(self, affairs_client, alice_s, term1):
        base = {
            "term": term1.pk,
            "unit": "101",
            "title": "班長",
            "level": "2",
            "starts_on": term1.starts_on.isoformat(),
            "ends_on": term1.ends_on.isoformat(),
        }
        url = reverse("staffrecords:cadre_add")
        affairs_client.post(url, {**base, "student": "1150001 王小明 (101)"})
        affairs_client.post(url, {**base, "student": "王小明"})
        assert CadrePost.objects.filter(student=alice_s).count() == 2

    def test_ambiguous_name_and_other_school_are_errors_on_the_field(
        self, affairs_client, school, alice_s, class102, stranger_s, term1
    ):
        student_services.student_create(
            school=school,
            student_number="1150099",
            name="王小明",
            school_class=class102,
            seat_number=9,
            user=None,
            by=None,
        )
        url = reverse("staffrecords:cadre_add")
        base = {
            "term": term1.pk,
            "unit": "101",
            "title": "班長",
            "level": "2",
            "starts_on": term1.starts_on.isoformat(),
            "ends_on": term1.ends_on.isoformat(),
        }
        response = affairs_client.post(url, {**base, "student": "王小明"})
        assert response.status_code == 200
        errors = response.context["form"].errors["student"]
        assert "1150001" in errors[0] and "1150099" in errors[0]
        # The other school's student shares the number 1150001 with ours: ours is picked.
        # One that exists only there is not found.
        response = affairs_client.post(url, {**base, "student": "外校生"})
        assert "student" in response.context["form"].errors
        assert CadrePost.objects.count() == 0

    def test_service_errors_show_next_to_the_fields_and_keep_the_input(
        self, affairs_client, alice_s, term1
    ):
        response = affairs_client.post(
            reverse("staffrecords:cadre_add"),
            {
                "student": "1150001",
                "term": term1.pk,
                "unit": "101",
                "title": "班長",
                "level": "2",
                "starts_on": term1.ends_on.isoformat(),
                "ends_on": term1.starts_on.isoformat(),
            },
        )
        assert response.status_code == 200
        assert "ends_on" in response.context["form"].errors
        assert 'value="班長"' in response.content.decode()

    def test_save_and_add_another_keeps_term_and_level(self, affairs_client, alice_s, term1):
        response = affairs_client.post(
            reverse("staffrecords:cadre_add"),
            {
                "student": "1150001",
                "term": term1.pk,
                "unit": "熱音社",
                "title": "社長",
                "level": "3",
                "starts_on": term1.starts_on.isoformat(),
                "ends_on": term1.ends_on.isoformat(),
                "another": "1",
            },
        )
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("staffrecords:cadre_add") + "?")
        follow = affairs_client.get(response["Location"])
        form = follow.context["form"]
        assert form.initial["level"] == "3"
        assert form.initial["term"] == term1

    def test_edit_and_delete(self, affairs_client, alice_s, term1):
        post = cadre(alice_s, term1)
        url = reverse("staffrecords:cadre_edit", args=[post.pk])
        page = affairs_client.get(url)
        assert "1150001 王小明" in page.content.decode()
        response = affairs_client.post(
            url,
            {
                "student": "1150001",
                "term": term1.pk,
                "unit": "101",
                "title": "學藝股長",
                "level": "2",
                "starts_on": term1.starts_on.isoformat(),
                "ends_on": term1.ends_on.isoformat(),
            },
        )
        assert response.status_code == 302
        post.refresh_from_db()
        assert post.title == "學藝股長"
        affairs_client.post(reverse("staffrecords:cadre_delete", args=[post.pk]))
        assert not CadrePost.objects.exists()
        assert AuditLog.objects.filter(action="cadre_post.delete").exists()

    def test_list_filters_exports_and_keeps_queries_flat(
        self, affairs_client, school, class101, term1, term2, django_assert_num_queries
    ):
        students = make_students(school, class101, 60)
        for student in students[:3]:
            cadre(student, term1)
        url = reverse("staffrecords:cadre_list")
        response = affairs_client.get(url)
        few = len(response.context["page"].object_list)
        with CaptureQueriesContext(connection) as first:
            affairs_client.get(url)
        for student in students[3:]:
            cadre(student, term1, level="1", unit="學生會", title="幹事")
        cadre(students[0], term2, starts_on=term2.starts_on, ends_on=term2.ends_on)
        with django_assert_num_queries(len(first.captured_queries)):
            response = affairs_client.get(url)
        assert few == 3
        assert len(response.context["page"].object_list) == 50
        assert affairs_client.get(url, {"level": "1"}).context["page"].paginator.count == 57
        assert affairs_client.get(url, {"term": term2.pk}).context["page"].paginator.count == 1
        assert affairs_client.get(url, {"q": "S00002"}).context["page"].paginator.count == 1
        rows = xlsx_rows(affairs_client.get(url, {"term": term1.pk, "export": "xlsx"}))
        assert rows[0][0] == "Student number"
        assert len(rows) == 1 + 60
        assert rows[1][:2] == ("S00001", "學生S1")


# --- Clubs -----------------------------------------------------------------------------------


class TestClubs:
    def test_name_unique_in_a_year(self, school, year):
        services.club_create(school=school, school_year=year, name="吉他社", by=None)
        with pytest.raises(ValidationError) as exc:
            services.club_create(school=school, school_year=year, name=" 吉他社 ", by=None)
        assert "name" in exc.value.message_dict

    def test_members_per_term_and_copy(self, school, year, alice_s, bob_s, term1, term2):
        club = services.club_create(school=school, school_year=year, name="吉他社", by=None)
        services.club_member_add(club=club, student=alice_s, term=term1, by=None)
        services.club_member_add(club=club, student=bob_s, term=term1, by=None)
        with pytest.raises(ValidationError) as exc:
            services.club_member_add(club=club, student=alice_s, term=term1, by=None)
        assert "student" in exc.value.message_dict
        services.club_member_add(club=club, student=bob_s, term=term2, by=None)
        added = services.club_members_copy(club=club, from_term=term1, to_term=term2, by=None)
        assert added == 1
        assert ClubMembership.objects.filter(club=club, term=term2).count() == 2
        assert services.club_members_copy(club=club, from_term=term1, to_term=term2, by=None) == 0

    def test_term_of_another_year_is_refused(self, school, year, alice_s, current_roc_year):
        from portfolio import services as portfolio_services

        next_year = portfolio_services.school_year_create(
            school=school,
            roc_year=current_roc_year + 1,
            terms=[
                {
                    "number": 1,
                    "starts_on": dt.date(current_roc_year + 1912, 8, 30),
                    "closing_day": dt.date(current_roc_year + 1913, 1, 20),
                    "ends_on": dt.date(current_roc_year + 1913, 1, 31),
                }
            ],
            by=None,
        )
        club = services.club_create(school=school, school_year=year, name="吉他社", by=None)
        with pytest.raises(ValidationError) as exc:
            services.club_member_add(
                club=club, student=alice_s, term=next_year.terms.get(), by=None
            )
        assert "term" in exc.value.message_dict

    def test_pages(self, affairs_client, school, year, alice_s, term1, term2):
        response = affairs_client.post(
            reverse("staffrecords:club_add"), {"school_year": year.pk, "name": "熱舞社"}
        )
        club = Club.objects.get()
        assert response["Location"] == reverse("staffrecords:club_detail", args=[club.pk])
        detail = reverse("staffrecords:club_detail", args=[club.pk])
        response = affairs_client.post(detail, {"student": "1150001", "term": term1.pk})
        assert response.status_code == 302
        membership = ClubMembership.objects.get()
        page = affairs_client.get(detail, {"term": term1.pk})
        assert [m.student for m in page.context["page"].object_list] == [alice_s]
        assert "王小明" in page.content.decode()
        listing = affairs_client.get(reverse("staffrecords:club_list"))
        assert listing.context["page"].object_list[0].term1 == 1
        affairs_client.post(
            reverse("staffrecords:club_copy", args=[club.pk]),
            {"from_term": term1.pk, "to_term": term2.pk},
        )
        assert ClubMembership.objects.filter(term=term2).count() == 1
        affairs_client.post(reverse("staffrecords:club_member_delete", args=[membership.pk]))
        assert ClubMembership.objects.count() == 1
        rows = xlsx_rows(affairs_client.get(detail, {"term": term2.pk, "export": "xlsx"}))
        assert rows[1][0] == "熱舞社"
        affairs_client.post(reverse("staffrecords:club_edit", args=[club.pk]), {"name": "街舞社"})
        club.refresh_from_db()
        assert club.name == "街舞社"
        affairs_client.post(reverse("staffrecords:club_delete", args=[club.pk]))
        assert not Club.objects.exists()
        assert AuditLog.objects.get(action="club.delete").changes["memberships"] == 1

    def test_club_list_queries_stay_flat(
        self, affairs_client, school, year, class101, term1, django_assert_num_queries
    ):
        students = make_students(school, class101, 4)
        url = reverse("staffrecords:club_list")
        services.club_create(school=school, school_year=year, name="社0", by=None)
        with CaptureQueriesContext(connection) as first:
            affairs_client.get(url)
        for n in range(1, 12):
            club = services.club_create(school=school, school_year=year, name=f"社{n}", by=None)
            for student in students[: n % 4]:
                services.club_member_add(club=club, student=student, term=term1, by=None)
        with django_assert_num_queries(len(first.captured_queries)):
            response = affairs_client.get(url, {"sort": "members"})
        assert response.context["page"].object_list[0].members == 3
        rows = xlsx_rows(affairs_client.get(url, {"export": "xlsx"}))
        assert len(rows) == 13

    def test_member_list_queries_stay_flat(
        self, affairs_client, school, year, class101, term1, django_assert_num_queries
    ):
        club = services.club_create(school=school, school_year=year, name="吉他社", by=None)
        students = make_students(school, class101, 40)
        url = reverse("staffrecords:club_detail", args=[club.pk])
        services.club_member_add(club=club, student=students[0], term=term1, by=None)
        with CaptureQueriesContext(connection) as first:
            affairs_client.get(url)
        for student in students[1:]:
            services.club_member_add(club=club, student=student, term=term1, by=None)
        with django_assert_num_queries(len(first.captured_queries)):
            response = affairs_client.get(url)
        assert response.context["page"].paginator.count == 40


def test_picker_suggests_only_a_small_scope(monkeypatch, school, class101):
    from records.forms import pickers, registry

    make_students(school, class101, 3)
    form = registry.StudentFindForm(students=Student.objects.filter(school=school))
    assert len(form.fields["student"].widget.suggestions) == 3
    assert "<datalist" in str(form["student"])
    monkeypatch.setattr(pickers, "PICKER_SUGGESTIONS_MAX", 2)
    form = registry.StudentFindForm(students=Student.objects.filter(school=school))
    assert form.fields["student"].widget.suggestions == []
    assert "<datalist" not in str(form["student"])


# --- Attendance --------------------------------------------------------------------------------


class TestAttendance:
    def test_set_a_whole_term(self, school, alice_s, term1):
        result = services.attendance_set(
            school=school, student=alice_s, term=term1, periods={"02": 3, "03": 5}, by=None
        )
        assert result == {"02": 3, "03": 5}
        result = services.attendance_set(
            school=school,
            student=alice_s,
            term=term1,
            periods={"02": 0, "03": 6, "12": 1},
            by=None,
        )
        assert result == {"03": 6, "12": 1}
        assert set(AttendanceSummary.objects.values_list("kind", "periods")) == {
            ("03", 6),
            ("12", 1),
        }
        audits = AuditLog.objects.filter(action="attendance.set").order_by("id")
        assert audits.last().changes["periods"] == {"02": [3, 0], "03": [5, 6], "12": [0, 1]}

    def test_nothing_changed_writes_nothing(self, school, alice_s, term1):
        services.attendance_set(
            school=school, student=alice_s, term=term1, periods={"02": 3}, by=None
        )
        services.attendance_set(
            school=school, student=alice_s, term=term1, periods={"02": 3}, by=None
        )
        assert AuditLog.objects.filter(action="attendance.set").count() == 1

    def test_too_many_periods_is_an_error_on_that_kind(self, school, alice_s, term1):
        with pytest.raises(ValidationError) as exc:
            services.attendance_set(
                school=school, student=alice_s, term=term1, periods={"03": 1000}, by=None
            )
        assert list(exc.value.message_dict) == ["03"]

    def test_edit_page_and_next_student(self, affairs_client, school, class101, term1):
        first, second = make_students(school, class101, 2)
        url = reverse("staffrecords:attendance_edit", args=[term1.pk, first.pk])
        page = affairs_client.get(url)
        assert page.status_code == 200
        assert 'name="12"' in page.content.decode()
        response = affairs_client.post(url, {"01": "2", "03": "4", "next": "1"})
        assert response["Location"] == reverse(
            "staffrecords:attendance_edit", args=[term1.pk, second.pk]
        )
        response = affairs_client.post(
            reverse("staffrecords:attendance_edit", args=[term1.pk, second.pk]), {"12": "1"}
        )
        assert response["Location"].startswith(reverse("staffrecords:attendance_list"))
        assert AttendanceSummary.objects.filter(student=first).count() == 2
        response = affairs_client.post(url, {"03": "-1"})
        assert response.status_code == 200
        assert "03" in response.context["form"].errors

    def test_list_shows_every_student_of_the_term_flat_and_exports(
        self, affairs_client, school, class101, term1, term2, django_assert_num_queries
    ):
        students = make_students(school, class101, 55)
        services.attendance_set(
            school=school, student=students[0], term=term1, periods={"03": 2}, by=None
        )
        url = reverse("staffrecords:attendance_list")
        with CaptureQueriesContext(connection) as first:
            affairs_client.get(url, {"term": term1.pk})
        for student in students[1:]:
            services.attendance_set(
                school=school, student=student, term=term1, periods={"02": 1, "12": 1}, by=None
            )
        services.attendance_set(
            school=school, student=students[1], term=term2, periods={"01": 9}, by=None
        )
        with django_assert_num_queries(len(first.captured_queries)):
            response = affairs_client.get(url, {"term": term1.pk})
        assert len(response.context["page"].object_list) == 50
        top = affairs_client.get(url, {"term": term2.pk, "sort": "most"})
        assert top.context["page"].object_list[0] == students[1]
        assert top.context["page"].object_list[0].total == 9
        assert (
            affairs_client.get(url, {"term": term2.pk, "recorded": "yes"})
            .context["page"]
            .paginator.count
            == 1
        )
        rows = xlsx_rows(affairs_client.get(url, {"term": term1.pk, "export": "xlsx"}))
        assert len(rows[0]) == 4 + 1 + 12 + 1
        assert rows[1][-1] == 2 and rows[1][4 + 1 + 2] == 2  # kind 03, then the total
        assert len(rows) == 56


# --- Consultants and consultation records ----------------------------------------------------


@pytest.fixture
def carol(school, make_member, class101):
    """A consultant of class 101."""
    membership = make_member(school, Role.CONSULTANT, username="carol")
    services.school_class_consultant_add(school_class=class101, user=membership.user, by=None)
    return membership


@pytest.fixture
def dave(school, make_member, class102):
    """A consultant of class 102."""
    membership = make_member(school, Role.CONSULTANT, username="dave")
    services.school_class_consultant_add(school_class=class102, user=membership.user, by=None)
    return membership


def consult(school, student, consultant, **extra):
    data = {
        "school": school,
        "student": student,
        "consultant": consultant,
        "held_at": timezone.now() - dt.timedelta(days=1),
        "place": "諮詢室",
        "content": "選修課程",
        "advice": "多元選修",
        "by": None,
    }
    data.update(extra)
    return services.consultation_create(**data)


class TestConsultantsOfAClass:
    def test_only_a_consultant_may_consult_a_class(self, school, make_member, class101):
        teacher = make_member(school, Role.TEACHER)
        with pytest.raises(ValidationError):
            services.school_class_consultant_add(school_class=class101, user=teacher.user, by=None)

    def test_adding_twice_changes_nothing(self, carol, class101):
        assert not services.school_class_consultant_add(
            school_class=class101, user=carol.user, by=None
        )
        assert AuditLog.objects.filter(action="class.consultant_add").count() == 1
        assert services.school_class_consultant_remove(
            school_class=class101, user=carol.user, by=None
        )


class TestConsultationService:
    def test_only_students_of_classes_one_consults(self, school, carol, bob_s):
        with pytest.raises(ValidationError) as exc:
            consult(school, bob_s, carol.user)
        assert "student" in exc.value.message_dict

    def test_not_in_the_future(self, school, carol, alice_s):
        with pytest.raises(ValidationError) as exc:
            consult(school, alice_s, carol.user, held_at=timezone.now() + dt.timedelta(hours=1))
        assert "held_at" in exc.value.message_dict

    def test_naive_times_are_a_bug(self, school, carol, alice_s):
        with pytest.raises(ValueError):
            consult(school, alice_s, carol.user, held_at=dt.datetime(2025, 10, 1, 10))  # noqa: DTZ001

    def test_update_keeps_texts_out_of_the_audit(self, school, carol, alice_s):
        record = consult(school, alice_s, carol.user)
        services.consultation_update(
            record=record,
            student=alice_s,
            held_at=record.held_at,
            place="圖書館",
            content="改談升學",
            advice="",
            by=None,
        )
        changes = AuditLog.objects.get(action="consultation.update").changes
        assert changes["content"] == ["…", "…"]
        assert changes["place"] == ["諮詢室", "圖書館"]


class TestConsultationPages:
    def test_students_page_lists_only_my_classes(self, carol, dave, alice_s, bob_s, school):
        consult(school, alice_s, carol.user)
        response = client_for(carol).get(reverse("staffrecords:consultation_students"))
        rows = list(response.context["page"].object_list)
        assert rows == [alice_s]
        assert rows[0].records == 1

    def test_records_of_others_are_invisible(self, school, carol, dave, alice_s, class101):
        record = consult(school, alice_s, carol.user)
        # Dave also consults class 101 now: the student is his too, the record is not.
        services.school_class_consultant_add(school_class=class101, user=dave.user, by=None)
        dave_client = client_for(dave)
        listing = dave_client.get(reverse("staffrecords:consultation_list"))
        assert list(listing.context["page"].object_list) == []
        edit = reverse("staffrecords:consultation_edit", args=[record.pk])
        assert dave_client.get(edit).status_code == 404
        assert (
            dave_client.post(
                reverse("staffrecords:consultation_delete", args=[record.pk])
            ).status_code
            == 404
        )
        assert client_for(carol).get(edit).status_code == 200

    def test_a_student_outside_my_classes_cannot_be_picked(self, carol, bob_s):
        response = client_for(carol).post(
            reverse("staffrecords:consultation_add"),
            {
                "student": bob_s.student_number,
                "held_at": "2025-10-01T10:00",
                "place": "諮詢室",
                "content": "x",
            },
        )
        assert response.status_code == 200
        assert "student" in response.context["form"].errors
        assert not Consultation.objects.exists()

    def test_a_student_outside_my_classes_is_not_suggested(self, carol, alice_s, bob_s):
        page = client_for(carol).get(reverse("staffrecords:consultation_add"))
        html = page.content.decode()
        assert "1150001 王小明 (101)" in html
        assert "1150002" not in html

    @time_machine.travel(dt.datetime(2026, 10, 2, 9, 0, tzinfo=TZ), tick=False)
    def test_add_edit_delete_in_taiwan_time(self, school, make_member, current_roc_year):
        year = school.years.get(roc_year=current_roc_year)
        school_class = make_class(school, year, "101")
        student = student_services.student_create(
            school=school,
            student_number="1150001",
            name="王小明",
            school_class=school_class,
            seat_number=1,
            user=None,
            by=None,
        )
        carol = make_member(school, Role.CONSULTANT, username="carol")
        services.school_class_consultant_add(school_class=school_class, user=carol.user, by=None)
        client = client_for(carol)
        response = client.post(
            reverse("staffrecords:consultation_add"),
            {
                "student": "1150001",
                "held_at": "2026-10-01T15:30",
                "place": "諮詢室",
                "content": "討論選課",
                "advice": "加深加廣",
            },
        )
        assert response.status_code == 302
        record = Consultation.objects.get()
        assert record.consultant == carol.user
        assert record.held_at == dt.datetime(2026, 10, 1, 7, 30, tzinfo=dt.UTC)
        assert record.student == student
        listing = client.get(reverse("staffrecords:consultation_list"))
        assert "2026-10-01 15:30" in listing.content.decode()
        response = client.post(
            reverse("staffrecords:consultation_add"),
            {"student": "1150001", "held_at": "2026-10-03T10:00", "place": "x", "content": "x"},
        )
        assert "held_at" in response.context["form"].errors
        client.post(reverse("staffrecords:consultation_delete", args=[record.pk]))
        assert not Consultation.objects.exists()

    def test_other_roles_and_schools(self, school, carol, alice_s, other_school, make_member):
        record = consult(school, alice_s, carol.user)
        for role in (Role.COUNSELLOR, Role.HOMEROOM, Role.SCHOOL_ADMIN):
            client = client_for(make_member(school, role))
            assert client.get(reverse("staffrecords:consultation_list")).status_code == 403
        outsider = client_for(make_member(other_school, Role.CONSULTANT))
        assert (
            outsider.get(reverse("staffrecords:consultation_edit", args=[record.pk])).status_code
            == 404
        )

    def test_a_deputy_writes_for_the_principal(self, school, carol, alice_s, make_member):
        # Consultants have no deputies in the product today; the scope would still be
        # the principal's if one acted for them.
        helper = make_member(school, Role.TEACHER, username="helper")
        deputy = account_services.deputy_create(
            school=school,
            role=Role.CONSULTANT,
            division=Division.DAY,
            principal=carol.user,
            deputy=helper.user,
            order=1,
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + dt.timedelta(days=3),
            by=None,
        )
        client = Client()
        client.force_login(helper.user)
        session = client.session
        session[acting.SESSION_KEY] = {"membership": carol.pk, "deputy": deputy.pk}
        session.save()
        response = client.post(
            reverse("staffrecords:consultation_add"),
            {
                "student": "1150001",
                "held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "place": "諮詢室",
                "content": "代理紀錄",
            },
        )
        assert response.status_code == 302
        record = Consultation.objects.get()
        assert record.consultant == carol.user
        entry = AuditLog.objects.get(action="consultation.create")
        assert (entry.actor, entry.on_behalf_of) == (helper.user, carol.user)

    def test_lists_keep_queries_flat(self, school, carol, class101, django_assert_num_queries):
        students = make_students(school, class101, 30)
        client = client_for(carol)
        consult(school, students[0], carol.user)
        urls = [
            reverse("staffrecords:consultation_list"),
            reverse("staffrecords:consultation_students"),
        ]
        counts = []
        for url in urls:
            with CaptureQueriesContext(connection) as first:
                client.get(url)
            counts.append(len(first.captured_queries))
        for student in students:
            consult(school, student, carol.user)
        for url, count in zip(urls, counts, strict=True):
            with django_assert_num_queries(count):
                client.get(url)
        rows = xlsx_rows(client.get(urls[0], {"export": "xlsx"}))
        assert len(rows) == 32
        rows = xlsx_rows(client.get(urls[1], {"export": "xlsx", "sort": "fewest"}))
        assert rows[1][4] == 1


# --- Career exploration ----------------------------------------------------------------------


@pytest.fixture
def counsellor(school, make_member):
    return make_member(school, Role.COUNSELLOR, username="connie")


class TestCareer:
    def test_service_rules(self, school, counsellor, alice_s):
        base = {
            "school": school,
            "student": alice_s,
            "counsellor": counsellor.user,
            "held_on": timezone.localdate(),
            "content": "探索",
            "by": None,
        }
        with pytest.raises(ValidationError) as exc:
            services.career_record_create(clusters=[], **base)
        assert "clusters" in exc.value.message_dict
        with pytest.raises(ValidationError):
            services.career_record_create(clusters=["19"], **base)
        with pytest.raises(ValidationError) as exc:
            services.career_record_create(
                clusters=["01"], **{**base, "held_on": timezone.localdate() + dt.timedelta(1)}
            )
        assert "held_on" in exc.value.message_dict
        record = services.career_record_create(clusters=["03", "01", "03"], **base)
        assert record.clusters == ["01", "03"]

    def test_pages(self, school, counsellor, alice_s, bob_s, django_assert_num_queries):
        client = english(client_for(counsellor))
        response = client.post(
            reverse("staffrecords:career_add"),
            {
                "student": "1150002",
                "held_on": timezone.localdate().isoformat(),
                "clusters": ["01", "09"],
                "content": "對資訊與藝術有興趣",
            },
        )
        assert response.status_code == 302
        record = CareerExploration.objects.get()
        assert (record.student, record.counsellor, record.clusters) == (
            bob_s,
            counsellor.user,
            ["01", "09"],
        )
        url = reverse("staffrecords:career_list")
        page = client.get(url)
        assert "Information" in page.content.decode()
        assert client.get(url, {"cluster": "09"}).context["page"].paginator.count == 1
        assert client.get(url, {"cluster": "10"}).context["page"].paginator.count == 0
        edit = client.get(reverse("staffrecords:career_edit", args=[record.pk]))
        assert edit.context["form"]["clusters"].value() == ["01", "09"]
        assert edit.content.decode().count("checked") == 2
        with CaptureQueriesContext(connection) as first:
            client.get(url)
        for n in range(20):
            services.career_record_create(
                school=school,
                student=alice_s if n % 2 else bob_s,
                counsellor=make_counsellor(school, n),
                held_on=timezone.localdate(),
                clusters=["02"],
                content="x",
                by=None,
            )
        with django_assert_num_queries(len(first.captured_queries)):
            client.get(url)
        rows = xlsx_rows(client.get(url, {"export": "xlsx", "sort": "oldest"}))
        assert rows[1][5] == "01,09"
        client.post(reverse("staffrecords:career_delete", args=[record.pk]))
        assert not CareerExploration.objects.filter(pk=record.pk).exists()

    def test_every_counsellor_of_the_school_may_edit(
        self, school, counsellor, alice_s, make_member
    ):
        record = services.career_record_create(
            school=school,
            student=alice_s,
            counsellor=counsellor.user,
            held_on=timezone.localdate(),
            clusters=["01"],
            content="x",
            by=None,
        )
        colleague = client_for(make_member(school, Role.COUNSELLOR))
        assert (
            colleague.get(reverse("staffrecords:career_edit", args=[record.pk])).status_code == 200
        )
        consultant = client_for(make_member(school, Role.CONSULTANT))
        assert (
            consultant.get(reverse("staffrecords:career_edit", args=[record.pk])).status_code == 403
        )


def make_counsellor(school, n):
    return account_services.member_create(
        school=school,
        username=f"counsellor-{n}",
        name="",
        email="",
        password="a-Strong-test-password-1",
        role=Role.COUNSELLOR,
        division=Division.DAY,
        by=None,
    ).user


# --- Enrolment changes ----------------------------------------------------------------------


def change(student, kind, day, **extra):
    return services.enrolment_change_create(
        school=student.school, student=student, kind=kind, effective_on=day, by=None, **extra
    )


class TestEnrolmentStatus:
    @pytest.mark.parametrize(
        ("kind", "status"),
        [
            ("transfer_in", StudentStatus.ENROLLED),
            ("transfer_out", StudentStatus.TRANSFERRED_OUT),
            ("repeat", StudentStatus.ENROLLED),
            ("suspend", StudentStatus.SUSPENDED),
            ("resume", StudentStatus.ENROLLED),
            ("borrowed", StudentStatus.ENROLLED),
            ("graduate", StudentStatus.GRADUATED),
        ],
    )
    def test_each_kind_sets_its_status(self, alice_s, kind, status):
        if kind in {"repeat", "borrowed", "transfer_in", "resume"}:
            # Start from another status so that the change visibly moves it.
            Student.objects.filter(pk=alice_s.pk).update(status=StudentStatus.SUSPENDED)
        change(alice_s, kind, dt.date(2025, 9, 1))
        alice_s.refresh_from_db()
        assert alice_s.status == status

    def test_the_latest_by_date_wins_whatever_the_order_of_recording(self, alice_s):
        change(alice_s, "suspend", dt.date(2025, 10, 1))
        change(alice_s, "resume", dt.date(2025, 12, 1))
        change(alice_s, "transfer_in", dt.date(2025, 8, 30))
        alice_s.refresh_from_db()
        assert alice_s.status == StudentStatus.ENROLLED
        audits = AuditLog.objects.filter(action="student.status").order_by("id")
        assert [a.changes["status"] for a in audits] == [
            ["enrolled", "suspended"],
            ["suspended", "enrolled"],
        ]

    def test_changes_must_follow_sensibly(self, alice_s):
        change(alice_s, "transfer_in", dt.date(2025, 8, 30))
        with pytest.raises(ValidationError) as exc:
            change(alice_s, "resume", dt.date(2025, 9, 10))
        assert "kind" in exc.value.message_dict
        change(alice_s, "transfer_out", dt.date(2025, 9, 10))
        with pytest.raises(ValidationError):
            change(alice_s, "suspend", dt.date(2025, 9, 20))
        change(alice_s, "transfer_in", dt.date(2026, 2, 1))
        change(alice_s, "graduate", dt.date(2026, 6, 30))
        with pytest.raises(ValidationError):
            change(alice_s, "repeat", dt.date(2026, 8, 1))
        alice_s.refresh_from_db()
        assert alice_s.status == StudentStatus.GRADUATED

    def test_an_insertion_may_not_break_the_change_after_it(self, alice_s):
        change(alice_s, "suspend", dt.date(2025, 10, 1))
        change(alice_s, "resume", dt.date(2025, 12, 1))
        # A transfer out between them would leave the resume following a transfer out.
        with pytest.raises(ValidationError) as exc:
            change(alice_s, "transfer_out", dt.date(2025, 11, 1))
        assert "2025-12-01" in exc.value.message_dict["kind"][0]

    def test_update_and_delete_move_the_status(self, alice_s):
        entry = change(alice_s, "transfer_in", dt.date(2025, 8, 30))
        first = change(alice_s, "suspend", dt.date(2025, 10, 1))
        second = change(alice_s, "resume", dt.date(2025, 12, 1))
        # Removing the suspension would leave the resume following the transfer in.
        with pytest.raises(ValidationError):
            services.enrolment_change_delete(change=first, by=None)
        services.enrolment_change_update(
            change=second, kind="transfer_out", effective_on=dt.date(2025, 12, 1), by=None
        )
        alice_s.refresh_from_db()
        assert alice_s.status == StudentStatus.TRANSFERRED_OUT
        assert services.enrolment_change_delete(change=second, by=None) == "suspended"
        assert services.enrolment_change_delete(change=first, by=None) == "enrolled"
        # The first change recorded may be of any kind: what came before is not here.
        services.enrolment_change_delete(change=entry, by=None)
        change(alice_s, "resume", dt.date(2025, 12, 1))
        alice_s.refresh_from_db()
        assert alice_s.status == StudentStatus.ENROLLED

    def test_a_far_future_date_is_a_slip(self, alice_s):
        with pytest.raises(ValidationError) as exc:
            change(alice_s, "suspend", timezone.localdate() + dt.timedelta(days=400))
        assert "effective_on" in exc.value.message_dict


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY, username="rita")


class TestEnrolmentPages:
    def test_record_from_the_history_page(self, registry, alice_s):
        client = english(client_for(registry))
        url = reverse("staffrecords:student_changes", args=[alice_s.pk])
        page = client.get(url)
        assert "follows the latest change" in page.content.decode()
        response = client.post(url, {"kind": "suspend", "effective_on": "2025-10-01"})
        assert response.status_code == 302
        alice_s.refresh_from_db()
        assert alice_s.status == StudentStatus.SUSPENDED
        response = client.post(url, {"kind": "graduate", "effective_on": "2025-11-01"})
        assert response.status_code == 200
        assert "kind" in response.context["form"].errors
        client.post(url, {"kind": "resume", "effective_on": "2025-11-01", "note": "復學"})
        client.post(url, {"kind": "transfer_in", "effective_on": "2025-08-30"})
        page = client.get(url)
        kinds = [c.kind for c, _status in page.context["history"]]
        assert kinds == ["transfer_in", "suspend", "resume"]
        assert page.context["history"][1][1] == "Suspended"

    def test_add_with_picker_edit_delete_and_find(self, registry, alice_s):
        client = english(client_for(registry))
        response = client.post(
            reverse("staffrecords:change_add"),
            {"student": "王小明", "kind": "transfer_out", "effective_on": "2025-11-01"},
        )
        assert response["Location"] == reverse("staffrecords:student_changes", args=[alice_s.pk])
        record = EnrolmentChange.objects.get()
        edit = reverse("staffrecords:change_edit", args=[record.pk])
        client.post(edit, {"kind": "suspend", "effective_on": "2025-11-01"})
        alice_s.refresh_from_db()
        assert alice_s.status == StudentStatus.SUSPENDED
        client.post(reverse("staffrecords:change_delete", args=[record.pk]))
        alice_s.refresh_from_db()
        assert alice_s.status == StudentStatus.ENROLLED
        found = client.get(reverse("staffrecords:change_find"), {"student": "1150001"})
        assert found["Location"] == reverse("staffrecords:student_changes", args=[alice_s.pk])
        missing = client.get(reverse("staffrecords:change_find"), {"student": "9999999"})
        assert missing.status_code == 200
        assert "student" in missing.context["form"].errors

    def test_refused_delete_says_why(self, registry, alice_s):
        change(alice_s, "transfer_in", dt.date(2025, 8, 30))
        first = change(alice_s, "suspend", dt.date(2025, 10, 1))
        change(alice_s, "resume", dt.date(2025, 12, 1))
        client = english(client_for(registry))
        response = client.post(reverse("staffrecords:change_delete", args=[first.pk]), follow=True)
        assert "cannot follow" in response.content.decode()
        assert EnrolmentChange.objects.count() == 3

    def test_other_roles_and_schools(self, school, alice_s, stranger_s, make_member, registry):
        assert (
            client_for(make_member(school, Role.CURRICULUM))
            .get(reverse("staffrecords:change_list"))
            .status_code
            == 403
        )
        client = client_for(registry)
        assert (
            client.get(reverse("staffrecords:student_changes", args=[stranger_s.pk])).status_code
            == 404
        )

    def test_list_filters_export_flat(self, registry, school, class101, django_assert_num_queries):
        students = make_students(school, class101, 30)
        client = english(client_for(registry))
        url = reverse("staffrecords:change_list")
        change(students[0], "transfer_in", dt.date(2025, 8, 30))
        with CaptureQueriesContext(connection) as first:
            client.get(url)
        for student in students[1:]:
            change(student, "suspend", dt.date(2025, 10, 1))
        with django_assert_num_queries(len(first.captured_queries)):
            client.get(url)
        assert client.get(url, {"kind": "suspend"}).context["page"].paginator.count == 29
        assert client.get(url, {"date_from": "2025-09-01"}).context["page"].paginator.count == 29
        rows = xlsx_rows(client.get(url, {"export": "xlsx", "sort": "oldest"}))
        naive = dt.datetime(2025, 8, 30)  # noqa: DTZ001 - xlsx cells carry no zone
        assert rows[1][4:7] == ("Transfer in", naive, "1140830")
