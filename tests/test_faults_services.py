"""Redis and PostgreSQL going away and coming back, on real servers of the test's own (never
the machine's: tests/builders/services.py starts a private redis-server and a private
PostgreSQL cluster on free ports).

Redis (the cache, the sessions' cache, the broker): while it is down or hangs, signed-in
people are still served and can sign in and out, each request losing milliseconds; /healthz
says the cache and the broker are down (503) and answers at once; a job started meanwhile is
not a 500 but stays queued, and is sent when Redis is back and run once, by a real worker.
What was written while it hung is not served stale when it is back.

PostgreSQL (a real gunicorn on a private cluster): while it is down a request fails at once
(500, /healthz 503), and once it is back the same server process answers again, the first
request after a restart included; a connection killed under the server is replaced as well.
"""

import base64
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from portfolio import cache as tolerant_cache
from portfolio import jobs
from portfolio.models import Job, JobStatus
from submissions import export
from tests.builders.people import PASSWORD, acting, client_for
from tests.builders.portfolio import World
from tests.builders.services import (
    POSTGRES_MISSING,
    REDIS_SERVER,
    celery_broker,
    private_postgres,
    private_redis,
)
from tests.builders.web import real_web
from tests.builders.worker import REPO, database_url, log_tail, real_worker, wait_for

ON_POSTGRES = connection.vendor == "postgresql"
NEEDS_REDIS = pytest.mark.skipif(not REDIS_SERVER, reason="no redis-server on this machine")
NEEDS_POSTGRES = pytest.mark.skipif(not ON_POSTGRES, reason="the PostgreSQL run covers these")
# A request while a service is down must still answer within this (it takes milliseconds; a
# Redis that hangs costs one half-second timeout).
PROMPT = 3.0


@contextmanager
def timed(limit: float = PROMPT):
    """Fails if the block takes longer than ``limit`` seconds."""
    started = time.monotonic()
    yield
    took = time.monotonic() - started
    assert took < limit, f"took {took:.1f} s"


# --- Redis ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def redis_settings() -> dict:
    """The cache and session settings production derives from REDIS_URL (read from the real
    settings module in a process of its own), for a test to point at its private Redis."""
    probe = (
        "import json; from django.conf import settings; "
        "print(json.dumps([settings.CACHES, settings.SESSION_ENGINE]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {probe}"],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "portfolio.settings",
             "REDIS_URL": "redis://127.0.0.1:1/0"},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    caches, engine = json.loads(done.stdout.strip().splitlines()[-1])
    return {"cache": caches["default"], "session_engine": engine}


@pytest.fixture
def redis(settings, redis_settings, monkeypatch):
    """A private Redis holding this test's cache (database 0) and sessions' cache, with the
    cache's settings from production; it waits 0.2 s, not 2, before trying Redis again."""
    monkeypatch.setattr(tolerant_cache, "RETRY_AFTER_SECONDS", 0.2)
    monkeypatch.setattr(tolerant_cache, "_warned_at", [])
    with private_redis() as server:
        settings.CACHES = {"default": {**redis_settings["cache"], "LOCATION": server.url(0)}}
        settings.SESSION_ENGINE = redis_settings["session_engine"]
        yield server


def _back(server) -> None:
    """Start Redis again and let the cache's pause after a failure pass."""
    server.start()
    time.sleep(tolerant_cache.RETRY_AFTER_SECONDS + 0.05)


def _signed_in(response) -> bool:
    return response.wsgi_request.user.is_authenticated


@NEEDS_REDIS
def test_the_settings_take_redis_errors_as_misses(redis_settings):
    assert redis_settings["cache"]["BACKEND"] == "portfolio.cache.FaultTolerantRedisCache"
    options = redis_settings["cache"]["OPTIONS"]
    assert options["socket_connect_timeout"] <= 1 and options["socket_timeout"] <= 1
    assert redis_settings["session_engine"] == "django.contrib.sessions.backends.cached_db"


@NEEDS_REDIS
def test_people_are_served_and_sign_in_while_redis_is_down(redis, school, make_member, caplog):
    from django.core.cache import cache

    teacher = make_member(school, Role.TEACHER)
    client = client_for(teacher)
    assert client.get("/").status_code == 200
    assert redis.client().dbsize() > 0  # the session is cached there

    redis.stop()
    with timed():
        response = client.get("/")
    assert response.status_code == 200 and _signed_in(response)
    assert "Redis cache unreachable" in caplog.text
    # A sign-in (its rate limits live in the cache) and a sign-out work too.
    newcomer = make_member(school, Role.TEACHER)
    fresh = Client()
    with timed():
        response = fresh.post(
            reverse("account_login"),
            {"login": newcomer.user.username, "password": PASSWORD},
        )
    assert response.status_code == 302, response.content[:500]
    assert _signed_in(fresh.get("/"))
    with timed():
        fresh.post(reverse("account_logout"))
    assert not _signed_in(fresh.get("/"))
    warnings = [r for r in caplog.records if "Redis cache unreachable" in r.getMessage()]
    assert len(warnings) == 1, "said once a minute, not once a request"

    _back(redis)
    response = client.get("/")
    assert response.status_code == 200 and _signed_in(response)
    cache.set("after", "back")
    assert cache.get("after") == "back"
    assert redis.client().dbsize() > 0  # the session is cached again


