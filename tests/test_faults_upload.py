"""The web worker killed (SIGKILL) in the middle of uploads, on a real gunicorn against the
test database (PostgreSQL): afterwards no course-outcome row is without its file (each file
there with the sha256 its row holds), and once the nightly sweep's grace period has passed,
no stored file is without its row. Uploads are sent slowly (the body in small pieces) and the
worker is killed at times spread over the request: while the body arrives, while the file is
checked and stored, after. The server answers again once the master has started a new worker."""

import datetime as dt
import hashlib
import http.client
import random
import threading
import time
from urllib.parse import urlsplit

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone
from urllib3 import encode_multipart_formdata

from accounts.models import Role
from bench.uploads import make_pdf as sized_pdf
from portfolio.models import Window
from records.models import CourseEnrolment
from submissions.models import CourseOutcome, StoredFile
from submissions.tasks import sweep
from tests.builders.people import client_for
from tests.builders.portfolio import World
from tests.builders.web import csrf_of, real_web, signed_in
from tests.builders.worker import ON_POSTGRES

pytestmark = [
    pytest.mark.skipif(not ON_POSTGRES, reason="a server process cannot see SQLite's test DB"),
    pytest.mark.django_db(transaction=True),
]
KILLS = 8
ADD = "/portfolio/outcomes/add/"


def _world(school, make_member) -> tuple[World, list[CourseEnrolment]]:
    world = World(school)
    world.policy.outcome_upload_cap_per_term = 20
    world.policy.save()
    now = timezone.now()
    window = Window.objects.get(pk=world.window.pk)
    window.starts_at, window.ends_at = now - dt.timedelta(days=1), now + dt.timedelta(days=5)
    window.save()
    member = make_member(school, Role.STUDENT)
    world.student.user = member.user
    world.student.save()
    world.member = member
    enrolments = [world.enrolment] + [
        world.enrol(world.student, world.term1, f"Course{n}", code=f"1130C{n:02d}".ljust(23, "0"))
        for n in range(KILLS + 2)
    ]
    return world, enrolments


def _post_slowly(base_url: str, cookies: str, fields: dict, pieces: int = 40) -> int | None:
    """POST the multipart form in ``pieces``, 10 ms apart; the status, or None when the
    connection died with the worker."""
    body, content_type = encode_multipart_formdata(fields)
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        connection.putrequest("POST", ADD)
        connection.putheader("Content-Type", content_type)
        connection.putheader("Content-Length", str(len(body)))
        connection.putheader("Cookie", cookies)
        connection.putheader("Referer", f"{base_url}{ADD}")
        connection.endheaders()
        step = len(body) // pieces + 1
        for start in range(0, len(body), step):
            connection.send(body[start : start + step])
            time.sleep(0.01)
        return connection.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def _fields(session, base_url: str, enrolment: CourseEnrolment, n: int) -> dict:
    return {
        "csrfmiddlewaretoken": csrf_of(session, f"{base_url}{ADD}"),
        "enrolment": str(enrolment.pk),
        "title": f"Report {n}",
        "description": "Measured in the lab.",
        "document": (f"report-{n}.pdf", sized_pdf(1024 * 1024 + n), "application/pdf"),
    }


def test_a_worker_killed_mid_upload_leaves_no_row_without_file_nor_file_without_row(
    school, make_member, storage_dir
):
    world, enrolments = _world(school, make_member)
    client = client_for(world.member)
    rng = random.Random(12)
    statuses = []
    with real_web({"PRIVATE_MEDIA_ROOT": str(storage_dir)}) as web:
        session = signed_in(web, client)
        for n in range(KILLS):
            fields = _fields(session, web.base_url, enrolments[n], n)
            cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
            result: list[int | None] = []
            sender = threading.Thread(
                target=lambda f=fields, c=cookies, r=result: r.append(
                    _post_slowly(web.base_url, c, f)
                )
            )
            sender.start()
            time.sleep(rng.uniform(0.05, 0.9))
            killed = web.kill_workers()
            sender.join(timeout=90)
            statuses.append((result[0] if result else "hung", killed))
            web.wait_ready()
        # The server works after all that: two uploads not interrupted are stored.
        for n in range(KILLS, KILLS + 2):
            fields = _fields(session, web.base_url, enrolments[n], n)
            cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
            assert _post_slowly(web.base_url, cookies, fields, pieces=1) == 302
    print("statuses (answer, workers killed):", statuses)
    assert all(status != "hung" for status, _killed in statuses), statuses
    assert sum(killed for _status, killed in statuses) >= KILLS

    rows = list(CourseOutcome.objects.filter(student=world.student).select_related("document"))
    assert len(rows) >= 2, statuses
    for outcome in rows:  # no row without its file, whole
        stored = outcome.document
        with default_storage.open(stored.storage_path) as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == stored.sha256

    # After the sweep's grace periods, nothing in storage without its row.
    sweep(now=timezone.now() + dt.timedelta(days=2))
    named = set(StoredFile.objects.values_list("storage_key", flat=True))
    on_disk = {path.name for path in (storage_dir / "files").rglob("*") if path.is_file()}
    assert on_disk == {key for key in named if key in on_disk}
    assert len(on_disk) == StoredFile.objects.count() == len(rows), (on_disk, named)
