"""Private Redis and PostgreSQL servers for the fault tests: each started by the test on a free
port in a temporary folder of its own, stopped and started again by it, removed after. Never
the machine's own servers (CI's Redis on 6379 and PostgreSQL on 5432), which other tests use.

- ``private_redis()``: a ``redis-server`` without persistence (``REDIS_SERVER`` says whether
  there is one);
- ``private_postgres()``: a cluster made with ``initdb`` (as the current user, or as
  ``postgres`` through ``runuser`` when running as root, as CI does), trust authentication,
  listening on 127.0.0.1 only (``POSTGRES_MISSING`` says why there cannot be one, if so);
- ``celery_broker(url)``: this process's Celery app sending to another broker for a while;
- ``free_port()``.
"""

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from kombu import pools as kombu_pools

REDIS_SERVER = shutil.which("redis-server") or ""
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


# --- Redis ------------------------------------------------------------------------------------


class PrivateRedis:
    """A redis-server on a port of its own, no RDB file, no append-only file: stopped, it
    forgets everything, as a Redis restarted without persistence does."""

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="private-redis-"))
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert self.process is None, "already running"
        self.process = subprocess.Popen(
            [
                REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                "--logfile", str(self.folder / "redis.log"),
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while not self._pings():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.log()}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop the server (SIGTERM) and wait until its port is closed."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None
        deadline = time.monotonic() + 10
        while _answers(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def client(self, db: int = 0):
        import redis

        return redis.Redis.from_url(self.url(db), socket_timeout=2, socket_connect_timeout=1)

    def _pings(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def log(self) -> str:
        path = self.folder / "redis.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@contextlib.contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.folder, ignore_errors=True)


@contextlib.contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """This process's Celery app sends tasks (and controls workers) through ``url``, and keeps
    results there, instead of the configured broker; tasks not run eagerly; as it was
    afterwards. (Celery reads ``CELERY_BROKER_URL`` and ``CELERY_RESULT_BACKEND`` from the
    environment before its settings, so both change.)"""
    from portfolio.celery import app

    names = {"broker_url": "CELERY_BROKER_URL", "result_backend": "CELERY_RESULT_BACKEND"}
    saved_conf = {key: app.conf[key] for key in (*names, "task_always_eager")}
    saved_env = {name: os.environ.get(name) for name in names.values()}
    saved_backend = (app._backend_cache, getattr(app._local, "backend", None))
    _forget_connections(app)
    os.environ.update(dict.fromkeys(names.values(), url))
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _set_backend(app, None, None)  # made again from the new settings when first used
    try:
        yield
    finally:
        _forget_connections(app)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        app.conf.update(saved_conf)
        _set_backend(app, *saved_backend)


def _set_backend(app, shared, local) -> None:
    """The app's result backend, kept either for all threads or (not thread-safe) per thread."""
    app._backend_cache = shared
    if local is None:
        app._local.__dict__.pop("backend", None)
    else:
        app._local.backend = local


def _forget_connections(app) -> None:
    """Close the app's broker connections and pools; the next send opens new ones."""
    if app._pool is not None:
        app._pool.force_close_all()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None and amqp._producer_pool is not None:
        amqp._producer_pool.force_close_all()
        amqp._producer_pool = None
    # kombu keeps producer pools per connection in a registry of its own: a closed one left
    # there is handed out again ("Acquire on closed pool") to the next send to that broker.
    kombu_pools.reset()


# --- PostgreSQL -------------------------------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _postgres_missing() -> str:
    if _postgres_bin() is None:
        return "no /usr/lib/postgresql/*/bin/initdb"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run initdb as"
        if not shutil.which("runuser"):
            return "running as root without runuser"
    return ""


POSTGRES_MISSING = _postgres_missing()


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder, on a free port, trust authentication for
    the ``postgres`` role, reached over TCP on 127.0.0.1 (its socket in its own folder)."""

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        assert bin_dir is not None, POSTGRES_MISSING
        self.bin = bin_dir
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="private-postgres-"))
        self.data = self.folder / "data"
        self.logfile = self.folder / "postgres.log"
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, user="postgres", group="postgres")

    def url(self, name: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def _run(self, *command: str, timeout: float = 60) -> str:
        argv = list(command)
        if self.as_root:
            argv = ["runuser", "-u", "postgres", "--", *argv]
        done = subprocess.run(
            argv, cwd=self.folder, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
                f"\n{self.log()}"
            )
        return done.stdout

    def initdb(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-k {self.folder} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c full_page_writes=off -c synchronous_commit=off"
        )
        self._run(
            str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-l", str(self.logfile),
            "-o", options, "-w", "-t", str(START_SECONDS),
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: ``fast`` ends every session (as a restart does), ``immediate``
        as a crash would."""
        self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", mode, "-w")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def create_database(self, name: str) -> None:
        import psycopg

        dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres connect_timeout=5"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')

    def copy_schema(self, source_url: str, name: str) -> None:
        """Make database ``name`` with the tables of the database at ``source_url`` (the test
        database: migrated already), without its rows; seconds faster than migrating."""
        self.create_database(name)
        dump = subprocess.run(
            [str(self.bin / "pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
             "--dbname", source_url.replace("postgres://", "postgresql://", 1)],
            capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        subprocess.run(
            [str(self.bin / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "--dbname",
             self.url(name).replace("postgres://", "postgresql://", 1)],
            input=dump.stdout, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return self.logfile.read_text(errors="replace")[-3000:]
        return ""


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        if server.running():
            with contextlib.suppress(Exception):
                server.stop("immediate")
        shutil.rmtree(server.folder, ignore_errors=True)
