"""Serve the app as production would, on loopback, for the length of a benchmark run.

A run gets its own database (SQLite in a temporary folder, or ``<name>_bench`` on the
PostgreSQL server of ``DATABASE_URL``, dropped and created again each run), its own
``PORTFOLIO_VAR_DIR``, and gunicorn with 2 sync workers and DEBUG off.
"""

import contextlib
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit, urlunsplit

from bench.errors import BenchError, log

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
WORKERS = 2
POSTGRES_SCHEMES = {"postgres", "postgresql"}
_DROP = "DROP DATABASE IF EXISTS {} WITH (FORCE)"

# Variables of the caller's environment the server must not see: the bench sets its own
# database, folders and hasher, and production mode would redirect plain HTTP to HTTPS.
_REMOVED = (
    "DATABASE_URL",
    "DATABASE_URL_FILE",
    "PORTFOLIO_FAST_PASSWORD_HASHER",
    "PORTFOLIO_VAR_DIR",
    "PRIVATE_MEDIA_ROOT",
    "DJANGO_PRODUCTION",
    "DJANGO_SETTINGS_MODULE",
)


def keep_artifacts() -> bool:
    """``BENCH_KEEP=1`` keeps the temporary folder and the bench database for a look."""
    return os.environ.get("BENCH_KEEP", "").strip().lower() in {"1", "true", "on"}


@contextlib.contextmanager
def temporary_var_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="portfolio-bench-"))
    log(f"var dir {path}")
    try:
        yield path
    finally:
        if keep_artifacts():
            log(f"kept {path} (BENCH_KEEP)")
        else:
            shutil.rmtree(path, ignore_errors=True)


