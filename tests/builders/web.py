"""A real gunicorn (sync workers) serving the platform on the test database (PostgreSQL), for
the fault tests that kill its workers; and a browser-less client signed in through a session
made in the test process."""

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from django.conf import settings
from django.test import Client

from tests.builders.services import free_port
from tests.builders.worker import REPO, database_url, log_tail

READY_SECONDS = 60


class Web:
    def __init__(self, process: subprocess.Popen, base_url: str, log) -> None:
        self.process = process
        self.base_url = base_url
        self.log = log

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc."""
        found = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{self.process.pid}$", text, re.M):
                found.append(int(status.parent.name))
        return found

    def kill_workers(self) -> int:
        """SIGKILL every worker (the master starts new ones); how many were killed."""
        pids = self.worker_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return len(pids)

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{log_tail(self.log)}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.base_url}/healthz", timeout=2).status_code < 600:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in {READY_SECONDS} s:\n{log_tail(self.log)}")


@contextlib.contextmanager
def real_web(env: dict[str, str] | None = None, workers: int = 1) -> Iterator[Web]:
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "portfolio.settings",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        **(env or {}),
    }
    environment.pop("DJANGO_PRODUCTION", None)
    with tempfile.NamedTemporaryFile("w+", prefix="gunicorn-", suffix=".log") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("gunicorn")),
                "portfolio.wsgi",
                "--chdir",
                str(REPO),
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--worker-class",
                "sync",
                "--timeout",
                "60",
                "--graceful-timeout",
                "5",
            ],  # fmt: skip
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        web = Web(process, f"http://127.0.0.1:{port}", log)
        try:
            web.wait_ready()
            yield web
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def signed_in(web: Web, client: Client) -> requests.Session:
    """A requests session carrying ``client``'s session cookie (made with force_login and
    the acting context in the test process), against the real server."""
    session = requests.Session()
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    session.cookies.set(settings.SESSION_COOKIE_NAME, cookie, domain="127.0.0.1")
    return session


def csrf_of(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    page.raise_for_status()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if found is None:
        raise AssertionError(f"no CSRF token on {url} ({page.status_code})")
    return found.group(1)
