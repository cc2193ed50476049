"""Scheduled notices on a real Celery worker (PostgreSQL and Redis, as .ci/run runs them),
e-mailed to a real SMTP server: the beat task sent again and again writes each notice once and
each is e-mailed once; on PostgreSQL, two runs at once, and two deliveries at once, the same."""

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.utils import timezone

from accounts import notices
from accounts.models import EmailState, Notice, Role
from certification.notices import scheduled
from certification.tasks import send_scheduled_notices
from tests.builders.certification import CertWorld
from tests.builders.concurrency import at_once
from tests.builders.smtp import smtp_server
from tests.builders.worker import REAL_WORKER_MARKS, real_worker, wait_for


def _closing_soon(school, make_member) -> CertWorld:
    """Upload and certification windows open now and closing in two days; a teacher with two
    outcomes awaiting, from two students with accounts and room under the cap."""
    w = CertWorld(school, make_member)
    now = timezone.now()
    for window in (w.window, w.cert_window):
        window.starts_at, window.ends_at = now - dt.timedelta(days=5), now + dt.timedelta(days=2)
        window.save()
    w.teacher.user.email = "tan@example.edu.tw"
    w.teacher.user.save()
    for index, student in enumerate([w.student, w.student_in("乙", seat=2)]):
        user = make_member(school, Role.STUDENT, name=student.name).user
        user.email = f"s{index}@example.edu.tw"
        user.save()
        student.user = user
        student.save()
        w.outcome_of(student)
    return w


def _expected_topics() -> Counter:
    """Two students' upload reminders, the teacher's certification reminder; the digest only
    from 07:00 Taipei (the task runs on the real clock)."""
    expected = Counter({"closing": 3})
    if timezone.localtime().hour >= 7:
        expected["digest"] = 1
    return expected


def _smtp_env(port: int) -> dict[str, str]:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "EMAIL_USE_TLS": "0",
    }


@pytest.mark.usefixtures("transactional_db")
class TestNoticesOnARealWorker:
    pytestmark = REAL_WORKER_MARKS

    def test_each_notice_written_and_mailed_once_however_often_the_task_runs(
        self, school, make_member, storage_dir
    ):
        _closing_soon(school, make_member)
        expected = _expected_topics()
        with (
            smtp_server() as server,
            real_worker(
                "notices", {"PRIVATE_MEDIA_ROOT": str(storage_dir), **_smtp_env(server.port)}
            ) as process,
        ):
            sent = [send_scheduled_notices.delay() for _ in range(4)]
            wait_for(lambda: all(r.ready() for r in sent), "the four runs", process)
            wait_for(
                lambda: not Notice.objects.filter(email=EmailState.PENDING).exists(),
                "every notice e-mailed",
                process,
            )
            received = server.messages
        results = [r.get() for r in sent]
        written = sum(sum(result.values()) for result in results)
        assert Counter(Notice.objects.values_list("topic", flat=True)) == expected
        assert written == sum(expected.values()), results
        assert set(Notice.objects.values_list("email", flat=True)) == {EmailState.SENT}
        assert len(received) == sum(expected.values())
        assert len({(m["To"], m["Subject"]) for m in received}) == len(received)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writes: nothing runs at once"
)
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_write_each_notice_once(school, make_member, storage_dir, settings):
    _closing_soon(school, make_member)
    expected = _expected_topics()
    results = at_once(scheduled, scheduled)
    assert all(isinstance(r, dict) for r in results), results
    assert Counter(Notice.objects.values_list("topic", flat=True)) == expected
    assert Notice.objects.values("user", "key").distinct().count() == Notice.objects.count()
    # The runs' own deliveries (eager here) went to the test's outbox: e-mail them all again,
    # two deliveries at once.
    Notice.objects.update(email=EmailState.PENDING, email_next_at=timezone.now())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_USE_TLS = "127.0.0.1", False
    with smtp_server() as server:
        settings.EMAIL_PORT = server.port
        delivered = at_once(notices.deliver, notices.deliver)
        received = server.messages
    assert sum(d.sent for d in delivered) == Notice.objects.count() == len(received), delivered
    assert len({(m["To"], m["Subject"]) for m in received}) == len(received)