def bench_database_url(url: str) -> tuple[str, str]:
    """The URL of the bench database next to ``url``'s, and that database's name."""
    parts = urlsplit(url)
    if parts.scheme not in POSTGRES_SCHEMES:
        raise BenchError(
            f"DATABASE_URL must be a PostgreSQL URL (postgres://...) for the bench; "
            f"got scheme {parts.scheme!r}"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise BenchError("DATABASE_URL names no database")
    bench_name = f"{name}_bench"
    if len(bench_name.encode()) > 63:
        raise BenchError(f"bench database name {bench_name!r} is longer than PostgreSQL allows")
    return urlunsplit(parts._replace(path=f"/{bench_name}")), bench_name


def _admin(bench_url: str, *statements: str) -> None:
    """Run statements about the bench database ``{}`` on the server's ``postgres`` database."""
    import psycopg
    from psycopg import sql

    name = unquote(urlsplit(bench_url).path.lstrip("/"))
    admin_url = urlunsplit(urlsplit(bench_url)._replace(path="/postgres"))
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
            for statement in statements:
                conn.execute(sql.SQL(statement).format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchError(
            f"PostgreSQL refused to set up the bench database {name!r}: {exc}"
        ) from exc


@contextlib.contextmanager
def bench_database() -> Iterator[dict[str, str]]:
    """The database variables for the server: a fresh PostgreSQL database or none (SQLite)."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        log("database: SQLite in the temporary var dir (DATABASE_URL not set)")
        yield {}
        return
    bench_url, name = bench_database_url(url)
    log(f"database: PostgreSQL, fresh database {name!r}")
    _admin(bench_url, _DROP, "CREATE DATABASE {}")
    try:
        yield {"DATABASE_URL": bench_url}
    finally:
        if keep_artifacts():
            log(f"kept database {name!r} (BENCH_KEEP)")
        else:
            _admin(bench_url, _DROP)


def server_env(var_dir: Path, database_env: Mapping[str, str]) -> dict[str, str]:
    """The environment of manage.py and gunicorn: the caller's, set up for the bench.

    REDIS_URL, CELERY_BROKER_URL and anything else not listed in ``_REMOVED`` pass through.
    """
    env = {key: value for key, value in os.environ.items() if key not in _REMOVED}
    env.update(
        DJANGO_SETTINGS_MODULE="portfolio.settings",
        DJANGO_DEBUG="0",
        DJANGO_ALLOWED_HOSTS=f"{HOST},localhost",
        PORTFOLIO_BENCH_VIEWS="1",
        PORTFOLIO_VAR_DIR=str(var_dir),
        PYTHONUNBUFFERED="1",
    )
    env.update(database_env)
    return env


def manage(env: Mapping[str, str], *args: str, timeout: float = 600) -> str:
    """Run ``manage.py`` with the server's environment; its output, or BenchError."""
    command = [sys.executable, str(ROOT / "manage.py"), *args]
    started = time.monotonic()
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"manage.py {' '.join(args)} took more than {timeout:.0f} s") from exc
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0:
        raise BenchError(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{_tail(output)}")
    log(f"manage.py {' '.join(args)}: {time.monotonic() - started:.1f} s")
    return output


def prepare(env: Mapping[str, str]) -> None:
    """Schema, static files (manifest storage needs them with DEBUG off) and the demo school."""
    manage(env, "migrate", "--noinput", "-v0")
    manage(env, "collectstatic", "--noinput", "-v0")
    manage(env, "seed_demo")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM if the bench dies, even by SIGKILL (Linux)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


class Gunicorn:
    """gunicorn serving ``portfolio.wsgi`` on a free loopback port; a context manager.

    It runs in its own process group, stopped as a whole on exit whatever happened.
    """

    def __init__(self, env: Mapping[str, str], log_path: Path, workers: int = WORKERS) -> None:
        self.env = dict(env)
        self.log_path = log_path
        self.workers = workers
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def __enter__(self) -> "Gunicorn":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def command(self) -> Sequence[str]:
        gunicorn = Path(sys.executable).parent / "gunicorn"
        return [
            str(gunicorn),
            "portfolio.wsgi:application",
            "--chdir",
            str(ROOT),
            "--bind",
            f"{HOST}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
            "--error-logfile",
            "-",
        ]

    def start(self, attempts: int = 3) -> None:
        for attempt in range(1, attempts + 1):
            self.port = free_port()
            with self.log_path.open("ab") as log_file:
                self.process = subprocess.Popen(
                    self.command(),
                    cwd=ROOT,
                    env=self.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=_die_with_parent,  # safe: the bench runs no threads here
                )
            log(f"gunicorn pid {self.process.pid} on {self.base_url}, {self.workers} sync workers")
            try:
                self.wait_healthy()
                return
            except BenchError:
                in_use = "in use" in self.log_text()
                self.stop()
                if not in_use or attempt == attempts:
                    raise
                log(f"port {self.port} was taken meanwhile; trying another")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_healthy(self, timeout: float = 60) -> None:
        """Until ``/healthz`` answers 200 with ``"ok": true``; BenchError if it never does."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchError(
                    f"gunicorn exited ({self.process.returncode}) before answering:\n"
                    f"{_tail(self.log_text())}"
                )
            conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                conn.request("GET", "/healthz")
                response = conn.getresponse()
                body = response.read()
                if response.status == 200 and json.loads(body).get("ok") is True:
                    log("healthz: 200")
                    return
                last = f"{response.status} {body[:300]!r}"
            except (OSError, http.client.HTTPException, ValueError) as exc:
                last = f"{exc.__class__.__name__}: {exc}"
            finally:
                conn.close()
            time.sleep(0.2)
        raise BenchError(
            f"/healthz did not answer 200 within {timeout:.0f} s (last: {last}):\n"
            f"{_tail(self.log_text())}"
        )

    def stop(self, grace: float = 10) -> None:
        """SIGTERM to the whole process group, SIGKILL after ``grace`` seconds."""
        process, self.process = self.process, None
        if process is None:
            return
        pgid = process.pid  # start_new_session: the group id is the master's pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            log("gunicorn ignored SIGTERM; killing its process group")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            process.wait(timeout=grace)
        # Workers left behind by a master that died first still carry the group id.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        log(f"gunicorn stopped ({process.returncode})")
