"""A real Celery worker, in its own process, against the real broker and PostgreSQL.

Run with CELERY_BROKER_URL (Redis) and DATABASE_URL (PostgreSQL) set, as .ci/run does.
Skipped otherwise: a worker in another process cannot see SQLite's in-memory test
database, and without a broker tasks run eagerly in the test process.
"""

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from portfolio import services, tasks
from portfolio.celery import app
from portfolio.lib import roc
from portfolio.models import AuditLog, Window, WindowKind, WindowState
from tests.builders.people import make_school_with_year
from tests.builders.worker import REAL_WORKER_MARKS, log_tail, real_worker

pytestmark = REAL_WORKER_MARKS

TASK_SECONDS = 30
# Kinds without a national rule on their length, so any window of them is allowed.
PLAIN_KINDS = [
    WindowKind.BASIC_DATA_CHECK,
    WindowKind.CERTIFICATION,
    WindowKind.PERFORMANCE_UPLOAD,
    WindowKind.SELECTION,
    WindowKind.SUBMISSION,
]


@pytest.fixture(scope="module")
def worker(django_db_setup):
    """A `celery worker` subprocess on the test database; yields once it answers a ping."""
    # Messages left in the queue by an earlier, interrupted run must not run here.
    app.control.purge()
    with real_worker() as process:
        yield process
        assert process.poll() is None, f"celery worker died:\n{log_tail(process.log)}"


def _year_start(roc_year: int) -> dt.datetime:
    first, _ = roc.school_year_bounds(roc_year)
    return timezone.make_aware(dt.datetime.combine(first, dt.time()))


def _add_year(school, roc_year: int) -> None:
    y = roc_year + roc.ROC_OFFSET
    services.school_year_create(
        school=school,
        roc_year=roc_year,
        terms=[
            {"number": 1, "starts_on": dt.date(y, 8, 30), "closing_day": dt.date(y + 1, 1, 20),
             "ends_on": dt.date(y + 1, 1, 31)},
            {"number": 2, "starts_on": dt.date(y + 1, 2, 11), "closing_day": dt.date(y + 1, 6, 30),
             "ends_on": dt.date(y + 1, 7, 31)},
        ],
        by=None,
    )  # fmt: skip


@pytest.fixture
def windows(transactional_db, current_roc_year):
    """Windows made through the real service: due to open, due to close, and ahead.

    The ones due to open started at most an hour ago, never before the school year,
    so the national rules accept them on any day; the others lie in the year before
    and the year after.
    """
    school = make_school_with_year("135790", "工作者高中", current_roc_year)
    _add_year(school, current_roc_year - 1)
    _add_year(school, current_roc_year + 1)

    def term(offset: int, number: int):
        return school.terms.get(school_year__roc_year=current_roc_year + offset, number=number)

    now = timezone.now()
    starts = max(now - dt.timedelta(hours=1), _year_start(current_roc_year))
    due_open = [
        services.window_create(
            term=term(0, 1), kind=kind, grade=grade, starts_at=starts,
            ends_at=now + dt.timedelta(days=30), by=None,
        )
        for kind in PLAIN_KINDS
        for grade in (10, 11, 12)
    ]  # fmt: skip
    last_year = _year_start(current_roc_year - 1)
    due_closed = services.window_create(
        term=term(-1, 2), kind=WindowKind.SELECTION, grade=None,
        starts_at=last_year + dt.timedelta(days=300), ends_at=last_year + dt.timedelta(days=310),
        by=None,
    )  # fmt: skip
    next_year = _year_start(current_roc_year + 1)
    ahead = services.window_create(
        term=term(1, 1), kind=WindowKind.SELECTION, grade=None,
        starts_at=next_year + dt.timedelta(days=40), ends_at=next_year + dt.timedelta(days=50),
        by=None,
    )  # fmt: skip
    assert all(w.state == WindowState.SCHEDULED for w in [*due_open, due_closed, ahead])
    return {"open": due_open, "closed": due_closed, "ahead": ahead}


def _audits(action: str, window: Window) -> int:
    return AuditLog.objects.filter(
        action=action, target_type="portfolio.window", target_id=str(window.pk)
    ).count()


def _assert_each_transition_audited_once(windows) -> None:
    for window in windows["open"]:
        window.refresh_from_db()
        assert window.state == WindowState.OPEN
        assert window.state_changed_at is not None
        assert _audits("window.open", window) == 1, window
        assert _audits("window.closed", window) == 0
    closed = windows["closed"]
    closed.refresh_from_db()
    assert closed.state == WindowState.CLOSED
    assert _audits("window.closed", closed) == 1
    assert _audits("window.open", closed) == 0
    ahead = windows["ahead"]
    ahead.refresh_from_db()
    assert ahead.state == WindowState.SCHEDULED
    assert (
        AuditLog.objects.filter(target_id=str(ahead.pk), action__startswith="window.")
        .exclude(action="window.create")
        .count()
        == 0
    )
    transitions = AuditLog.objects.filter(action__in=["window.open", "window.closed"])
    assert transitions.count() == len(windows["open"]) + 1
    assert not transitions.filter(actor__isnull=False).exists()  # the system did it


def test_the_worker_opens_windows_whose_start_has_passed(worker, windows):
    assert not settings.CELERY_TASK_ALWAYS_EAGER
    result = tasks.apply_window_states.delay()
    applied = result.get(timeout=TASK_SECONDS)
    assert result.successful()
    assert applied == len(windows["open"]) + 1
    _assert_each_transition_audited_once(windows)

    # Nothing left to do: a second run changes and audits nothing.
    assert tasks.apply_window_states.delay().get(timeout=TASK_SECONDS) == 0
    _assert_each_transition_audited_once(windows)


def test_the_task_sent_several_times_at_once_audits_each_transition_once(worker, windows):
    results = [tasks.apply_window_states.delay() for _ in range(3)]
    applied = [r.get(timeout=TASK_SECONDS) for r in results]
    assert sum(applied) == len(windows["open"]) + 1
    _assert_each_transition_audited_once(windows)

    for _ in range(2):
        assert tasks.apply_window_states.delay().get(timeout=TASK_SECONDS) == 0
    _assert_each_transition_audited_once(windows)


def test_the_worker_and_other_processes_racing_audit_each_transition_once(worker, windows):
    """The worker runs the task while threads here (each its own connection) run the
    service at the same moment: the conditional UPDATE lets exactly one of them win."""
    start = threading.Barrier(4)
    applied_here: list[int] = []
    errors: list[Exception] = []

    def race() -> None:
        try:
            start.wait(timeout=10)
            applied_here.append(len(services.window_states_apply()))
        except Exception as exc:  # reported in the test thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=race) for _ in range(3)]
    for thread in threads:
        thread.start()
    results = [tasks.apply_window_states.delay() for _ in range(3)]
    start.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=TASK_SECONDS)
    on_worker = [r.get(timeout=TASK_SECONDS) for r in results]
    assert not errors, errors
    assert sum(applied_here) + sum(on_worker) == len(windows["open"]) + 1
    _assert_each_transition_audited_once(windows)


def test_healthz_reports_the_broker(transactional_db, client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200, body
    assert body["ok"] is True
    assert body["checks"]["broker"] == {"ok": True, "mode": "broker"}
    assert body["checks"]["database"] == {"ok": True, "vendor": "postgresql"}
