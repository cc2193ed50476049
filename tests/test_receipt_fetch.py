"""The receipt fetched over the transport from the simulated central database (real HTTP to
the live server): the rosters submitted over HTTP come back as a receipt, with the line the
simulator was told to drop missing and the one it was told to alter different; fetching
again imports a new receipt file only when the simulator made a different one."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Role
from portfolio.models import Job
from submissions.models import LineStatus, Receipt, ReceiptLine
from submissions.services import receipts, rosters
from tests.builders.people import acting, client_for, english
from tests.builders.rosters import SelectedYear, build

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def simulated(settings, live_server):
    settings.CENTRAL_TRANSPORT = "http"
    settings.CENTRAL_HTTP_URL = f"{live_server.url}/centralsim/iscom_api/"
    settings.CENTRAL_API_KEY = settings.CENTRAL_SIM_API_KEY = "sim-key"
    return live_server


def test_registry_fetches_the_receipt_and_sees_the_dropped_and_altered_lines(
    simulated, school, make_member, tmp_path, django_capture_on_commit_callbacks
):
    registry = make_member(school, Role.REGISTRY)
    world = SelectedYear(school)
    by = acting(registry)
    for kind in ("outcomes", "performances"):
        package = build(by, kind, world.year, capture=django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            rosters.package_submit(package=package, acting=by)
    first, second = world.students
    call_command(
        "centralsim", "receipt", school.code, str(world.year.roc_year),
        "--drop", first.national_id, "--alter", second.national_id, "--out", str(tmp_path),
    )  # fmt: skip
    client = english(client_for(registry))
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("receipts:fetch"), {"school_year": world.year.roc_year})
    job = Job.objects.get(kind=receipts.FETCH_JOB)
    assert started["Location"] == reverse("receipts:job", args=[job.pk])
    assert job.result.get("new"), job.result
    receipt = Receipt.objects.get(pk=job.result["receipt"])
    assert receipt.via == "transport"
    problems = ReceiptLine.objects.problems().filter(receipt=receipt)
    assert {(line.student_id, line.status) for line in problems} == {
        (first.pk, LineStatus.MISSING),
        (second.pk, LineStatus.DIFFERENT),
    }
    assert receipt.counts["received"] == 2
    assert "密碼" not in str(job.params) and "secret" not in job.params