@NEEDS_REDIS
def test_what_changed_while_redis_hung_is_not_served_stale_after(redis, school, make_member):
    """Redis frozen (SIGSTOP: connections hang, not refused): a sign-out then waits for a
    timeout, not for Redis; once it answers again the signed-out session, which Redis still
    holds, is not signed in."""
    teacher = make_member(school, Role.TEACHER)
    client = client_for(teacher)
    assert client.get("/").status_code == 200
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert redis.process is not None
    redis.process.send_signal(signal.SIGSTOP)
    try:
        with timed():
            client.post(reverse("account_logout"))
        with timed():
            assert not _signed_in(client.get("/"))
    finally:
        redis.process.send_signal(signal.SIGCONT)
    time.sleep(tolerant_cache.RETRY_AFTER_SECONDS + 0.05)

    stolen = Client()
    stolen.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    assert not _signed_in(stolen.get("/"))
    assert _signed_in(client_for(teacher).get("/"))


@NEEDS_REDIS
def test_healthz_says_redis_is_down_at_once(redis, settings, db):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with celery_broker(redis.url(1)):
        assert Client().get("/healthz").status_code == 200
        redis.stop()
        with timed():
            response = Client().get("/healthz")
        body = response.json()
        assert response.status_code == 503, body
        assert body["ok"] is False
        assert body["checks"]["cache"]["ok"] is False
        assert body["checks"]["broker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True

        redis.start()
        response = Client().get("/healthz")
        assert response.status_code == 200, response.json()


def _student_world(school, make_member):
    """World's student, signed in as a student: (world, their membership)."""
    world = World(school)
    member = make_member(school, Role.STUDENT)
    world.student.user = member.user
    world.student.save()
    return world, member


def _queued_messages(server, db: int) -> list[tuple[str, list]]:
    """The tasks waiting in the broker's queue (kombu's Redis messages): (name, args) each."""
    found = []
    for raw in server.client(db).lrange("celery", 0, -1):
        message = json.loads(raw)
        body = message["body"]
        if message["properties"].get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args, _kwargs, _embed = json.loads(body)
        found.append((message["headers"]["task"], args))
    return found


@NEEDS_REDIS
def test_a_job_started_while_the_broker_is_down_is_sent_when_it_is_back(
    redis, school, make_member, django_capture_on_commit_callbacks, caplog
):
    _world, member = _student_world(school, make_member)
    client = client_for(member)
    with celery_broker(redis.url(1)):
        redis.stop()
        with timed(), django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("portfolioexport:start"))
        assert response.status_code == 302
        job = Job.objects.get(kind=export.EXPORT_JOB)
        assert job.status == JobStatus.QUEUED
        assert (
            f"portfolio.tasks.run_job({job.pk},) not sent, the broker is unreachable" in caplog.text
        )
        # Its page answers meanwhile.
        assert client.get(reverse("portfolioexport:detail", args=[job.pk])).status_code == 200
        later = job.created_at + jobs.REQUEUE_AFTER
        with timed():
            assert jobs.jobs_requeue(now=later) == 0  # still down: tried, not counted

        _back(redis)
        assert jobs.jobs_requeue(now=later - dt.timedelta(seconds=1)) == 0  # not yet due
        assert jobs.jobs_requeue(now=later) == 1
        assert _queued_messages(redis, 1) == [("portfolio.tasks.run_job", [job.pk])]
        # Sent once: the next sweeps leave it to the worker (until SENT_MARK has passed).
        assert jobs.jobs_requeue(now=later + dt.timedelta(minutes=5)) == 0
        assert len(_queued_messages(redis, 1)) == 1


