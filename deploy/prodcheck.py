"""Start the production shape that docker-compose.yml describes, on this machine, and use it.

docker-compose.yml is read as it is: the app's environment (``x-app``) with compose's
``${VAR:?}``/``${VAR:-default}`` interpolation, its secrets (written here as throw-away
files), and the ``command`` of its migrate, web, worker and beat services, run as local
processes from the project's virtualenv. The compose services the app talks to are this
machine's: PostgreSQL and Redis (a database and two Redis numbers of the check's own) and
moto's S3 server in place of MinIO. Then, over HTTP as a browser behind the TLS proxy would:

1. every variable the compose file passes is read by the settings, and the settings start
   with nothing but what it passes (DJANGO_PRODUCTION=1, secrets from ``*_FILE``);
2. ``/healthz`` reports the database, the cache and the broker ok; plain http is sent to
   https;
3. a demo student signs in, uploads a PDF course outcome and downloads it through the
   one-minute link signed for the file store, getting the same bytes;
4. the student's portfolio zip is built by the real worker;
5. beat opens a window whose start has come (and the audit says so once).

Run with ``make prodcheck``; exits 1 with the processes' logs when anything fails.
Environment: PRODCHECK_DATABASE_URL (a database it may drop and create; default
postgres://postgres@127.0.0.1:5432/portfolio_prodcheck), PRODCHECK_REDIS (default
redis://127.0.0.1:6379, using DB numbers PRODCHECK_REDIS_DBS, default "12,13"),
PRODCHECK_PORT (the web server's; default a free one).
"""

import contextlib
import io
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
VENV_BIN = Path(sys.executable).parent
SITE_HOST = "portfolio.prodcheck.test"
CLIENT_ADDRESS = "203.0.113.7"  # the student's, as the proxy reports it
DEMO_STUDENT = "s001"
DEMO_PASSWORD = "portfolio-demo"  # noqa: S105 - the documented demo password
# The compose services the app reaches, and what stands in for each here.
SERVICE_HOSTS = {"db": "DATABASE_URL", "redis": "REDIS_URL", "s3": "S3_ENDPOINT_URL"}
_INTERPOLATION = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


class CheckFailed(Exception):
    pass


# --- Reading docker-compose.yml --------------------------------------------------------


def interpolate(text: str, variables: dict[str, str]) -> str:
    """Compose's interpolation: $$ is a dollar; ${X}, ${X:-default} (default when unset or
    empty), ${X-default} (when unset), ${X:?message} and ${X?message} (an error)."""

    def substitute(match: re.Match) -> str:
        if match.group(0) == "$$":
            return "$"
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        value = variables.get(name)
        empty = value is None or (value == "" and operator and operator.startswith(":"))
        if operator in (":-", "-") and empty:
            return interpolate(argument, variables)
        if operator in (":?", "?") and empty:
            raise CheckFailed(f"docker-compose.yml requires {name}: {argument}")
        return value or ""

    return _INTERPOLATION.sub(substitute, text)


def load_compose(path: Path = COMPOSE) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def app_environment(compose: dict, variables: dict[str, str]) -> dict[str, str]:
    """The environment every app service gets (the ``x-app`` anchor), interpolated."""
    raw = compose["x-app"]["environment"]
    return {name: interpolate(str(value), variables) for name, value in raw.items()}


def app_secrets(compose: dict) -> list[str]:
    return list(compose["x-app"]["secrets"])


@dataclass
class Locals:
    """What stands in, on this machine, for the compose services the app talks to."""

    database_url: str
    # None: no Redis stand-in; the settings then cache in-process and run tasks eagerly.
    cache_url: str | None
    broker_url: str | None
    s3_endpoint: str
    secrets_dir: Path
    var_dir: Path


