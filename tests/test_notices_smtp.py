"""Notices' e-mail through a real SMTP server (aiosmtpd on a free port): each notice sent
once, its subject and text decoded as the person reads them; a server that is down or refuses
mail makes the notice wait and try again, and the failure is recorded on it."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts import notices
from accounts.models import EmailState, Notice, NoticeKind, Role
from tests.builders.services import free_port
from tests.builders.smtp import smtp_server


@pytest.fixture
def smtp_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.SITE_URL = "https://portfolio.example.edu.tw"
    return settings


@pytest.fixture
def people(school, make_member):
    found = []
    for index, language in enumerate(["zh-hant", "en", "en"]):
        user = make_member(school, Role.STUDENT, name=f"學生{index}").user
        user.email = f"s{index}@example.edu.tw"
        user.language = language
        user.save()
        found.append(user)
    return found


def _notify(school, users, key="k", now=None):
    return notices.notify(
        (
            notices.Note(
                user_id=user.pk,
                school_id=school.pk,
                kind=NoticeKind.FROM_STAFF,
                topic="homeroom",
                key=key,
                params={"what": "upload", "message": "請於週五前上傳", "by": "吳老師"},
                link="/portfolio/",
            )
            for user in users
        ),
        now=now,
    )


def test_each_notice_reaches_the_smtp_server_once(smtp_settings, school, people):
    with smtp_server() as server:
        smtp_settings.EMAIL_PORT = server.port
        _notify(school, people)
        done = notices.deliver()
        assert notices.deliver().sent == 0
        received = server.messages
    assert done.sent == 3
    assert sorted(m["To"] for m in received) == sorted(u.email for u in people)
    by_to = {m["To"]: m for m in received}
    english = by_to["s1@example.edu.tw"]
    assert (
        english["Subject"].strip()
        == f"[{school.display_name('en')}] A reminder from your homeroom teacher"
    )
    text = english.get_body(("plain",)).get_content()
    assert "Dear 學生1," in text
    assert "吳老師 writes: 請於週五前上傳" in text
    assert "https://portfolio.example.edu.tw/portfolio/" in text
    html = english.get_body(("html",)).get_content()
    assert '<a href="https://portfolio.example.edu.tw/portfolio/">' in html
    chinese = by_to["s0@example.edu.tw"]
    assert "吳老師" in chinese.get_body(("plain",)).get_content()
    assert chinese["Subject"].strip().startswith(f"[{school.name}] ")
    assert set(Notice.objects.values_list("email", flat=True)) == {EmailState.SENT}


def test_a_server_that_is_down_then_back(smtp_settings, school, people):
    smtp_settings.EMAIL_PORT = free_port()  # nothing listens there
    start = timezone.now()
    _notify(school, people[:1], now=start)
    done = notices.deliver(now=start)
    notice = Notice.objects.get()
    assert (done.retrying, notice.email, notice.email_attempts) == (1, EmailState.PENDING, 1)
    assert "ConnectionRefusedError" in notice.email_error
    with smtp_server() as server:
        smtp_settings.EMAIL_PORT = server.port
        assert notices.deliver(now=start + dt.timedelta(seconds=30)).sent == 0  # not yet due
        assert notices.deliver(now=start + dt.timedelta(minutes=1)).sent == 1
        assert len(server.messages) == 1
    notice.refresh_from_db()
    assert (notice.email, notice.email_error) == (EmailState.SENT, "")


def test_a_server_refusing_mail_is_tried_five_times_then_recorded(smtp_settings, school, people):
    start = timezone.now()
    _notify(school, people[:1], now=start)
    with smtp_server() as server:
        smtp_settings.EMAIL_PORT = server.port
        server.refuse()
        moment = start
        for _attempt in range(notices.MAX_ATTEMPTS):
            notices.deliver(now=moment)
            moment += dt.timedelta(minutes=10)
        assert server.messages == []
    notice = Notice.objects.get()
    assert notice.email == EmailState.FAILED and notice.email_attempts == notices.MAX_ATTEMPTS
    assert "SMTPRecipientsRefused" in notice.email_error
