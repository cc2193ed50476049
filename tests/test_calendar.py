"""A school's calendar kept per process (portfolio.calendar): read once per change, never
stale. Every change to a year, term, policy or window raises the school's version in the
same transaction, so the next page (in any process) reads it again; a window that opens or
closes shows at once because openness is decided from its times at each request."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from portfolio import calendar, services
from portfolio.models import School, SchoolPolicy, Term, Window, WindowKind
from tests.builders.people import client_for, english


@pytest.fixture
def term1(school, current_roc_year):
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


def _version(school) -> int:
    return School.objects.values_list("calendar_version", flat=True).get(pk=school.pk)


def _reads(school) -> int:
    """Queries to get the school's calendar through a fresh copy of its row."""
    fresh = School.objects.get(pk=school.pk)
    with CaptureQueriesContext(connection) as queries:
        calendar.calendar_of(fresh)
    return len(queries)


def test_read_once_then_kept_until_a_change(school, term1):
    assert _reads(school) == 3  # years with policies, terms, windows
    assert _reads(school) == 0
    now = timezone.now()
    services.window_create(
        term=term1, kind=WindowKind.BASIC_DATA_CHECK, grade=None, starts_at=now, by=None,
        ends_at=now + dt.timedelta(days=3),
    )  # fmt: skip
    assert _reads(school) == 3
    assert _reads(school) == 0


@pytest.mark.parametrize("change", ["window_update", "window_delete", "policy", "term", "state"])
def test_every_kind_of_change_raises_the_version(school, term1, change):
    now = timezone.now()
    window = Window.objects.create(
        school=school, term=term1, kind=WindowKind.SELECTION,
        starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1),
    )  # fmt: skip
    before = _version(school)
    if change == "window_update":
        services.window_update(
            window=window, kind=window.kind, grade=None, starts_at=window.starts_at,
            ends_at=now + dt.timedelta(days=2), by=None,
        )  # fmt: skip
    elif change == "window_delete":
        services.window_delete(window=window, by=None)
    elif change == "policy":
        policy = SchoolPolicy.objects.get(school_year=term1.school_year)
        services.policy_update(policy=policy, data={"outcome_upload_cap_per_term": 4}, by=None)
    elif change == "term":
        term1.closing_day -= dt.timedelta(days=1)
        term1.save()
    else:  # the beat's state transition, an UPDATE that sends no signal
        services.window_states_apply(now=now)
    assert _version(school) > before


def test_a_process_holding_an_older_version_reads_the_new_calendar(school, term1):
    held = School.objects.get(pk=school.pk)
    seen = calendar.calendar_of(held)
    assert seen.windows == ()
    now = timezone.now()
    services.window_create(
        term=term1, kind=WindowKind.BASIC_DATA_CHECK, grade=None, starts_at=now, by=None,
        ends_at=now + dt.timedelta(days=3),
    )  # fmt: skip
    # The same row read again, as the next request does: the new window is there.
    fresh = School.objects.get(pk=school.pk)
    assert [w.kind for w in calendar.calendar_of(fresh).windows] == [WindowKind.BASIC_DATA_CHECK]


def test_a_window_opening_or_closing_shows_at_once_on_the_home_page(
    school, term1, make_member, time_machine
):
    student = make_member(school, Role.STUDENT)
    client = english(client_for(student))
    start = timezone.now() + dt.timedelta(hours=1)
    time_machine.move_to(start - dt.timedelta(minutes=1), tick=False)
    services.window_create(
        term=term1, kind=WindowKind.BASIC_DATA_CHECK, grade=None, starts_at=start, by=None,
        ends_at=start + dt.timedelta(hours=2),
    )  # fmt: skip
    with translation.override("en"):
        label = str(WindowKind.BASIC_DATA_CHECK.label)
    page = client.get(reverse("home")).content.decode()
    assert "No window that concerns you is open now." in page and label in page
    time_machine.move_to(start + dt.timedelta(minutes=1), tick=False)
    page = client.get(reverse("home")).content.decode()
    assert "No window that concerns you is open now." not in page
    time_machine.move_to(start + dt.timedelta(hours=2, minutes=1), tick=False)
    assert (
        "No window that concerns you is open now." in client.get(reverse("home")).content.decode()
    )


def test_the_home_page_reads_no_calendar_query_once_kept(school, term1, make_member):
    student = make_member(school, Role.STUDENT)
    client = client_for(student)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("home"))
    tables = " ".join(q["sql"] for q in queries.captured_queries)
    assert "portfolio_window" not in tables and "portfolio_term" not in tables