def localize(environment: dict[str, str], compose: dict, local: Locals) -> dict[str, str]:
    """The compose environment pointed at this machine's services and secret files.

    Each replaced value must name the compose service it stood for: a compose file that
    moved a service elsewhere fails here rather than being silently checked against ours.
    """
    env = dict(environment)
    stand_ins = {
        "DATABASE_URL": ("db", local.database_url),
        "REDIS_URL": ("redis", local.cache_url),
        "CELERY_BROKER_URL": ("redis", local.broker_url),
        "S3_ENDPOINT_URL": ("s3", local.s3_endpoint),
    }
    for name, (service, value) in stand_ins.items():
        if name not in env:
            raise CheckFailed(f"docker-compose.yml no longer passes {name}")
        if urlsplit(env[name]).hostname != service:
            raise CheckFailed(
                f"{name} in docker-compose.yml does not point at the {service} service"
            )
        if service not in compose["services"]:
            raise CheckFailed(f"docker-compose.yml has no {service} service")
        if value is None:
            del env[name]
        else:
            env[name] = value
    for name, value in list(env.items()):
        if value.startswith("/run/secrets/"):
            secret = value.removeprefix("/run/secrets/")
            if secret not in app_secrets(compose):
                raise CheckFailed(f"{name} reads the secret {secret}, which x-app does not mount")
            env[name] = str(local.secrets_dir / secret)
    env["PORTFOLIO_VAR_DIR"] = str(local.var_dir)
    return env


