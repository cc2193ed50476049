"""A real `celery worker` subprocess on the test database (PostgreSQL) and the real broker,
for the tests marked ``celery_worker``; ``REAL_WORKER_MARKS`` skips them elsewhere."""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parent.parent.parent
BROKER = os.environ.get("CELERY_BROKER_URL", "")
ON_POSTGRES = "postgresql" in settings.DATABASES["default"]["ENGINE"]
READY_SECONDS = 60

REAL_WORKER_MARKS = [
    pytest.mark.celery_worker,
    # One xdist worker runs them all: they share the broker's queue.
    pytest.mark.xdist_group("celery_worker"),
    pytest.mark.skipif(not BROKER, reason="CELERY_BROKER_URL is not set"),
    pytest.mark.skipif(
        not ON_POSTGRES, reason="needs PostgreSQL: a worker process cannot see SQLite's test DB"
    ),
]


def database_url() -> str:
    """The test database (pytest-django has renamed NAME by now) as a DATABASE_URL."""
    db = settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or ""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{quote(db['NAME'], safe='')}"


def _celery_bin() -> str:
    beside_python = Path(sys.executable).with_name("celery")
    if beside_python.exists():
        return str(beside_python)
    return str(REPO / ".venv" / "bin" / "celery")


def log_tail(log, limit: int = 4000) -> str:
    log.flush()
    return Path(log.name).read_text(errors="replace")[-limit:]


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # warm shutdown: the solo pool finishes its task and leaves
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def real_worker(
    name: str = "pytest", env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen]:
    """A worker on the test database, yielded once it answers a ping; stopped after (if it is
    still alive: a test may kill it)."""
    from portfolio.celery import app

    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": BROKER,
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    environment.pop("CELERY_TASK_ALWAYS_EAGER", None)
    # The celery command takes BROKER_URL and RESULT_BACKEND from the environment before the
    # settings (its --broker and --result-backend options): a caller's (CI exports one) must
    # not win over the broker this worker is given.
    environment["BROKER_URL"] = environment["CELERY_BROKER_URL"]
    if environment.get("CELERY_RESULT_BACKEND"):
        environment["RESULT_BACKEND"] = environment["CELERY_RESULT_BACKEND"]
    else:
        environment.pop("RESULT_BACKEND", None)
    hostname = f"{name}-{os.getpid()}@%h"
    with tempfile.NamedTemporaryFile("w+", prefix="celery-worker-", suffix=".log") as log:
        process = subprocess.Popen(
            [
                _celery_bin(), "-A", "portfolio", "worker", "--pool=solo", "--concurrency=1",
                "-l", "warning", "--without-heartbeat", "--without-gossip", "--without-mingle",
                "-n", hostname,
            ],
            cwd=REPO, env=environment, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + READY_SECONDS
            me = hostname.replace("%h", "")
            while True:
                if process.poll() is not None:
                    pytest.fail(f"celery worker exited with {process.returncode}:\n{log_tail(log)}")
                replies = app.control.ping(timeout=1.0)
                if any(me in host for reply in replies for host in reply):
                    break
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"celery worker not ready after {READY_SECONDS} s:\n{log_tail(log)}"
                    )
            # Another worker on this queue would take some of these tests' tasks and run them
            # on its own database: fail plainly rather than count wrong.
            others = [host for reply in replies for host in reply if me not in host]
            assert not others, f"other workers consume this broker's queue: {others}"
            process.log = log  # type: ignore[attr-defined]
            yield process
        finally:
            stop(process)


WAIT_SECONDS = 120


def wait_for(check, what: str, process=None, seconds: float = WAIT_SECONDS) -> None:
    """Poll ``check`` until it is true; fail with the worker's log if the worker died, or
    after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        if process is not None and process.poll() is not None:
            pytest.fail(f"the worker died while waiting for {what}:\n{log_tail(process.log)}")
        if time.monotonic() > deadline:
            tail = f":\n{log_tail(process.log)}" if process is not None else ""
            pytest.fail(f"no {what} after {seconds} s{tail}")
        time.sleep(0.05)
