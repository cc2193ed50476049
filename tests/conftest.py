"""Shared fixtures: two schools, members built through the real services, signed-in clients.

Naming follows healthchecks' habit: ``alice`` owns, ``bob`` is in the same school without
the right, ``charlie`` belongs to another school.
"""

import os
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from accounts import services as account_services  # noqa: E402
from accounts.models import Division, Membership, Role  # noqa: E402
from portfolio.lib import roc  # noqa: E402
from tests.builders.people import PASSWORD, client_for, make_school_with_year


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