def write_secrets(compose: dict, directory: Path) -> None:
    """Throw-away values for every secret the app mounts, as the compose header makes them."""
    from cryptography.fernet import Fernet

    makers = {
        "django_secret_key": lambda: secrets.token_urlsafe(50),
        "field_encryption_key": lambda: Fernet.generate_key().decode(),
        "field_hash_key": lambda: secrets.token_urlsafe(32),
        "s3_secret_key": lambda: secrets.token_urlsafe(24),
        "email_password": lambda: "",
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name in app_secrets(compose):
        if name not in makers:
            raise CheckFailed(f"no throw-away value known for the secret {name}")
        path = directory / name
        path.write_text(makers[name]() + "\n", encoding="utf-8")
        path.chmod(0o600)


def service_command(compose: dict, service: str) -> list[str]:
    command = compose["services"][service]["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def build_steps(compose: dict) -> list[str]:
    """The image's own build steps that run the project (compiled messages, collected
    static files), as the inline Dockerfile writes them."""
    dockerfile = compose["x-app"]["build"]["dockerfile_inline"]
    steps, current = [], ""
    for line in dockerfile.splitlines():
        line = line.strip()
        if line.startswith("RUN "):
            current = line.removeprefix("RUN ")
        elif current:
            current += " " + line
        else:
            continue
        if current.endswith("\\"):
            current = current[:-1]
            continue
        if "manage.py" in current:
            steps.append(current)
        current = ""
    if not any("collectstatic" in step for step in steps):
        raise CheckFailed("the image's build no longer collects the static files")
    return steps


def bucket_versioning(compose: dict) -> bool:
    """Whether the s3-bucket service turns versioning on for the app's bucket."""
    bucket = compose["x-app"]["environment"]["S3_BUCKET"]
    setup = " ".join(compose["services"]["s3-bucket"]["entrypoint"].split())
    return f"mc version enable store/{bucket}" in setup


def settings_read(env: dict[str, str]) -> set[str]:
    """The variables the settings asked for, starting with ``env`` alone (and PATH)."""
    code = "import json, django.conf as c; c.settings.INSTALLED_APPS; from portfolio.env import READ; print(json.dumps(sorted(READ)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**_base_environment(), **env, "DJANGO_SETTINGS_MODULE": "portfolio.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise CheckFailed(
            "the settings do not start with the environment docker-compose.yml passes:\n"
            + result.stderr[-3000:]
        )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def unread_variables(passed: dict[str, str], read: set[str]) -> list[str]:
    """Variables the compose file passes that no setting reads (a typo, a removed setting)."""
    return sorted(name for name in passed if name not in read)


def _base_environment() -> dict[str, str]:
    """What the processes inherit besides the compose environment: nothing of this shell's
    Django, database or broker settings, so that only the compose file speaks."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
    base = {name: os.environ[name] for name in keep if name in os.environ}
    base["PATH"] = f"{VENV_BIN}{os.pathsep}{base.get('PATH', '')}"
    base["PYTHONUNBUFFERED"] = "1"
    return base


# --- Processes ----------------------------------------------------------------------------


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path


@dataclass
class Stack:
    env: dict[str, str]
    workdir: Path
    processes: list[Process] = field(default_factory=list)
    stopped: list[Process] = field(default_factory=list)  # stopped on purpose, logs kept

    def run(self, name: str, argv: list[str], timeout: int = 300, build: bool = False) -> str:
        """Run a command to its end; a build step sees no runtime environment (as in the
        image's build)."""
        result = subprocess.run(
            argv,
            cwd=ROOT,
            env=_base_environment() if build else {**_base_environment(), **self.env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise CheckFailed(f"{name} failed ({result.returncode}):\n{result.stderr[-3000:]}")
        return result.stdout

    def start(self, name: str, argv: list[str]) -> Process:
        log = self.workdir / f"{name}.log"
        handle = log.open("wb")
        popen = subprocess.Popen(  # noqa: S603 - the compose file's own commands
            argv,
            cwd=ROOT,
            env={**_base_environment(), **self.env},
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        process = Process(name, popen, log)
        self.processes.append(process)
        return process

    def build(self, compose: dict) -> None:
        """The image's build steps, as `docker compose build` runs them."""
        for step in build_steps(compose):
            build = step.replace("/tmp/build", str(self.workdir / "build"))
            self.run("build", ["sh", "-c", build], timeout=600, build=True)

    def stop(self, only: Process | None = None) -> None:
        """Stop every process (the last started first), or only one (kept in the logs)."""
        stopping = [only] if only else list(reversed(self.processes))
        for process in stopping:
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in stopping:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            if process.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.popen.pid, signal.SIGKILL)
        if only:
            only.popen.wait()
            self.stopped.append(only)
            self.processes.remove(only)

    def check_alive(self) -> None:
        for process in self.processes:
            if process.popen.poll() is not None:
                raise CheckFailed(f"{process.name} stopped (exit {process.popen.returncode})")

    def logs(self) -> str:
        parts = []
        for process in [*self.stopped, *self.processes]:
            text = process.log.read_text(errors="replace") if process.log.exists() else ""
            parts.append(f"----- {process.name} (last lines) -----\n{text[-2500:]}")
        return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def with_bind(argv: list[str], address: str) -> list[str]:
    """The web command with gunicorn bound to ``address`` instead of the container's port."""
    out = list(argv)
    if "--bind" not in out:
        raise CheckFailed("the web command has no --bind")
    out[out.index("--bind") + 1] = address
    return out


def with_option(argv: list[str], prefix: str, value: str) -> list[str]:
    """``argv`` with the option starting ``prefix=`` given ``value`` instead."""
    found = [i for i, arg in enumerate(argv) if arg.startswith(prefix + "=")]
    if not found:
        raise CheckFailed(f"the command has no {prefix}=")
    out = list(argv)
    out[found[0]] = f"{prefix}={value}"
    return out


def from_venv(argv: list[str]) -> list[str]:
    """The compose commands name python, gunicorn and celery as the image's PATH has them."""
    program = {"python": sys.executable}.get(argv[0], str(VENV_BIN / argv[0]))
    return [program, *argv[1:]]


# --- The services this machine stands in with -----------------------------------------------


def fresh_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise CheckFailed(f"refusing to recreate the database {name!r}")
    admin = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def empty_redis(*urls: str) -> None:
    import redis

    for url in urls:
        redis.Redis.from_url(url, socket_timeout=5).flushdb()


def start_s3(stack: Stack, port: int) -> str:
    stack.start(
        "s3 (moto)", [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    )
    endpoint = f"http://127.0.0.1:{port}"
    wait_for(lambda: answers(endpoint), "moto's S3 server", stack, seconds=60)
    return endpoint


def s3_client(env: dict[str, str]):
    """A boto3 client for the store, with the app's own credentials."""
    import boto3

    secret = Path(env["S3_SECRET_ACCESS_KEY_FILE"]).read_text().strip()
    return boto3.client(
        "s3",
        endpoint_url=env["S3_ENDPOINT_URL"],
        region_name=env["S3_REGION"],
        aws_access_key_id=env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=secret,
    )


def create_bucket(env: dict[str, str], *, versioning: bool) -> None:
    """What the s3-bucket service does: a private bucket the app stores into, versioned
    when the compose file's setup turns versioning on."""
    client = s3_client(env)
    client.create_bucket(Bucket=env["S3_BUCKET"], ACL="private")
    if versioning:
        client.put_bucket_versioning(
            Bucket=env["S3_BUCKET"], VersioningConfiguration={"Status": "Enabled"}
        )


def answers(url: str) -> bool:
    import requests

    try:
        requests.get(url, timeout=2)
    except requests.RequestException:
        return False
    return True


def wait_for(predicate, what: str, stack: Stack, *, seconds: float, every: float = 0.5):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stack.check_alive()
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise CheckFailed(f"gave up waiting for {what} after {seconds:.0f} s")


# --- A browser behind the proxy ---------------------------------------------------------------


class Browser:
    """Requests to the web process as the TLS proxy forwards them: the site's Host, https in
    X-Forwarded-Proto, the client's address appended to X-Forwarded-For. Cookies are kept
    here (they are Secure: a client library would not send them over the plain hop)."""

    def __init__(self, base: str):
        import requests

        self.base = base
        self.session = requests.Session()
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, https: bool = True, **kwargs):
        headers = {
            "Host": SITE_HOST,
            "X-Forwarded-For": CLIENT_ADDRESS,
            **kwargs.pop("headers", {}),
        }
        if https:
            headers["X-Forwarded-Proto"] = "https"
            headers.setdefault("Referer", f"https://{SITE_HOST}{path}")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.session.request(
            method,
            self.base + path,
            headers=headers,
            allow_redirects=False,
            timeout=60,
            **kwargs,
        )
        for cookie in response.cookies:
            self.cookies[cookie.name] = cookie.value or ""
        return response

    def form_post(self, path: str, data: dict, files: dict | None = None):
        data = {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        return self.request(
            "POST", path, data=data, files=files, headers={"Origin": f"https://{SITE_HOST}"}
        )


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def site_path(location: str) -> str:
    """A redirect's target as a path on the site (it must stay on the site, over https)."""
    parts = urlsplit(location)
    if parts.netloc:
        expect(
            parts.netloc == SITE_HOST and parts.scheme == "https",
            f"redirected off site: {location}",
        )
    return urlunsplit(("", "", parts.path, parts.query, ""))


def small_pdf() -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "prodcheck"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --- The checks ---------------------------------------------------------------------------------


def check_health(browser: Browser) -> None:
    response = browser.request("GET", "/healthz", https=False)
    expect(
        response.status_code == 200,
        f"/healthz answered {response.status_code}: {response.text[:300]}",
    )
    body = response.json()
    checks = body.get("checks", {})
    expect(
        body.get("ok")
        and all(checks.get(k, {}).get("ok") for k in ("database", "cache", "broker")),
        f"/healthz is not all ok: {body}",
    )
    expect(checks["broker"].get("mode") == "broker", f"tasks do not go to the broker: {body}")
    expect(checks["database"].get("vendor") == "postgresql", f"not PostgreSQL: {body}")
    plain = browser.request("GET", "/accounts/login/", https=False)
    expect(
        plain.status_code == 301 and plain.headers.get("Location", "").startswith("https://"),
        f"plain http was not sent to https: {plain.status_code} {plain.headers.get('Location')}",
    )
    print("  /healthz: database, cache and broker ok; plain http goes to https")


def sign_in(browser: Browser, username: str) -> None:
    page = browser.request("GET", "/accounts/login/")
    expect(page.status_code == 200, f"the sign-in page answered {page.status_code}")
    expect("csrftoken" in browser.cookies, "no CSRF cookie on the sign-in page")
    expect(
        "strict-transport-security" in {k.lower() for k in page.headers},
        "no HSTS header over https",
    )
    done = browser.form_post("/accounts/login/", {"login": username, "password": DEMO_PASSWORD})
    expect(done.status_code == 302, f"sign-in as {username} answered {done.status_code}")
    expect("sessionid" in browser.cookies, "signed in without a session cookie")
    home = browser.request("GET", site_path(done.headers["Location"]))
    while home.status_code == 302:
        home = browser.request("GET", site_path(home.headers["Location"]))
    expect(home.status_code == 200, f"the home page answered {home.status_code}")
    print(f"  signed in as {username} over the production settings")


def upload_outcome(
    browser: Browser,
    content: bytes,
    *,
    title: str = "產線檢查",
    filename: str = "成果.pdf",
    mime: str = "application/pdf",
) -> int:
    """A course outcome with ``content`` as its document, sent for certification; its id."""
    page = browser.request("GET", "/portfolio/outcomes/add/")
    expect(page.status_code == 200, f"the upload page answered {page.status_code}")
    options = re.findall(r'<option value="(\d+)"', page.text)
    expect(bool(options), "the upload page offers no course (is the outcome-upload window open?)")
    done = browser.form_post(
        "/portfolio/outcomes/add/",
        {"enrolment": options[0], "title": title, "description": "上線前的檢查。"},
        files={"document": (filename, content, mime)},
    )
    expect(done.status_code == 302, f"the upload answered {done.status_code}: {done.text[:500]}")
    found = re.search(r"#outcome-(\d+)$", done.headers["Location"])
    expect(found is not None, f"the upload did not lead to the outcome: {done.headers['Location']}")
    print(
        f"  uploaded a {len(content):,}-byte {filename.rpartition('.')[2].upper()} course outcome"
    )
    return int(found.group(1))


def download_through_signed_link(browser: Browser, outcome: int, pdf: bytes, env: dict) -> None:
    import requests

    page = browser.request("GET", "/portfolio/")
    expect(page.status_code == 200, f"the portfolio page answered {page.status_code}")
    section = page.text[page.text.index(f'id="outcome-{outcome}"') :]
    link = re.search(r'href="(/files/\d+/download/)"', section)
    expect(link is not None, "the outcome shows no download link")
    redirect = browser.request("GET", link.group(1))
    expect(redirect.status_code == 302, f"the download answered {redirect.status_code}")
    signed = redirect.headers["Location"]
    public = urlsplit(env["S3_PUBLIC_ENDPOINT_URL"])
    expect(
        signed.startswith(f"{public.scheme}://{public.netloc}/"),
        f"the link is not signed for the store's public address: {signed}",
    )
    expect("X-Amz-Signature=" in signed and "X-Amz-Expires=" in signed, "the link is not signed")
    # The proxy in front of the store ends TLS: the same path and query over the plain hop.
    plain = urlunsplit(("http", public.netloc, *urlsplit(signed)[2:]))
    fetched = requests.get(plain, timeout=30)
    expect(fetched.status_code == 200, f"the signed link answered {fetched.status_code}")
    expect(fetched.content == pdf, "the file read back differs from the one uploaded")
    expect(
        "attachment" in fetched.headers.get("Content-Disposition", ""),
        "the store does not hand the file out as an attachment",
    )
    print("  downloaded it through the signed link: the same bytes, as an attachment")


def portfolio_zip(browser: Browser, stack: Stack, builder: str = "the real worker") -> None:
    browser.request("GET", "/portfolio/export/")
    started = browser.form_post("/portfolio/export/", {})
    expect(started.status_code == 302, f"starting the zip answered {started.status_code}")
    job_path = site_path(started.headers["Location"])
    job = int(re.search(r"/portfolio/export/(\d+)/", job_path).group(1))

    def finished():
        status = browser.request("GET", f"/jobs/{job}/status/")
        return status.json() if status.status_code == 200 and status.json()["finished"] else None

    state = wait_for(finished, "the worker to build the zip", stack, seconds=120, every=1)
    expect(state["status"] == "succeeded", f"the zip job ended {state}")
    download = browser.request("GET", f"/portfolio/export/{job}/download/")
    expect(download.status_code == 200, f"the zip download answered {download.status_code}")
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    expect("index.html" in names and any(n.endswith(".pdf") for n in names), f"zip holds {names}")
    print(f"  {builder} built the portfolio zip ({len(names)} files)")


BEAT_SETUP = """
import datetime as dt
from django.utils import timezone
from portfolio import services
from portfolio.models import School, Term
school = School.objects.get(code="999001")
term = Term.objects.last_started_for(school)
start = timezone.now() + dt.timedelta(seconds=5)
window = services.window_create(
    term=term, kind="selection", grade=12, starts_at=start,
    ends_at=start + dt.timedelta(days=2), note="prodcheck", by=None,
)
print(window.pk)
"""

BEAT_STATE = """
from portfolio.models import AuditLog, Window
window = Window.objects.get(pk={pk})
print(window.state, AuditLog.objects.filter(action="window.open", target_id=str(window.pk)).count())
"""

EXTENSION_SETUP = """
import datetime as dt
from django.utils import timezone
from accounts.acting import ActingContext
from accounts.models import Membership, Role
from portfolio.models import Term
from records.models import Student
from submissions.models import ExtensionKind
from submissions.services.extensions import extension_grant
from submissions.services.outcomes import upload_options
student = Student.objects.get(user__username="{student}")
if not upload_options(student, now=timezone.now()).can_upload:
    registry = Membership.objects.get(user__username="registry", role=Role.REGISTRY)
    extension_grant(
        student=student, term=Term.objects.last_started_for(student.school),
        kind=ExtensionKind.OUTCOME_UPLOAD, ends_at=timezone.now() + dt.timedelta(days=1),
        reason="產線檢查（prodcheck）", by=ActingContext(user=registry.user, membership=registry),
        now=timezone.now(),
    )
    print("extension granted")
"""


def beat_applies_a_window(stack: Stack) -> None:
    manage = [sys.executable, "manage.py", "shell", "-c"]
    pk = int(stack.run("window setup", [*manage, BEAT_SETUP]).strip().splitlines()[-1])

    def opened():
        output = stack.run("window state", [*manage, BEAT_STATE.format(pk=pk)])
        state, audits = output.strip().splitlines()[-1].split()
        return (state, int(audits)) if state == "open" else None

    state, audits = wait_for(opened, "beat to open the window", stack, seconds=150, every=5)
    expect(audits == 1, f"the opening was audited {audits} times")
    print("  beat opened a window whose start came, audited once")


# --- The whole run -------------------------------------------------------------------------------


def prepare(workdir: Path) -> tuple[dict, Stack, int]:
    compose = load_compose()
    redis_base = os.environ.get("PRODCHECK_REDIS", "redis://127.0.0.1:6379").rstrip("/")
    cache_db, broker_db = os.environ.get("PRODCHECK_REDIS_DBS", "12,13").split(",")
    s3_port = free_port()
    local = Locals(
        database_url=os.environ.get(
            "PRODCHECK_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portfolio_prodcheck"
        ),
        cache_url=f"{redis_base}/{cache_db}",
        broker_url=f"{redis_base}/{broker_db}",
        s3_endpoint=f"http://127.0.0.1:{s3_port}",
        secrets_dir=workdir / "secrets",
        var_dir=workdir / "var",
    )
    return compose, Stack(env=compose_env(compose, local, s3_port), workdir=workdir), s3_port


def compose_env(compose: dict, local: Locals, s3_port: int) -> dict[str, str]:
    """The app's environment from the compose file, with throw-away secrets written, pointed
    at this machine's services."""
    # What the operator exports before `docker compose up` (the file's header). The store's
    # public name is where the check reaches moto, https as the proxy in front would serve it.
    variables = {"PORTFOLIO_HOST": SITE_HOST, "PORTFOLIO_FILES_HOST": f"127.0.0.1:{s3_port}"}
    write_secrets(compose, local.secrets_dir)
    return localize(app_environment(compose, variables), compose, local)


def check_environment(stack: Stack) -> None:
    passed = stack.env
    unread = unread_variables(passed, settings_read(passed))
    expect(not unread, f"docker-compose.yml passes what the settings never read: {unread}")
    print(
        f"  the settings read all {len(passed)} variables the compose file passes, and start on them alone"
    )


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="prodcheck-") as tmp:
        workdir = Path(tmp)
        compose, stack, s3_port = prepare(workdir)
        try:
            print("The production shape of docker-compose.yml, on this machine:")
            check_environment(stack)
            fresh_database(stack.env["DATABASE_URL"])
            empty_redis(stack.env["REDIS_URL"], stack.env["CELERY_BROKER_URL"])
            start_s3(stack, s3_port)
            create_bucket(stack.env, versioning=bucket_versioning(compose))
            stack.build(compose)
            stack.run("migrate", from_venv(service_command(compose, "migrate")), timeout=600)
            stack.run("seed_demo", [sys.executable, "manage.py", "seed_demo"], timeout=600)
            port = int(os.environ.get("PRODCHECK_PORT") or free_port())
            web = with_bind(from_venv(service_command(compose, "web")), f"127.0.0.1:{port}")
            stack.start("web", web)
            stack.start("worker", from_venv(service_command(compose, "worker")))
            beat = with_option(
                from_venv(service_command(compose, "beat")),
                "--schedule",
                str(workdir / "celerybeat-schedule"),
            )
            stack.start("beat", beat)
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: answers(base + "/healthz"), "the web server", stack, seconds=90)
            browser = Browser(base)
            check_health(browser)
            # Setup, documented: the demo's outcome-upload window of term 1 runs from
            # November to early February; any other day, the registry opens it late for
            # the demo student (as its page would), so the upload can be checked any day.
            setup = EXTENSION_SETUP.format(student=DEMO_STUDENT)
            stack.run("upload window", [sys.executable, "manage.py", "shell", "-c", setup])
            sign_in(browser, DEMO_STUDENT)
            pdf = small_pdf()
            outcome = upload_outcome(browser, pdf)
            download_through_signed_link(browser, outcome, pdf, stack.env)
            portfolio_zip(browser, stack)
            beat_applies_a_window(stack)
            stack.check_alive()
        except CheckFailed as failure:
            print(f"\nPRODCHECK FAILED: {failure}\n", file=sys.stderr)
            print(stack.logs(), file=sys.stderr)
            return 1
        finally:
            stack.stop()
    print(f"prodcheck passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
