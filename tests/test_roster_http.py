"""Submitting a roster over HTTP (CENTRAL_TRANSPORT=http): the platform sends the workbook to
the central database (a fake one speaking the 2018 protocol on 127.0.0.1), the periodic task
polls for its answer, and the registry reads it: accepted, or errors per roster, row and
column; a central database that cannot be reached is tried again."""

import socket

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import Role
from portfolio.models import AuditLog
from submissions import tasks
from submissions.models import PackageState
from tests.builders.central_server import FakeCentral, serving
from tests.builders.people import acting, client_for, english
from tests.builders.rosters import SelectedYear, build

API_KEY = "school-api-key"


@pytest.fixture
def central(settings):
    fake = FakeCentral(api_key=API_KEY)
    with serving(fake) as base_url:
        settings.CENTRAL_TRANSPORT = "http"
        settings.CENTRAL_HTTP_URL = base_url
        settings.CENTRAL_API_KEY = API_KEY
        settings.CENTRAL_HTTP_TIMEOUT = 5
        yield fake


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


def _built(school, registry, capture):
    world = SelectedYear(school)
    return build(acting(registry), "outcomes", world.year, capture=capture)


def _submit(client, package, capture):
    with capture(execute=True):
        client.post(reverse("rosters:submit", args=[package.pk]))
    package.refresh_from_db()


def test_sent_then_accepted(school, registry, central, django_capture_on_commit_callbacks):
    package = _built(school, registry, django_capture_on_commit_callbacks)
    client = english(client_for(registry))
    assert (
        b"Submit to the central database"
        in client.get(reverse("rosters:package", args=[package.pk])).content
    )
    _submit(client, package, django_capture_on_commit_callbacks)
    assert package.state == PackageState.SUBMITTED and package.transport == "http"
    assert package.reference
    # The workbook, then the zip of the students' files, each with its FID.
    workbook, files = central.received.values()
    assert len(package.reference.split(",")) == 2
    with package.workbook.open("rb") as handle:
        assert workbook.workbook == handle.read()
    with package.files_zip.open("rb") as handle:
        assert files.workbook == handle.read()
    assert files.file_info["副檔名"] == ".zip" and workbook.file_info["副檔名"] == ".xlsx"
    assert workbook.file_info["名冊別"] in (26, "26") and workbook.file_info["學期"] in (0, "0")
    assert workbook.file_info["Signature"] == package.workbook_sha256.upper()

    tasks.send_roster_packages()  # the first answer: still being checked
    package.refresh_from_db()
    assert package.state == PackageState.SUBMITTED
    html = client.get(reverse("rosters:package", args=[package.pk])).content.decode()
    assert "waiting for the central database" in html
    tasks.send_roster_packages()
    package.refresh_from_db()
    assert package.state == PackageState.ACCEPTED and package.answered_at
    html = client.get(reverse("rosters:package", args=[package.pk])).content.decode()
    assert "Accepted by the central database" in html
    assert {"roster.send", "roster.answer"} <= set(
        AuditLog.objects.values_list("action", flat=True)
    )
    tasks.send_roster_packages()  # answered: nothing more is asked
    assert len(central.received) == 2


def test_errors_come_back_per_roster_row_and_column(
    school, registry, central, django_capture_on_commit_callbacks
):
    central.errors = [
        {
            "錯誤名冊": "26",
            "錯誤行數": 2,
            "詳細資訊": {"狀態": False, "錯誤代碼": ["E012"], "錯誤說明": ["出生日期格式錯誤"],
                         "例外說明": ""},
            "錯誤資料": "出生日期: 0980501",
        }
    ]  # fmt: skip
    package = _built(school, registry, django_capture_on_commit_callbacks)
    client = english(client_for(registry))
    _submit(client, package, django_capture_on_commit_callbacks)
    tasks.send_roster_packages()
    tasks.send_roster_packages()
    package.refresh_from_db()
    assert package.state == PackageState.REJECTED
    html = client.get(reverse("rosters:package", args=[package.pk])).content.decode()
    assert "Errors returned by the central database" in html
    assert "出生日期格式錯誤" in html and "出生日期" in html
    # Still frozen: the office reopens it to send a corrected build.
    assert package.is_frozen and "Reopen the roster" in html


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/iscom_api/"


def test_unreachable_then_sent_by_the_periodic_task(
    school, registry, central, settings, django_capture_on_commit_callbacks
):
    package = _built(school, registry, django_capture_on_commit_callbacks)
    working = settings.CENTRAL_HTTP_URL
    settings.CENTRAL_HTTP_URL = _closed_port()
    client = english(client_for(registry))
    _submit(client, package, django_capture_on_commit_callbacks)
    assert package.state == PackageState.SUBMITTED and not package.reference
    assert package.send_failed_at is not None
    with translation.override("en"):
        html = client.get(reverse("rosters:package", args=[package.pk])).content.decode()
    assert "could not be reached" in html and not central.received
    settings.CENTRAL_HTTP_URL = working
    tasks.send_roster_packages()
    package.refresh_from_db()
    assert package.reference and package.send_failed_at is None and len(central.received) == 2
