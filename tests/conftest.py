"""Shared fixtures: two schools, members built through the real services, signed-in clients.

Naming follows healthchecks' habit: ``alice`` owns, ``bob`` is in the same school without
the right, ``charlie`` belongs to another school.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from accounts import services as account_services  # noqa: E402
from accounts.models import Division, Membership, Role  # noqa: E402
from portfolio.lib import roc  # noqa: E402
from tests.builders.people import PASSWORD, client_for, make_school_with_year


def _redis_db(url: str, offset: int, avoid: set[int]) -> str:
    """``url`` on another Redis database number, ``offset`` along and not one of ``avoid``."""
    base, number = url.rsplit("/", 1)
    db = int(number or 0)
    for step in range(offset, offset + 16):
        candidate = (db + step) % 16
        if candidate not in avoid:
            return f"{base}/{candidate}"
    raise RuntimeError("no Redis database left")


@pytest.fixture(scope="session", autouse=True)
def _own_cache_per_xdist_worker(worker_id):
    """Each xdist worker on a Redis cache of its own: tests empty the cache (rate limits),
    which would otherwise clear another worker's counters mid-test. The broker's database
    is never taken (the real-worker tests queue there)."""
    cache = settings.CACHES["default"]
    location = str(cache.get("LOCATION", ""))
    if worker_id == "master" or not location.startswith("redis"):
        yield
        return
    broker = settings.CELERY_BROKER_URL or ""
    avoid = {int(broker.rsplit("/", 1)[1] or 0)} if broker.startswith("redis") else set()
    own = _redis_db(location, int(worker_id.removeprefix("gw")), avoid)
    with override_settings(CACHES={"default": {**cache, "LOCATION": own}}):
        yield


@pytest.fixture(autouse=True)
def _fresh_calendars():
    """Schools' calendars are kept per process by (school, version): a school of an earlier
    test can have the same id and version as this test's (rolled back, ids reused)."""
    from portfolio import calendar

    calendar.forget()
    yield
    calendar.forget()


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


@pytest.fixture(scope="session")
def _live_server_media_url():
    """Settings keep MEDIA_URL = None (no file is ever public), but Django's live-server
    thread wraps the site in a media-files handler that parses MEDIA_URL and fails on None
    ("startswith first arg must be str ... not bytes") for every request. A URL on another
    host makes that handler step aside and serve nothing."""
    from django.test import override_settings

    with override_settings(MEDIA_URL="http://media.invalid/"):
        yield


@pytest.fixture(scope="session")
def live_server(_live_server_media_url, live_server):
    return live_server
