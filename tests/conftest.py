"""Shared fixtures: two schools, members built through the real services, signed-in clients.

Naming follows healthchecks' habit: ``alice`` owns, ``bob`` is in the same school without
the right, ``charlie`` belongs to another school.
"""

import datetime as dt
import os
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from accounts import acting  # noqa: E402
from accounts import services as account_services  # noqa: E402
from accounts.models import Division, Membership, Role  # noqa: E402
from portfolio import services  # noqa: E402
from portfolio.lib import roc  # noqa: E402

PASSWORD = "a-Strong-test-password-1"


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _celery_eager_unless_worker(request, monkeypatch):
    """Tasks run in the test process even when CELERY_BROKER_URL is set (CI's PostgreSQL
    run), except in tests that drive a real worker (marked celery_worker)."""
    if request.node.get_closest_marker("celery_worker") is None:
        from portfolio.celery import app

        monkeypatch.setitem(app.conf, "task_always_eager", True)


@pytest.fixture
def current_roc_year() -> int:
    return roc.school_year_of(timezone.localdate())


def make_school_with_year(code: str, name: str, roc_year: int):
    school = services.school_create(code=code, name=name, by=None)
    y = roc_year + roc.ROC_OFFSET
    services.school_year_create(
        school=school,
        roc_year=roc_year,
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
        by=None,
    )
    return school


@pytest.fixture
def school(db, current_roc_year):
    return make_school_with_year("123456", "測試高中", current_roc_year)


@pytest.fixture
def other_school(db, current_roc_year):
    return make_school_with_year("654321", "他校高中", current_roc_year)


@pytest.fixture
def make_member(db):
    """make_member(school, role, username=..., division=...) -> Membership."""
    counter = {"n": 0}

    def make(school, role, username=None, division=Division.DAY, name=""):
        counter["n"] += 1
        username = username or f"{role}{counter['n']}-{school.code}"
        return account_services.member_create(
            school=school,
            username=username,
            name=name or username,
            email="",
            password=PASSWORD,
            role=role,
            division=division,
            by=None,
        )

    return make


def client_for(membership: Membership) -> Client:
    """A client signed in and acting in ``membership``."""
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[acting.SESSION_KEY] = {"membership": membership.pk, "deputy": None}
    session.save()
    return client


@pytest.fixture
def as_role(school, make_member):
    """as_role(role) -> a signed-in client acting in ``role`` at ``school``."""

    def make(role, at=None):
        return client_for(make_member(at or school, role))

    return make


@pytest.fixture
def admin(school, make_member) -> Membership:
    return make_member(school, Role.SCHOOL_ADMIN, username="alice")


@pytest.fixture
def admin_client(admin) -> Client:
    return client_for(admin)


@pytest.fixture
def storage_dir(settings, tmp_path) -> Path:
    """The default storage on a fresh folder of this test's own."""
    location = tmp_path / "storage"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    return location


@pytest.fixture(autouse=True)
def _storage_in_tmp(storage_dir):
    """No test writes files outside its own temporary folder (the demo stores files too)."""


def stored_files(location: Path) -> list[Path]:
    """Every file under a storage folder."""
    return [p for p in location.rglob("*") if p.is_file()] if location.exists() else []


def at_once(*calls) -> list[object]:
    """Run the calls in threads released together; each one's result, or the exception it
    raised, in the order they finished. Each thread reads messages in English (a new thread
    starts in the site's language) and closes its own database connection."""
    import threading

    from django.db import connection
    from django.utils import translation

    barrier = threading.Barrier(len(calls))
    results: list[object] = []
    lock = threading.Lock()

    def run(call):
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):
                result: object = call()
        except Exception as exc:  # collected for the test to assert on
            result = exc
        finally:
            connection.close()
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results
