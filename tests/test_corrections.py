"""Correction requests: filed by students only during the basic-data check window, sent to
the office in charge, answered from the office's queue; the home-page counter."""

import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import Division, Role
from portfolio import services
from portfolio.models import AuditLog, WindowKind
from records.models import CorrectionRequest, CorrectionStatus
from records.services import corrections
from records.services.corrections import open_corrections_count
from tests.builders.people import client_for, english
from tests.builders.records import make_class, make_student

TZ = timezone.get_fixed_timezone(8 * 60)


def at(day: dt.date, hour=0, minute=0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


@pytest.fixture
def term1(school, current_roc_year):
    return school.terms.get(school_year__roc_year=current_roc_year, number=1)


@pytest.fixture
def year(term1):
    return term1.school_year


@pytest.fixture
def klass(school, year):
    return make_class(school, year, name="101", grade=10)


@pytest.fixture
def alice(school, make_member, klass):
    return make_student(school, make_member, klass)


@pytest.fixture
def check_window(term1):
    """The basic-data check: open 10 days from the 20th day of term 1, for all grades."""
    start = at(term1.starts_on + dt.timedelta(days=20), 8)
    return services.window_create(
        term=term1,
        kind=WindowKind.BASIC_DATA_CHECK,
        grade=None,
        starts_at=start,
        ends_at=start + dt.timedelta(days=10),
        by=None,
    )


def inside(window, days=2):
    return time_machine.travel(window.starts_at + dt.timedelta(days=days), tick=False)


def request_data(about="enrolment", topic="生日錯誤", message="應為 2009-05-18"):
    return {"about": about, "topic": topic, "message": message}


def file_request(student, about="enrolment", topic="生日錯誤", message="應為 2009-05-18"):
    """A request as the student files it (call it inside the window)."""
    return corrections.correction_request_create(
        student=student, about=about, topic=topic, message=message, by=None
    )


# --- Filing ---------------------------------------------------------------------------


class TestFiling:
    @pytest.mark.parametrize(
        ("about", "office"),
        [
            ("enrolment", Role.REGISTRY),
            ("grades", Role.REGISTRY),
            ("course_names", Role.CURRICULUM),
            ("activities", Role.STUDENT_AFFAIRS),
            ("career", Role.COUNSELLOR),
        ],
    )
    def test_the_topic_decides_the_office(self, alice, check_window, about, office):
        student, membership = alice
        with inside(check_window):
            client = english(client_for(membership))
            response = client.post(reverse("basicdata:correction_add"), request_data(about=about))
        assert response.status_code == 302
        assert response["Location"] == reverse("basicdata:mine") + "#corrections"
        correction = CorrectionRequest.objects.get()
        assert (correction.student, correction.office, correction.status) == (
            student,
            office,
            CorrectionStatus.OPEN,
        )
        assert (correction.topic, correction.message) == ("生日錯誤", "應為 2009-05-18")
        entry = AuditLog.objects.get(action="correction.create")
        assert entry.actor == membership.user
        assert entry.changes["office"] == office

    def test_the_form_and_the_page_show_the_open_window(self, alice, check_window):
        _student, membership = alice
        with inside(check_window, days=3):
            client = english(client_for(membership))
            form_page = client.get(reverse("basicdata:correction_add") + "?about=grades")
            page = client.get(reverse("basicdata:mine"))
        assert form_page.context["form"].initial == {"about": "grades"}
        assert 'name="topic"' in form_page.content.decode()
        assert "7 days left" in page.content.decode()
        assert page.context["window"].is_open

    def test_outside_the_window_the_form_is_closed_and_the_server_refuses(
        self, alice, check_window
    ):
        _student, membership = alice
        before = check_window.starts_at - dt.timedelta(days=3)
        with time_machine.travel(before, tick=False):
            client = english(client_for(membership))
            form_page = client.get(reverse("basicdata:correction_add"))
            refused = client.post(reverse("basicdata:correction_add"), request_data())
            page = client.get(reverse("basicdata:mine"))
        opens = timezone.localtime(check_window.starts_at).strftime("%Y-%m-%d %H:%M")
        assert 'name="topic"' not in form_page.content.decode()
        assert opens in form_page.content.decode()
        assert refused.status_code == 200
        assert opens in str(refused.context["form"].non_field_errors())
        # What the student typed is kept, so nothing is lost.
        assert "應為 2009-05-18" in refused.content.decode()
        assert not CorrectionRequest.objects.exists()
        # Viewing is always allowed.
        assert page.status_code == 200
        assert opens in page.content.decode()

    def test_after_the_window_and_with_none_scheduled(self, alice, check_window):
        _student, membership = alice
        with time_machine.travel(check_window.ends_at + dt.timedelta(minutes=1), tick=False):
            client = english(client_for(membership))
            response = client.post(reverse("basicdata:correction_add"), request_data())
        assert "none is scheduled" in str(response.context["form"].non_field_errors())
        assert not CorrectionRequest.objects.exists()

    def test_a_window_for_another_grade_does_not_open_filing(self, school, alice, term1):
        student, membership = alice  # grade 10
        start = at(term1.starts_on + dt.timedelta(days=20), 8)
        for grade, offset in [(11, 0), (10, 30)]:
            services.window_create(
                term=term1,
                kind=WindowKind.BASIC_DATA_CHECK,
                grade=grade,
                starts_at=start + dt.timedelta(days=offset),
                ends_at=start + dt.timedelta(days=offset + 10),
                by=None,
            )
        with time_machine.travel(start + dt.timedelta(days=1), tick=False):
            info = corrections.window_for_student(student)
            assert not info.is_open
            assert info.next_window.grade == 10
        with time_machine.travel(start + dt.timedelta(days=31), tick=False):
            assert corrections.window_for_student(student).is_open

    def test_a_student_without_a_class_follows_the_all_grades_windows(
        self, school, make_member, term1, check_window
    ):
        student, _m = make_student(school, make_member, None, number="S009", national_id="")
        services.window_create(
            term=term1,
            kind=WindowKind.BASIC_DATA_CHECK,
            grade=12,
            starts_at=check_window.ends_at + dt.timedelta(days=5),
            ends_at=check_window.ends_at + dt.timedelta(days=9),
            by=None,
        )
        with inside(check_window):
            assert corrections.window_for_student(student).is_open
        with time_machine.travel(check_window.ends_at + dt.timedelta(days=6), tick=False):
            assert not corrections.window_for_student(student).is_open

    def test_missing_fields_are_shown_next_to_them(self, alice, check_window):
        _student, membership = alice
        with inside(check_window):
            client = english(client_for(membership))
            response = client.post(
                reverse("basicdata:correction_add"), {"about": "nope", "topic": "", "message": ""}
            )
        assert set(response.context["form"].errors) == {"about", "topic", "message"}
        assert not CorrectionRequest.objects.exists()

    def test_the_same_request_twice_is_refused(self, alice, check_window):
        _student, membership = alice
        with inside(check_window):
            client = english(client_for(membership))
            client.post(reverse("basicdata:correction_add"), request_data())
            again = client.post(reverse("basicdata:correction_add"), request_data())
        assert "already sent" in str(again.context["form"].non_field_errors())
        assert CorrectionRequest.objects.count() == 1

    def test_too_many_waiting_requests_are_refused(self, alice, check_window):
        student, _m = alice
        with inside(check_window):
            for i in range(corrections.OPEN_REQUESTS_MAX):
                file_request(student, topic=f"第{i}項")
            with pytest.raises(corrections.ValidationError) as exc:
                file_request(student, topic="再一項")
        assert "waiting for a reply" in str(exc.value)

    def test_staff_cannot_file(self, as_role, check_window):
        with inside(check_window):
            client = as_role(Role.REGISTRY)
            response = client.post(reverse("basicdata:correction_add"), request_data())
        assert response.status_code == 403

    def test_a_student_without_a_record_cannot_file(self, school, make_member, check_window):
        with inside(check_window):
            client = english(client_for(make_member(school, Role.STUDENT)))
            response = client.post(reverse("basicdata:correction_add"), request_data())
        assert response.status_code == 200
        assert "not linked" in response.content.decode()
        assert not CorrectionRequest.objects.exists()


# --- The offices' queue ---------------------------------------------------------------


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


@pytest.fixture
def filed(alice, check_window):
    """Three requests of alice: two for the registry (older first), one for curriculum."""
    student, _m = alice
    with inside(check_window, days=1):
        first = file_request(student, topic="生日", message="生日錯誤")
    with inside(check_window, days=2):
        second = file_request(student, about="grades", topic="英文成績", message="應為 80")
        third = file_request(student, about="course_names", topic="科目名稱", message="錯字")
    return first, second, third


class TestQueue:
    def test_shows_the_offices_open_requests_oldest_first(self, registry, filed):
        first, second, third = filed
        response = english(client_for(registry)).get(reverse("basicdata:corrections"))
        assert response.status_code == 200
        assert list(response.context["page"].object_list) == [first, second]
        assert response.context["counts"] == {"open": 2, "resolved": 0}
        html = response.content.decode()
        assert "學生S001" in html and "生日" in html
        assert "科目名稱" not in html

    def test_each_office_sees_only_its_own(self, as_role, filed):
        _first, _second, third = filed
        response = as_role(Role.CURRICULUM).get(reverse("basicdata:corrections"))
        assert list(response.context["page"].object_list) == [third]
        assert (
            not as_role(Role.COUNSELLOR)
            .get(reverse("basicdata:corrections"))
            .context["page"]
            .object_list
        )

    def test_another_school_sees_none_of_them(self, as_role, other_school, filed):
        client = as_role(Role.REGISTRY, at=other_school)
        response = client.get(reverse("basicdata:corrections"))
        assert not response.context["page"].object_list
        assert client.get(reverse("basicdata:correction", args=[filed[0].pk])).status_code == 404

    def test_the_continuing_division_sees_its_own_students(
        self, school, make_member, year, check_window, filed
    ):
        night = make_class(school, year, name="N101", division=Division.CONTINUING)
        evening, _m = make_student(school, make_member, night, number="N001", national_id="")
        with inside(check_window, days=3):
            theirs = file_request(evening, topic="夜間部")
        client = client_for(make_member(school, Role.REGISTRY, division=Division.CONTINUING))
        response = client.get(reverse("basicdata:corrections"))
        assert list(response.context["page"].object_list) == [theirs]
        assert client.get(reverse("basicdata:correction", args=[filed[0].pk])).status_code == 404

    def test_other_roles_are_refused(self, as_role):
        for role in [Role.TEACHER, Role.HOMEROOM, Role.STUDENT, Role.SCHOOL_ADMIN]:
            assert as_role(role).get(reverse("basicdata:corrections")).status_code == 403

    def test_search_and_sort(self, registry, filed):
        first, second, _third = filed
        client = client_for(registry)
        url = reverse("basicdata:corrections")
        newest = client.get(url, {"sort": "newest"}).context["page"].object_list
        assert list(newest) == [second, first]
        found = client.get(url, {"q": "英文"}).context["page"].object_list
        assert list(found) == [second]
        by_number = client.get(url, {"q": "S001"}).context["page"].object_list
        assert list(by_number) == [first, second]

    def test_export_as_xlsx(self, registry, filed):
        response = client_for(registry).get(reverse("basicdata:corrections_export"))
        assert response.status_code == 200
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")
        sheet = load_workbook(io.BytesIO(response.content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == 3  # header and the registry's two open requests
        assert rows[1][1] == "S001"
        assert rows[1][6] == "生日"

    def test_query_count_stays_flat_as_requests_grow(
        self, registry, alice, school, make_member, klass, check_window
    ):
        client = client_for(registry)
        url = reverse("basicdata:corrections")
        student, _m = alice
        with inside(check_window):
            file_request(student, topic="一")
        client.get(url)
        with CaptureQueriesContext(connection) as few:
            client.get(url)
        with inside(check_window):
            for n in range(2, 62):
                other, _m = make_student(
                    school, make_member, klass, number=f"S{n:03d}", seat=n % 99 + 1, national_id=""
                )
                file_request(other, topic=f"第{n}項")
        with CaptureQueriesContext(connection) as many:
            response = client.get(url)
        assert len(response.context["page"].object_list) == 50
        assert len(many.captured_queries) == len(few.captured_queries)


# --- Resolving ------------------------------------------------------------------------


class TestResolve:
    def test_the_office_resolves_with_a_reply_the_student_reads(self, registry, alice, filed):
        first = filed[0]
        student, membership = alice
        client = english(client_for(registry))
        url = reverse("basicdata:correction", args=[first.pk])
        assert client.get(url).status_code == 200
        response = client.post(url, {"action": "resolve", "reply": "已更正為 5 月 18 日"})
        assert response.status_code == 302
        first.refresh_from_db()
        assert first.status == CorrectionStatus.RESOLVED
        assert first.reply == "已更正為 5 月 18 日"
        assert first.resolved_by == registry.user
        assert first.resolved_at is not None
        entry = AuditLog.objects.get(action="correction.resolve")
        assert (entry.actor, entry.on_behalf_of) == (registry.user, None)
        # It leaves the open tab and stays listed under "resolved".
        queue = client.get(reverse("basicdata:corrections"))
        assert first not in queue.context["page"].object_list
        resolved = client.get(reverse("basicdata:corrections"), {"tab": "resolved"})
        assert list(resolved.context["page"].object_list) == [first]
        # The student reads the reply.
        page = english(client_for(membership)).get(reverse("basicdata:mine"))
        html = page.content.decode()
        assert "已更正為 5 月 18 日" in html
        assert "Resolved" in html

    def test_a_reply_is_required(self, registry, filed):
        url = reverse("basicdata:correction", args=[filed[0].pk])
        response = client_for(registry).post(url, {"action": "resolve", "reply": "  "})
        assert "reply" in response.context["resolve_form"].errors
        filed[0].refresh_from_db()
        assert filed[0].status == CorrectionStatus.OPEN

    def test_resolving_twice_changes_nothing(self, registry, filed):
        first = filed[0]
        client = english(client_for(registry))
        url = reverse("basicdata:correction", args=[first.pk])
        client.post(url, {"action": "resolve", "reply": "好了"})
        with pytest.raises(corrections.ValidationError):
            corrections.correction_resolve(correction=first, reply="再一次", by=None)
        again = client.post(url, {"action": "resolve", "reply": "再一次"}, follow=True)
        assert "nothing was changed" in again.content.decode()
        first.refresh_from_db()
        assert first.reply == "好了"
        assert AuditLog.objects.filter(action="correction.resolve").count() == 1
        # The page of a resolved request has no reply form.
        assert 'name="reply"' not in client.get(url).content.decode()

    def test_another_office_cannot_see_or_resolve_it(self, as_role, filed):
        url = reverse("basicdata:correction", args=[filed[0].pk])
        client = as_role(Role.CURRICULUM)
        assert client.get(url).status_code == 404
        assert client.post(url, {"action": "resolve", "reply": "x"}).status_code == 404
        filed[0].refresh_from_db()
        assert filed[0].status == CorrectionStatus.OPEN

    def test_a_deputy_resolves_on_behalf_of_the_office(self, school, make_member, filed):
        from tests.builders.people import deputy_client

        client, principal, deputy = deputy_client(school, make_member, Role.REGISTRY)
        url = reverse("basicdata:correction", args=[filed[0].pk])
        client.post(url, {"action": "resolve", "reply": "代理回覆"})
        filed[0].refresh_from_db()
        assert filed[0].resolved_by == deputy.user
        entry = AuditLog.objects.get(action="correction.resolve")
        assert (entry.actor, entry.on_behalf_of) == (deputy.user, principal.user)

    def test_forward_to_the_office_in_charge(self, registry, as_role, filed):
        first = filed[0]
        url = reverse("basicdata:correction", args=[first.pk])
        response = client_for(registry).post(
            url, {"action": "forward", "office": Role.STUDENT_AFFAIRS}
        )
        assert response.status_code == 302
        first.refresh_from_db()
        assert first.office == Role.STUDENT_AFFAIRS
        assert client_for(registry).get(url).status_code == 404
        assert as_role(Role.STUDENT_AFFAIRS).get(url).status_code == 200
        entry = AuditLog.objects.get(action="correction.forward")
        assert entry.changes == {"office": [Role.REGISTRY, Role.STUDENT_AFFAIRS]}

    def test_forward_to_the_same_office_is_refused(self, registry, filed):
        url = reverse("basicdata:correction", args=[filed[0].pk])
        response = client_for(registry).post(url, {"action": "forward", "office": Role.REGISTRY})
        assert "office" in response.context["forward_form"].errors
        filed[0].refresh_from_db()
        assert filed[0].office == Role.REGISTRY


# --- The home-page counter ------------------------------------------------------------


class TestOpenCount:
    def test_counts_open_requests_per_office(self, school, other_school, filed):
        assert open_corrections_count(school, Role.REGISTRY) == 2
        assert open_corrections_count(school, Role.CURRICULUM) == 1
        assert open_corrections_count(school, Role.COUNSELLOR) == 0
        assert open_corrections_count(school, Role.TEACHER) == 0
        assert open_corrections_count(other_school, Role.REGISTRY) == 0
        corrections.correction_resolve(correction=filed[0], reply="好", by=None)
        assert open_corrections_count(school, Role.REGISTRY) == 1

    def test_by_division(self, school, filed):
        assert open_corrections_count(school, Role.REGISTRY, Division.DAY) == 2
        assert open_corrections_count(school, Role.REGISTRY, Division.CONTINUING) == 0


# --- Characters no one types ------------------------------------------------------------


class TestHiddenCharacters:
    @pytest.mark.parametrize("hidden", ["\x1b", "\x0b", "\u202e"])
    def test_a_request_holding_one_is_refused_next_to_the_field(self, alice, check_window, hidden):
        _student, membership = alice
        with inside(check_window):
            english_page = english(client_for(membership)).post(
                reverse("basicdata:correction_add"), request_data(message=f"應為{hidden}2009-05-18")
            )
            chinese_page = client_for(membership).post(
                reverse("basicdata:correction_add"), request_data(topic=f"生日{hidden}")
            )
        assert english_page.status_code == 200
        assert list(english_page.context["form"].errors) == ["message"]
        assert f"U+{ord(hidden):04X}" in english_page.content.decode()
        assert list(chinese_page.context["form"].errors) == ["topic"]
        assert "移除" in str(chinese_page.context["form"].errors["topic"])
        assert not CorrectionRequest.objects.exists()

    def test_an_old_request_holding_one_still_exports(self, registry, filed):
        """Saved before forms refused them: the export leaves them out instead of failing."""
        first, _second, _third = filed
        CorrectionRequest.objects.filter(pk=first.pk).update(
            topic="生日\x1b錯誤", message="應為\x0b2009\x01-05-18"
        )
        response = client_for(registry).get(reverse("basicdata:corrections_export"))
        assert response.status_code == 200
        rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
        assert rows[1][6:8] == ("生日錯誤", "應為2009-05-18")
