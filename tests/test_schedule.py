"""The schedule: terms, windows and the national rules, through services and pages."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from portfolio import services
from portfolio.models import (
    AuditLog,
    SchoolPolicy,
    SchoolYear,
    Term,
    Window,
    WindowKind,
    WindowState,
)
from tests.builders.people import client_for

TZ = timezone.get_fixed_timezone(8 * 60)


def at(day: dt.date, hour=0, minute=0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=TZ)


@pytest.fixture
def term1(school, current_roc_year) -> Term:
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


@pytest.fixture
def term2(school, current_roc_year) -> Term:
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=2)


def create(term, kind, start, end, grade=None, **extra):
    return services.window_create(
        term=term, kind=kind, grade=grade, starts_at=start, ends_at=end, by=None, **extra
    )


class TestOutcomeUploadRule:
    def test_closing_less_than_two_weeks_after_closing_day_is_refused(self, term1):
        end = at(term1.closing_day + dt.timedelta(days=13), 23, 59)
        with pytest.raises(ValidationError) as exc:
            create(term1, WindowKind.OUTCOME_UPLOAD, at(term1.starts_on), end)
        assert "ends_at" in exc.value.message_dict
        assert "2" in exc.value.message_dict["ends_at"][0]
        assert not Window.objects.exists()

    def test_exactly_two_weeks_after_is_allowed(self, term1):
        end = at(term1.closing_day + dt.timedelta(days=14), 0, 0)
        window = create(term1, WindowKind.OUTCOME_UPLOAD, at(term1.starts_on), end)
        assert window.pk

    def test_grade_12_second_term_is_exempt(self, term2):
        end = at(term2.closing_day - dt.timedelta(days=30))
        window = create(term2, WindowKind.OUTCOME_UPLOAD, at(term2.starts_on), end, grade=12)
        assert window.grade == 12

    def test_grade_12_first_term_is_not_exempt(self, term1):
        with pytest.raises(ValidationError):
            create(
                term1,
                WindowKind.OUTCOME_UPLOAD,
                at(term1.starts_on),
                at(term1.closing_day),
                grade=12,
            )

    def test_all_grades_in_second_term_is_not_exempt(self, term2):
        with pytest.raises(ValidationError):
            create(term2, WindowKind.OUTCOME_UPLOAD, at(term2.starts_on), at(term2.closing_day))

    def test_other_kinds_may_close_early(self, term1):
        window = create(term1, WindowKind.CERTIFICATION, at(term1.starts_on), at(term1.closing_day))
        assert window.pk and window.ends_at == at(term1.closing_day)


class TestReceiptRule:
    def test_shorter_than_three_days_is_refused(self, term1):
        start = at(term1.ends_on - dt.timedelta(days=5), 9)
        with pytest.raises(ValidationError) as exc:
            create(
                term1,
                WindowKind.RECEIPT_CONFIRMATION,
                start,
                start + dt.timedelta(days=2, hours=23),
            )
        assert "3" in exc.value.message_dict["ends_at"][0]

    def test_three_calendar_days_to_the_last_minute_is_allowed(self, term1):
        day = term1.ends_on - dt.timedelta(days=5)
        window = create(
            term1, WindowKind.RECEIPT_CONFIRMATION, at(day), at(day + dt.timedelta(days=2), 23, 59)
        )
        assert window.pk and window.ends_at == at(day + dt.timedelta(days=2), 23, 59)


class TestGeneralRules:
    def test_close_before_open_is_refused(self, term1):
        with pytest.raises(ValidationError) as exc:
            create(term1, WindowKind.SELECTION, at(term1.ends_on), at(term1.starts_on))
        assert "ends_at" in exc.value.message_dict

    def test_overlap_with_same_kind_is_refused(self, term1):
        create(
            term1,
            WindowKind.SELECTION,
            at(term1.starts_on),
            at(term1.starts_on + dt.timedelta(days=10)),
        )
        with pytest.raises(ValidationError):
            create(
                term1,
                WindowKind.SELECTION,
                at(term1.starts_on + dt.timedelta(days=5)),
                at(term1.starts_on + dt.timedelta(days=20)),
                grade=11,
            )

    def test_different_grades_may_overlap(self, term1):
        create(
            term1,
            WindowKind.SELECTION,
            at(term1.starts_on),
            at(term1.starts_on + dt.timedelta(days=10)),
            grade=10,
        )
        second = create(
            term1,
            WindowKind.SELECTION,
            at(term1.starts_on),
            at(term1.starts_on + dt.timedelta(days=10)),
            grade=11,
        )
        assert sorted(
            Window.objects.filter(term=term1, kind=WindowKind.SELECTION).values_list(
                "grade", flat=True
            )
        ) == [10, 11]
        assert second.grade == 11

    def test_self_check_date_outside_window_is_refused(self, term1):
        with pytest.raises(ValidationError) as exc:
            create(
                term1,
                WindowKind.SELECTION,
                at(term1.starts_on),
                at(term1.starts_on + dt.timedelta(days=3)),
                self_check_on=term1.starts_on + dt.timedelta(days=9),
            )
        assert "self_check_on" in exc.value.message_dict

    def test_opening_before_the_school_year_is_refused(self, term1):
        start = at(term1.school_year.starts_on - dt.timedelta(days=1))
        with pytest.raises(ValidationError) as exc:
            create(term1, WindowKind.SELECTION, start, start + dt.timedelta(days=3))
        assert "starts_at" in exc.value.message_dict

    def test_update_keeps_rules_and_ignores_itself_for_overlap(self, term1):
        window = create(
            term1,
            WindowKind.SELECTION,
            at(term1.starts_on),
            at(term1.starts_on + dt.timedelta(days=3)),
        )
        services.window_update(
            window=window,
            kind=window.kind,
            grade=None,
            starts_at=window.starts_at,
            ends_at=window.ends_at + dt.timedelta(days=1),
            by=None,
        )
        assert (
            AuditLog.objects.filter(action="window.update", target_id=str(window.pk)).count() == 1
        )


class TestSchoolYear:
    def test_year_comes_with_terms_and_policy_carried_over(self, school, current_roc_year):
        policy = SchoolPolicy.objects.get(school=school, school_year__roc_year=current_roc_year)
        services.policy_update(policy=policy, data={"outcome_upload_cap_per_term": 5}, by=None)
        y = current_roc_year + 1 + 1911
        year = services.school_year_create(
            school=school,
            roc_year=current_roc_year + 1,
            by=None,
            terms=[
                {
                    "number": 1,
                    "starts_on": dt.date(y, 8, 30),
                    "closing_day": dt.date(y + 1, 1, 20),
                    "ends_on": dt.date(y + 1, 1, 31),
                },
                {
                    "number": 2,
                    "starts_on": dt.date(y + 1, 2, 11),
                    "closing_day": dt.date(y + 1, 6, 30),
                    "ends_on": dt.date(y + 1, 7, 31),
                },
            ],
        )
        assert year.terms.count() == 2
        assert year.policy.outcome_upload_cap_per_term == 5

    def test_duplicate_year_is_refused(self, school, current_roc_year):
        with pytest.raises(ValidationError):
            services.school_year_create(school=school, roc_year=current_roc_year, terms=[], by=None)

    def test_term_outside_its_year_is_refused(self, school, current_roc_year):
        y = current_roc_year + 2 + 1911
        with pytest.raises(ValidationError) as exc:
            services.school_year_create(
                school=school,
                roc_year=current_roc_year + 2,
                by=None,
                terms=[
                    {
                        "number": 1,
                        "starts_on": dt.date(y, 7, 1),
                        "closing_day": dt.date(y + 1, 1, 20),
                        "ends_on": dt.date(y + 1, 1, 31),
                    }
                ],
            )
        assert "term1_ends_on" in exc.value.message_dict
        assert not SchoolYear.objects.filter(roc_year=current_roc_year + 2).exists()


class TestPolicy:
    def test_selection_caps_cannot_exceed_national_maximum(self, school, current_roc_year):
        policy = SchoolPolicy.objects.get(school=school, school_year__roc_year=current_roc_year)
        with pytest.raises(ValidationError):
            services.policy_update(policy=policy, data={"outcome_selection_cap": 7}, by=None)

    def test_policy_page_saves_and_audits(self, admin_client, school, current_roc_year):
        url = reverse("portal:policy_edit", args=[current_roc_year])
        data = {
            "outcome_upload_cap_per_term": 5,
            "performance_upload_cap_per_year": 15,
            "outcome_selection_cap": 6,
            "performance_selection_cap": 10,
            "document_types": ["pdf", "png"],
            "document_max_mb": 2,
            "media_types": ["mp4"],
            "media_max_mb": 10,
            "short_description_max": 100,
            "staff_require_2fa": "on",
        }
        response = admin_client.post(url, data)
        assert response.status_code == 302
        policy = SchoolPolicy.objects.get(school=school, school_year__roc_year=current_roc_year)
        assert policy.document_types == ["pdf", "png"]
        assert policy.staff_require_2fa
        entry = AuditLog.objects.get(action="policy.update")
        assert entry.changes["outcome_upload_cap_per_term"] == [6, 5]

    def test_policy_page_shows_errors_by_field(self, admin_client, current_roc_year):
        url = reverse("portal:policy_edit", args=[current_roc_year])
        response = admin_client.post(url, {"outcome_selection_cap": 9, "document_types": ["exe"]})
        assert response.status_code == 200
        content = response.content.decode()
        assert 'id="id_outcome_selection_cap_error"' in content
        assert 'aria-invalid="true"' in content


class TestWindowPages:
    def test_admin_sees_error_next_to_the_field_and_nothing_is_saved(self, admin_client, term1):
        end = term1.closing_day + dt.timedelta(days=7)
        response = admin_client.post(
            reverse("portal:window_add"),
            {
                "term": term1.pk,
                "kind": "outcome_upload",
                "grade": "",
                "starts_at": f"{term1.starts_on}T08:00",
                "ends_at": f"{end}T17:00",
            },
        )
        assert response.status_code == 200
        content = response.content.decode()
        assert 'id="id_ends_at_error"' in content
        assert f'value="{end}T17:00"' in content  # the form keeps what was typed
        assert not Window.objects.exists()

    def test_admin_adds_edits_and_removes_a_window(self, admin_client, term1):
        response = admin_client.post(
            reverse("portal:window_add"),
            {
                "term": term1.pk,
                "kind": "selection",
                "grade": "10",
                "starts_at": f"{term1.starts_on}T08:00",
                "ends_at": f"{term1.ends_on}T17:00",
                "self_check_on": str(term1.ends_on),
                "note": "先選後改",
            },
        )
        assert response.status_code == 302
        window = Window.objects.get()
        assert window.grade == 10 and window.note == "先選後改"
        assert timezone.localtime(window.starts_at).hour == 8
        response = admin_client.post(
            reverse("portal:window_edit", args=[window.pk]),
            {
                "term": term1.pk,
                "kind": "selection",
                "grade": "",
                "starts_at": f"{term1.starts_on}T09:00",
                "ends_at": f"{term1.ends_on}T17:00",
            },
        )
        assert response.status_code == 302
        window.refresh_from_db()
        assert window.grade is None
        response = admin_client.post(reverse("portal:window_delete", args=[window.pk]))
        assert response.status_code == 302
        assert not Window.objects.exists()
        assert list(
            AuditLog.objects.filter(target_type="portfolio.window")
            .values_list("action", flat=True)
            .order_by("id")
        ) == [
            "window.create",
            "window.update",
            "window.delete",
        ]

    def test_edit_of_another_schools_window_is_404(self, other_school, make_member, term1):
        window = create(term1, WindowKind.SELECTION, at(term1.starts_on), at(term1.ends_on))
        outsider = client_for(make_member(other_school, Role.SCHOOL_ADMIN))
        assert outsider.post(reverse("portal:window_delete", args=[window.pk])).status_code == 404
        assert Window.objects.filter(pk=window.pk).exists()

    def test_year_add_page(self, admin_client, school, current_roc_year):
        y = current_roc_year + 1 + 1911
        response = admin_client.post(
            reverse("portal:year_add"),
            {
                "roc_year": current_roc_year + 1,
                "term1_starts_on": f"{y}-08-30",
                "term1_closing_day": f"{y + 1}-01-20",
                "term1_ends_on": f"{y + 1}-01-31",
                "term2_starts_on": f"{y + 1}-02-11",
                "term2_closing_day": f"{y + 1}-02-01",
                "term2_ends_on": f"{y + 1}-07-31",
            },
        )
        assert response.status_code == 200
        assert 'id="id_term2_closing_day_error"' in response.content.decode()
        assert not SchoolYear.objects.filter(roc_year=current_roc_year + 1).exists()

    def test_term_edit_page(self, admin_client, term1):
        response = admin_client.post(
            reverse("portal:term_edit", args=[term1.pk]),
            {
                "starts_on": str(term1.starts_on),
                "closing_day": str(term1.closing_day - dt.timedelta(days=1)),
                "ends_on": str(term1.ends_on),
            },
        )
        assert response.status_code == 302
        term1.refresh_from_db()
        assert AuditLog.objects.filter(action="term.update").exists()


class TestPublicSchedule:
    def test_anyone_sees_published_windows_with_days_left(self, client, school, term1):
        create(term1, WindowKind.CERTIFICATION, at(term1.starts_on), at(term1.closing_day, 23, 59))
        with time_machine.travel(at(term1.closing_day - dt.timedelta(days=2), 12), tick=False):
            response = client.get(reverse("portal:public_schedule", args=[school.code]))
        assert response.status_code == 200
        content = response.content.decode()
        assert school.name in content
        assert "chip-open" in content

    def test_unknown_school_is_404(self, client, db):
        assert client.get(reverse("portal:public_schedule", args=["000000"])).status_code == 404

    def test_query_count_does_not_grow_with_windows(
        self, client, school, term1, term2, django_assert_num_queries
    ):
        url = reverse("portal:public_schedule", args=[school.code])

        def add_windows(kind):
            for term in (term1, term2):
                for grade in (10, 11, 12):
                    create(
                        term,
                        kind,
                        at(term.starts_on),
                        at(term.starts_on + dt.timedelta(days=3)),
                        grade=grade,
                    )

        add_windows(WindowKind.SELECTION)
        with django_assert_num_queries(4) as few:
            client.get(url)
        add_windows(WindowKind.BASIC_DATA_CHECK)
        with django_assert_num_queries(len(few.captured_queries)):
            client.get(url)


class TestWindowStates:
    def test_task_opens_and_closes_once(self, term1):
        window = create(
            term1,
            WindowKind.SELECTION,
            at(term1.starts_on, 8),
            at(term1.starts_on + dt.timedelta(days=3), 8),
        )
        assert window.state == WindowState.SCHEDULED
        with time_machine.travel(at(term1.starts_on, 7), tick=False):
            assert services.window_states_apply() == []
        with time_machine.travel(at(term1.starts_on, 9), tick=False):
            assert services.window_states_apply() == [(window.pk, "open")]
            assert services.window_states_apply() == []
        with time_machine.travel(at(term1.starts_on + dt.timedelta(days=5)), tick=False):
            assert services.window_states_apply() == [(window.pk, "closed")]
            assert services.window_states_apply() == []
        window.refresh_from_db()
        assert window.state == WindowState.CLOSED
        actions = list(
            AuditLog.objects.filter(
                target_type="portfolio.window", target_id=str(window.pk), actor=None
            )
            .values_list("action", flat=True)
            .order_by("id")
        )
        assert actions == ["window.create", "window.open", "window.closed"]

    def test_window_missed_entirely_goes_straight_to_closed(self, term1):
        window = create(term1, WindowKind.SELECTION, at(term1.starts_on, 8), at(term1.starts_on, 9))
        with time_machine.travel(at(term1.ends_on), tick=False):
            assert services.window_states_apply() == [(window.pk, "closed")]

    def test_reopened_window_returns_to_open(self, term1):
        window = create(term1, WindowKind.SELECTION, at(term1.starts_on, 8), at(term1.starts_on, 9))
        with time_machine.travel(at(term1.starts_on + dt.timedelta(days=1)), tick=False):
            services.window_states_apply()
            services.window_update(
                window=window,
                kind=window.kind,
                grade=None,
                starts_at=window.starts_at,
                ends_at=at(term1.starts_on + dt.timedelta(days=3)),
                by=None,
            )
            assert services.window_states_apply() == [(window.pk, "open")]

    def test_celery_task_runs_eagerly(self, term1):
        from portfolio.tasks import apply_window_states

        create(
            term1,
            WindowKind.SELECTION,
            at(term1.starts_on, 8),
            at(term1.starts_on + dt.timedelta(days=1)),
        )
        with time_machine.travel(at(term1.starts_on, 12), tick=False):
            assert apply_window_states.delay().get() == 1
