"""The simulated central database: the platform's http transport sends a roster package to
it over real HTTP (the live server), it checks the workbook and the files zip and answers on
the second question; a bad file gets errors per row and column; a wrong key or GUID is
refused; everything is 404 when the simulation is off; the command takes a file directly."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from openpyxl import load_workbook

from accounts.models import Role
from centralsim import server
from centralsim.models import SimUpload
from submissions import tasks
from submissions.models import PackageState
from submissions.services import rosters
from tests.builders.people import acting, client_for, english
from tests.builders.rosters import SelectedYear, build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulated(settings, live_server):
    settings.CENTRAL_TRANSPORT = "http"
    settings.CENTRAL_HTTP_URL = f"{live_server.url}/centralsim/iscom_api/"
    settings.CENTRAL_API_KEY = settings.CENTRAL_SIM_API_KEY = "sim-key"
    return live_server


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


def test_a_package_is_received_checked_and_accepted(
    simulated, school, registry, django_capture_on_commit_callbacks
):
    world = SelectedYear(school)
    by = acting(registry)
    package = build(by, "outcomes", world.year, capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        rosters.package_submit(package=package, acting=by)
    package.refresh_from_db()
    assert package.reference, package.answer
    workbook, files = SimUpload.objects.order_by("pk")
    assert (workbook.roster, workbook.term, workbook.school_code) == (26, 0, school.code)
    assert workbook.sha256 == package.workbook_sha256 and files.sha256 == package.files_zip_sha256
    assert workbook.problems == [] and files.problems == []
    tasks.send_roster_packages()
    package.refresh_from_db()
    assert package.state == PackageState.SUBMITTED  # the first answer: still checking
    client = english(client_for(registry))
    client.post(reverse("rosters:poll", args=[package.pk]))  # asked again from the page
    package.refresh_from_db()
    assert package.state == PackageState.ACCEPTED
    page = client.get(reverse("centralsim:received")).content.decode()
    assert "Simulation" in page and package.file_name in page


def test_a_wrong_file_gets_errors_per_row_and_column(
    simulated, school, registry, django_capture_on_commit_callbacks
):
    world = SelectedYear(school)
    by = acting(registry)
    package = build(by, "outcomes", world.year, capture=django_capture_on_commit_callbacks)
    with package.workbook.open("rb") as handle:
        book = load_workbook(io.BytesIO(handle.read()))
    book["學期課程學習成果"]["A2"] = "A123456788"  # a checksum that fails
    broken = io.BytesIO()
    book.save(broken)
    broken.seek(0)
    received = server.accept_file(broken, package.file_name)
    assert [(p["row"], p["field"]) for p in received.problems] == [(2, "身分證號")]
    message = server.error_message(received.problems[0])
    assert message["錯誤行數"] == 2 and message["錯誤資料"].startswith("身分證號")


def test_refusals_and_the_switch(simulated, settings, client):
    url = reverse("centralsim:public_key")
    answer = client.post(url, b"{}", content_type="application/json").json()
    assert answer["GUID"] and "RSAKeyValue" in answer["PublicKey"]
    bad = client.post(
        reverse("centralsim:upload") + "?GUID=not-a-guid&FileName=x.bin",
        b"data",
        content_type="application/octet-stream",
    )
    assert bad.status_code == 400 and "GUID" in bad.json()["錯誤"]
    settings.CENTRAL_SIMULATOR = False
    assert client.post(url, b"{}", content_type="application/json").status_code == 404


def test_the_command_takes_a_file(tmp_path, school):
    path = tmp_path / f"{school.code}_115_0_26_20261204_10_00_00.xlsx"
    path.write_bytes(b"not a workbook")
    with pytest.raises(CommandError, match="errors"):
        call_command("centralsim", "accept", str(path), stdout=io.StringIO())
    assert SimUpload.objects.get().problems[0]["code"] == "E_NOT_XLSX"
    with pytest.raises(CommandError, match="file name"):
        other = tmp_path / "roster.xlsx"
        other.write_bytes(b"x")
        call_command("centralsim", "accept", str(other), stdout=io.StringIO())