def test_a_job_sent_twice_runs_once(school, make_member, django_capture_on_commit_callbacks):
    """A job sent again while its first message is still on its way: one delivery runs it,
    and a finished job is never sent again."""
    world, member = _student_world(school, make_member)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = export.export_start(student=world.student, by=acting(member))
    assert len(callbacks) == 1
    jobs.job_run(job.pk)
    started = Job.objects.get(pk=job.pk).started_at
    jobs.job_run(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.started_at == started
    assert jobs.jobs_requeue(now=timezone.now() + dt.timedelta(hours=2)) == 0


@pytest.mark.celery_worker
@NEEDS_REDIS
@pytest.mark.skipif(not ON_POSTGRES, reason="a worker process cannot see SQLite's test DB")
def test_a_real_worker_runs_the_job_started_while_redis_was_down(
    transactional_db, redis, school, make_member, storage_dir
):
    """The whole way on a real worker: the request while the broker is down, Redis back, the
    beat task (run by the worker) sending the job again, the worker running it, once."""
    from portfolio.tasks import requeue_jobs

    _world, member = _student_world(school, make_member)
    client = client_for(member)
    with celery_broker(redis.url(1)):
        redis.stop()
        with timed():
            response = client.post(reverse("portfolioexport:start"))
        assert response.status_code == 302
        job = Job.objects.get(kind=export.EXPORT_JOB)
        assert job.status == JobStatus.QUEUED
        # As if beat's next minute had come.
        Job.objects.filter(pk=job.pk).update(created_at=job.created_at - jobs.REQUEUE_AFTER)

        redis.start()
        environment = {
            "CELERY_BROKER_URL": redis.url(1),
            "CELERY_RESULT_BACKEND": redis.url(1),
            "REDIS_URL": redis.url(2),
            "PRIVATE_MEDIA_ROOT": str(storage_dir),
        }
        with real_worker("faults", env=environment) as worker:
            requeue_jobs.delay()
            wait_for(
                lambda: Job.objects.filter(pk=job.pk, status=JobStatus.SUCCEEDED).exists(),
                "the job to run",
                worker,
                seconds=60,
            )
            assert "not sent" not in log_tail(worker.log)
    job.refresh_from_db()
    assert job.result["file_name"].endswith(".zip") and job.result_file


# --- PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def postgres(django_db_setup):
    """A private cluster whose database "portfolio" has the test database's tables."""
    if POSTGRES_MISSING:
        pytest.skip(f"no private PostgreSQL cluster here: {POSTGRES_MISSING}")
    with private_postgres() as server:
        try:
            server.copy_schema(database_url(), "portfolio")
        except subprocess.CalledProcessError:  # a pg_dump older than the server: migrate
            _manage(server, "manage.py", "migrate", "--noinput", "-v0")
        yield server


SESSION_SCRIPT = """
import django
django.setup()
from django.test import Client
from accounts.models import User
user = User.objects.create_user("faults", "faults@example.org", None)
client = Client()
client.force_login(user)
print(client.cookies["sessionid"].value)
"""


def _manage(server, *argv: str) -> str:
    """Run Python (``argv``) on the private cluster's database "portfolio"; what it printed."""
    environment = {
        **os.environ,
        "DATABASE_URL": server.url("portfolio"),
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }
    done = subprocess.run(
        [sys.executable, *argv], cwd=REPO, env=environment, capture_output=True, text=True,
        timeout=180, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _signed_in_cookie(server) -> str:
    """Someone signed in on the private cluster: their session cookie."""
    return _manage(server, "-c", SESSION_SCRIPT).strip().splitlines()[-1]


def _home(web, cookie: str) -> requests.Response:
    """The home page of someone with no role: it reads their session (the database) and sends
    them to pick a role, not to sign in."""
    return requests.get(
        f"{web.base_url}/", cookies={"sessionid": cookie}, allow_redirects=False, timeout=10
    )


def _served(response: requests.Response) -> bool:
    return response.status_code == 302 and "/switch" in response.headers["Location"]


@NEEDS_POSTGRES
def test_postgresql_restarted_under_a_running_server(postgres):
    cookie = _signed_in_cookie(postgres)
    app = {"DATABASE_URL": postgres.url("portfolio"), "REDIS_URL": "", "CELERY_BROKER_URL": ""}
    with real_web(env=app) as web:
        assert _served(_home(web, cookie))
        workers = web.worker_pids()

        # Restarted between two requests: the kept connection is dead; the next request
        # finds that out before using it and opens a new one.
        postgres.stop()
        postgres.start()
        assert _served(_home(web, cookie))

        # Down: requests fail at once and cleanly, /healthz says which service.
        postgres.stop()
        with timed():
            response = _home(web, cookie)
        assert response.status_code == 500
        with timed():
            health = requests.get(f"{web.base_url}/healthz", timeout=10)
        assert health.status_code == 503
        assert health.json()["checks"]["database"]["ok"] is False
        assert health.json()["checks"]["cache"]["ok"] is True

        postgres.start()
        assert _served(_home(web, cookie))
        assert requests.get(f"{web.base_url}/healthz", timeout=10).status_code == 200
        assert web.worker_pids() == workers, "recovered without a new worker"


@NEEDS_POSTGRES
def test_a_connection_killed_under_the_server_is_replaced(transactional_db, school, make_member):
    """The server's kept connection ended from the database's side (pg_terminate_backend, as a
    restart or an idle timeout does): the next request reconnects and succeeds."""
    teacher = make_member(school, Role.TEACHER)
    cookie = client_for(teacher).cookies[settings.SESSION_COOKIE_NAME].value
    name = "portfolio-faults-web"
    app = {"DATABASE_URL": f"{database_url()}?application_name={name}", "REDIS_URL": ""}
    with real_web(env=app) as web:

        def home() -> requests.Response:
            return requests.get(
                f"{web.base_url}/", cookies={"sessionid": cookie}, allow_redirects=False,
                timeout=10,
            )  # fmt: skip

        assert home().status_code == 200
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                [name],
            )
            assert cursor.fetchall(), "the server keeps its connection between requests"
        assert home().status_code == 200
