"""Each role's home page: the phase banner with days left, and counters from real data."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, Role, User
from portfolio import services
from portfolio.models import AuditLog, School, Term, Window, WindowKind
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceCategory,
    PerformanceSource,
    StoredFile,
)
from tests.builders.people import client_for
from tests.builders.portfolio import World

TZ = timezone.get_fixed_timezone(8 * 60)


def at(day, hour=0):
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TZ)


@pytest.fixture
def term1(school, current_roc_year):
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


class TestPhaseBanner:
    def test_open_window_with_days_left_and_next_one(self, as_role, term1):
        services.window_create(
            term=term1,
            kind=WindowKind.CERTIFICATION,
            grade=None,
            starts_at=at(term1.starts_on),
            ends_at=at(term1.starts_on + dt.timedelta(days=10)),
            by=None,
        )
        services.window_create(
            term=term1,
            kind=WindowKind.OUTCOME_UPLOAD,
            grade=None,
            starts_at=at(term1.starts_on + dt.timedelta(days=20)),
            ends_at=at(term1.closing_day + dt.timedelta(days=15)),
            by=None,
        )
        client = as_role(Role.TEACHER)
        with time_machine.travel(at(term1.starts_on + dt.timedelta(days=5), 12), tick=False):
            response = client.get(reverse("home"))
        phase = response.context["phase"]
        assert [w.kind for w in phase.open_now] == [WindowKind.CERTIFICATION]
        assert [w.kind for w in phase.next_up] == [WindowKind.OUTCOME_UPLOAD]
        assert phase.open_now[0].days_left(phase.now) == 5
        # What certifying means, on the teacher's page.
        assert 'id="cert-title"' in response.content.decode()

    def test_windows_of_other_roles_and_grades_are_not_shown(self, school, make_member, term1):
        services.window_create(
            term=term1,
            kind=WindowKind.COURSE_CODE_CHECK,
            grade=None,
            starts_at=at(term1.starts_on),
            ends_at=at(term1.starts_on + dt.timedelta(days=10)),
            by=None,
        )
        services.window_create(
            term=term1,
            kind=WindowKind.SELECTION,
            grade=12,
            starts_at=at(term1.starts_on),
            ends_at=at(term1.starts_on + dt.timedelta(days=10)),
            by=None,
        )
        member = make_member(school, Role.STUDENT)
        year = term1.school_year
        klass = SchoolClass.objects.create(school=school, school_year=year, name="101", grade=10)
        Student.objects.create(
            school=school, user=member.user, student_number="1", name="x", school_class=klass
        )
        with time_machine.travel(at(term1.starts_on + dt.timedelta(days=1), 12), tick=False):
            response = client_for(member).get(reverse("home"))
        assert response.context["phase"].open_now == []

    def test_other_schools_windows_never_show(self, other_school, as_role, current_roc_year):
        term = Term.objects.get(
            school=other_school, school_year__roc_year=current_roc_year, number=1
        )
        services.window_create(
            term=term,
            kind=WindowKind.CERTIFICATION,
            grade=None,
            starts_at=at(term.starts_on),
            ends_at=at(term.starts_on + dt.timedelta(days=10)),
            by=None,
        )
        with time_machine.travel(at(term.starts_on + dt.timedelta(days=1), 12), tick=False):
            response = as_role(Role.TEACHER).get(reverse("home"))
        assert response.context["phase"].open_now == []


class TestCounters:
    def test_admin_counts_members_and_windows(self, admin_client, school, make_member, term1):
        make_member(school, Role.STUDENT)
        make_member(school, Role.STUDENT)
        make_member(school, Role.TEACHER)
        counters = admin_client.get(reverse("home")).context["counters"]
        values = [c.value for c in counters]
        assert values == [2, 2, 0]  # staff roles (admin + teacher), students, windows

    def test_student_sees_the_caps_of_their_school(self, as_role, school, current_roc_year):
        policy = school.policies.get(school_year__roc_year=current_roc_year)
        services.policy_update(policy=policy, data={"outcome_upload_cap_per_term": 4}, by=None)
        counters = as_role(Role.STUDENT).get(reverse("home")).context["counters"]
        assert counters[0].value == 4

    def test_student_sees_what_they_used_of_the_caps(self, school, make_member, term1):
        member = make_member(school, Role.STUDENT)
        student = Student.objects.create(
            school=school, user=member.user, student_number="S1", name="s"
        )
        other = Student.objects.create(school=school, student_number="S2", name="t")
        course = Course.objects.create(
            school=school, term=term1, code="X" * 23, name="物理", grade=10, credits=2
        )
        enrolment = CourseEnrolment.objects.create(school=school, student=student, course=course)
        other_enrolment = CourseEnrolment.objects.create(
            school=school, student=other, course=course
        )

        def outcome(enrolment, state=OutcomeState.SUBMITTED):
            stored = StoredFile.objects.create(
                school=school,
                student=enrolment.student,
                storage_key=f"{StoredFile.objects.count():032x}.pdf",
                display_name="a.pdf",
                extension="pdf",
                mime="application/pdf",
                size=1,
                sha256="0" * 64,
            )
            CourseOutcome.objects.create(
                school=school,
                student=enrolment.student,
                enrolment=enrolment,
                title="t",
                description="d",
                document=stored,
                state=state,
            )

        outcome(enrolment)
        outcome(enrolment, OutcomeState.DRAFT)
        outcome(enrolment, OutcomeState.WITHDRAWN)  # not counted
        outcome(other_enrolment)  # someone else's
        for source in (PerformanceSource.STUDENT, PerformanceSource.SCHOOL):
            Performance.objects.create(
                school=school,
                student=student,
                school_year=term1.school_year,
                category=PerformanceCategory.OTHER,
                source=source,
                name="n",
            )
        with time_machine.travel(at(term1.starts_on + dt.timedelta(days=3), 12), tick=False):
            counters = client_for(member).get(reverse("home")).context["counters"]
        assert [(c.value, c.of) for c in counters[:2]] == [(2, 6), (1, 10)]
        assert term1.label in counters[0].label

    def test_teacher_sees_what_awaits_their_certification(self, school, make_member):
        world = World(school)
        teacher = make_member(school, Role.TEACHER)
        world.enrolment.course.teachers.add(teacher.user)
        world.row()
        world.row()
        world.row(state=OutcomeState.DRAFT)  # not handed in
        other_course = world.enrol(world.student, world.term1, "Chemistry")
        world.row(enrolment=other_course)  # another teacher's
        counters = client_for(teacher).get(reverse("home")).context["counters"]
        assert [(c.value, c.link) for c in counters] == [
            (2, "certification:queue"),
            (0, "certification:concerns"),
        ]

    def test_homeroom_counts_their_class(self, school, make_member, term1):
        member = make_member(school, Role.HOMEROOM)
        klass = SchoolClass.objects.create(
            school=school,
            school_year=term1.school_year,
            name="101",
            grade=10,
            homeroom_teacher=member.user,
        )
        for n in range(3):
            Student.objects.create(
                school=school, student_number=str(n), name="s", school_class=klass
            )
        counters = client_for(member).get(reverse("home")).context["counters"]
        assert [c.value for c in counters] == [1, 3]

    @pytest.mark.parametrize("role", [r.value for r in Role])
    def test_every_role_has_a_home(self, as_role, role):
        response = as_role(role).get(reverse("home"))
        assert response.status_code == 200
        assert response.context["acting"].role == role

    def test_missing_school_year_is_explained(self, db, make_member):
        school = services.school_create(code="111111", name="新校", by=None)
        response = client_for(make_member(school, Role.SCHOOL_ADMIN)).get(reverse("home"))
        assert response.status_code == 200
        assert response.context["year"] is None
        assert reverse("portal:year_add") in response.content.decode()


class TestLanguage:
    def test_chinese_by_default_english_on_request(self, client, school):
        url = reverse("portal:public_schedule", args=[school.code])
        assert 'lang="zh-Hant-TW"' in client.get(url).content.decode()
        client.post(reverse("set_language"), {"language": "en", "next": url})
        assert 'lang="en"' in client.get(url).content.decode()

    def test_browser_language_does_not_override_the_school_default(self, client, school):
        url = reverse("portal:public_schedule", args=[school.code])
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
        assert 'lang="zh-Hant-TW"' in response.content.decode()


class TestHealthz:
    def test_reports_each_service(self, client, db):
        response = client.get(reverse("healthz"))
        body = response.json()
        assert response.status_code == 200 and body["ok"]
        assert set(body["checks"]) == {"database", "cache", "broker"}

    def test_broken_database_is_503(self, client, db, monkeypatch):
        from portal.views import health as views

        monkeypatch.setattr(
            views, "_check_database", lambda: {"ok": False, "error": "OperationalError"}
        )
        response = client.get(reverse("healthz"))
        assert response.status_code == 503 and not response.json()["ok"]


class TestSeedDemo:
    def test_seed_is_complete_and_idempotent(self, db):
        call_command("seed_demo", stdout=io.StringIO())
        counts = (
            User.objects.count(),
            Membership.objects.count(),
            Window.objects.count(),
            Student.objects.count(),
            AuditLog.objects.exclude(action__startswith="window.o").count(),
        )
        call_command("seed_demo", stdout=io.StringIO())
        assert counts == (
            User.objects.count(),
            Membership.objects.count(),
            Window.objects.count(),
            Student.objects.count(),
            AuditLog.objects.exclude(action__startswith="window.o").count(),
        )
        school = School.objects.get(code="999001")
        roles = set(Membership.objects.filter(school=school).values_list("role", flat=True))
        assert roles == {r.value for r in Role}
        assert Student.objects.filter(school=school).count() == 90
        assert SchoolClass.objects.filter(school=school).count() == 3
        for username in [
            "admin",
            "registry",
            "curriculum",
            "affairs",
            "counsellor",
            "consultant",
            "homeroom",
            "teacher",
            "group",
            "s001",
            "s090",
        ]:
            assert User.objects.get(username=username).check_password("portfolio-demo")
        client = Client()
        assert (
            client.post(
                reverse("account_login"), {"login": "s001", "password": "portfolio-demo"}
            ).status_code
            == 302
        )
        assert client.get(reverse("home")).status_code == 200


class TestCourseCodeCheckPanel:
    @pytest.mark.parametrize(
        ("role", "shown"), [(Role.CURRICULUM, True), (Role.REGISTRY, True), (Role.TEACHER, False)]
    )
    def test_offices_following_the_check_see_its_standing(self, as_role, role, shown):
        response = as_role(role).get(reverse("home"))
        assert (response.context["code_check"] is not None) is shown
        assert ('class="check-status"' in response.content.decode()) is shown
