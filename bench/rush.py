"""The rush: 300 students and 20 teachers at once on the production shape, with Locust.

Set up untimed in a ``manage.py shell`` (bulk writes) in a school of its own (999004, so that
nothing the other benchmarks add counts here): the current school year with the demo's terms,
an outcome-upload window and a certification window of term 1 open now (an hour ago to a day
ahead), the policy's per-term cap raised for the run (30,000: each student uploads again and
again); 10 classes of grade 10 with 30 students each, each student with an account (the demo's
password and its hash, an e-mail address so that decisions are e-mailed by the worker) and
enrolled in two credited courses of term 1, each course with a teacher of its own (20), and
one outcome awaiting certification in each enrolment (600, with stored-file rows and no
files), so that every queue has work from the start.

Then, besides the bench's own server, the production shape of docker-compose.yml: its web
service's command (gunicorn, its worker count, timeout, forwarded addresses, access log to the
log file) on a free loopback port, with the environment of the bench's server plus the
compose file's ``TRUSTED_PROXY_COUNT`` (the client's address from X-Forwarded-For, as behind
the TLS proxy) and the locmem e-mail backend (nothing leaves the machine); and, when
``CELERY_BROKER_URL`` is set, its worker service's command (``celery -A portfolio worker``,
its concurrency) as a process of its own, waited for until ready. Without a broker the
tasks run eagerly in the web workers, as in development. ``DJANGO_PRODUCTION`` stays off
(plain HTTP on loopback); the database, cache and broker are the bench's.

Locust (``bench/rush_locustfile.py``), headless in its own process, starts ``USERS`` people at
``SPAWN_RATE`` a second: 20 teachers and 300 students, each from an address of its own,
thinking 1 to 3 s between actions, for ``BENCH_RUSH_SECONDS`` (120); then each finishes what
it is doing (up to ``STOP_TIMEOUT``: no upload is cut off mid-way) and stops. Figures, over
every request the people made:

- ``rush_errors``: requests that failed (an answer of 500 or more, a socket error, or any
  answer other than the page or redirect expected: a refused upload, a sign-in that did not
  sign in, a file that is not the bytes uploaded, a decision without its message);
- ``rush_p95_ms``, ``rush_p99_ms``: percentiles of the requests' times (nearest rank);
- ``rush_rps``: requests over the time from the first request to the last answer;
- ``rush_uploads_ok``: uploads answered with the redirect to the new outcome. After the run
  the school's new outcome rows, their stored-file rows and the files in the storage are
  counted: the run fails unless the outcomes are exactly those Locust saw succeed, with one
  row and one stored file each.

Where the time goes goes to stderr: the CPU seconds of the machine during the run and how
much of it gunicorn's workers, PostgreSQL's backends of the bench database, Locust and the
Celery worker used (the rest: other processes); each kind of request's count, median, p95
and maximum; the count and p95 of each 20 s of the run.
"""

import contextlib
import json
import math
import os
import resource
import shlex
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import yaml

from bench import server
from bench.errors import BenchError, log
from bench.uploads import MB, make_pdf

SCHOOL = "999004"
PREFIX = "rush"
CLASSES = 10
CLASS_SIZE = 30
STUDENTS = CLASSES * CLASS_SIZE  # 300
COURSES_PER_CLASS = 2
TEACHERS = CLASSES * COURSES_PER_CLASS  # 20: one course each
USERS = STUDENTS + TEACHERS
SPAWN_RATE = 20
THINK_SECONDS = (1, 3)
STOP_TIMEOUT = 300  # for what people are doing at the end: answers under load are slow
DEFAULT_SECONDS = 120
PDF_BYTES = 1 * MB
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
COMPOSE = server.ROOT / "docker-compose.yml"
LOCUSTFILE = Path(__file__).resolve().parent / "rush_locustfile.py"

Figures = list[tuple[str, float, str, int]]
Manage = Callable[..., str]

SETUP = """
import datetime as dt
import json
from django.db import connection
from django.utils import timezone
from accounts.models import Division, Membership, Role, User
from portal.management.commands.seed_demo import Command as SeedDemo
from portfolio import services as school_services
from portfolio.lib import roc
from portfolio.models import School, SchoolPolicy, Window, WindowKind, WindowState
from records.demo.courses import SUBJECTS, course_code_for
from records.models import Course, CourseEnrolment, SchoolClass, Student, StudentStatus
from submissions.models import CourseOutcome, OutcomeState, StoredFile

if School.objects.filter(code=SCHOOL).exists():
    raise SystemExit(f"school {SCHOOL} exists already")
now = timezone.now()
roc_year = roc.current_school_year()
school = school_services.school_create(
    code=SCHOOL, name="衝刺效能測試高級中學", name_en="Rush Benchmark Senior High School", by=None
)
year = school_services.school_year_create(
    school=school, roc_year=roc_year, terms=SeedDemo()._terms(roc_year), by=None
)
term = year.terms.get(number=1)
policy = SchoolPolicy.objects.get(school=school, school_year=year)
policy.outcome_upload_cap_per_term = 30000  # only for the bench: uploads, not caps (smallint)
policy.save()
for kind in (WindowKind.OUTCOME_UPLOAD, WindowKind.CERTIFICATION):  # saved: the calendar's
    Window.objects.create(                                           # version follows
        school=school, term=term, kind=kind, grade=None, state=WindowState.OPEN,
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=1),
        note="benchmark",
    )
student_hash = User.objects.get(username="s001").password
teacher_hash = User.objects.get(username="teacher").password
subjects = [s for s in SUBJECTS[10] if s.credits and 1 in s.terms][:PER_CLASS]
classes = SchoolClass.objects.bulk_create(
    SchoolClass(school=school, school_year=year, name=f"1{n + 1:02d}", grade=10)
    for n in range(CLASSES)
)
teachers = User.objects.bulk_create(
    User(username=f"{PREFIX}-t{n + 1:02d}", name=f"衝刺教師{n + 1:02d}", password=teacher_hash,
         email=f"{PREFIX}-t{n + 1:02d}@example.com")
    for n in range(len(classes) * len(subjects))
)
users = User.objects.bulk_create(
    User(username=f"{PREFIX}-s{n + 1:03d}", name=f"衝刺學生{n + 1:03d}", password=student_hash,
         email=f"{PREFIX}-s{n + 1:03d}@example.com")
    for n in range(len(classes) * SIZE)
)
Membership.objects.bulk_create(
    [Membership(user=t, school=school, role=Role.TEACHER, division=Division.DAY) for t in teachers]
    + [Membership(user=u, school=school, role=Role.STUDENT, division=Division.DAY) for u in users]
)
students = Student.objects.bulk_create(
    Student(school=school, user=users[i * SIZE + seat - 1], school_class=k,
            student_number=f"R{i:03d}{seat:02d}", name=f"衝刺學生{k.name}-{seat:02d}",
            seat_number=seat, status=StudentStatus.ENROLLED)
    for i, k in enumerate(classes) for seat in range(1, SIZE + 1)
)
courses = Course.objects.bulk_create(
    Course(
        school=school, term=term, name=s.name, grade=10, credits=s.credits, section=k.name,
        code=course_code_for(school=school, entry_year=roc_year, subject=s),
    )
    for k in classes for s in subjects
)
Course.teachers.through.objects.bulk_create(
    Course.teachers.through(course_id=c.pk, user_id=t.pk)
    for c, t in zip(courses, teachers, strict=True)
)
by_class = {}
for c in courses:
    by_class.setdefault(c.section, []).append(c)
names = {k.pk: k.name for k in classes}
enrolments = CourseEnrolment.objects.bulk_create(
    CourseEnrolment(school=school, student=s, course=c)
    for s in students for c in by_class[names[s.school_class_id]]
)
files = StoredFile.objects.bulk_create(
    StoredFile(
        school=school, student_id=e.student_id, storage_key=f"{PREFIX}-seed-{e.pk}",
        display_name="學習單.pdf", extension="pdf", mime="application/pdf", size=48213,
        sha256="0" * 64,
    )
    for e in enrolments
)
CourseOutcome.objects.bulk_create(
    CourseOutcome(
        school=school, student_id=e.student_id, enrolment=e, title=f"{e.course.name}學習單",
        description="整理課堂的重點與提問，並寫下自己的反思。", document=f,
        state=OutcomeState.SUBMITTED,
    )
    for e, f in zip(enrolments, files, strict=True)
)
if connection.vendor == "postgresql":  # statistics, as autovacuum gives a live server
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
print("RUSH", json.dumps({
    "students": [u.username for u in users],
    "teachers": [t.username for t in teachers],
    "awaiting": len(enrolments),
    "last_outcome": CourseOutcome.objects.order_by("-pk").values_list("pk", flat=True).first(),
    "last_file": StoredFile.objects.order_by("-pk").values_list("pk", flat=True).first(),
}))
"""

# After the run: the school's outcomes, stored-file rows and files created since the set-up.
CHECK = """
import json
from django.core.files.storage import default_storage
from accounts.models import EmailState, Notice
from submissions.models import CourseOutcome, OutcomeState, StoredFile

outcomes = CourseOutcome.objects.filter(school__code=SCHOOL, pk__gt=LAST_OUTCOME)
rows = StoredFile.objects.filter(school__code=SCHOOL, pk__gt=LAST_FILE)
keys = set(rows.values_list("storage_key", flat=True))
folder = f"files/{SCHOOL}"
stored = set(default_storage.listdir(folder)[1]) if default_storage.exists(folder) else set()
notices = Notice.objects.filter(school__code=SCHOOL)
print("CHECKED", json.dumps({
    "outcomes": sorted(outcomes.values_list("pk", flat=True)),
    "without_file": outcomes.filter(document__isnull=True).count(),
    "rows": len(keys),
    "stored": len(stored),
    "rows_without_file": len(keys - stored),
    "files_without_row": len(stored - keys),
    "certified": CourseOutcome.objects.filter(
        school__code=SCHOOL, state=OutcomeState.CERTIFIED
    ).count(),
    "notices": notices.count(),
    "emailed": notices.filter(email=EmailState.SENT).count(),
}))
"""


def rush_seconds() -> float:
    raw = os.environ.get("BENCH_RUSH_SECONDS", "").strip()
    try:
        seconds = float(raw) if raw else DEFAULT_SECONDS
    except ValueError as exc:
        raise BenchError(f"BENCH_RUSH_SECONDS must be a number of seconds, got {raw!r}") from exc
    if not 10 <= seconds <= 3600:
        raise BenchError(f"BENCH_RUSH_SECONDS must be between 10 and 3600, got {raw!r}")
    return seconds


def _result(output: str, tag: str) -> dict:
    line = next((row for row in output.splitlines() if row.startswith(f"{tag} ")), None)
    if line is None:
        raise BenchError(f"the rush's {tag.lower()} script printed no result:\n{output[-2000:]}")
    return json.loads(line.removeprefix(f"{tag} "))


# --- the production shape, from docker-compose.yml -----------------------------------------------


def compose_service(name: str) -> tuple[list[str], dict[str, str]]:
    """A service's command (split as a shell would) and the app's environment, as written."""
    try:
        compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
        command = compose["services"][name]["command"]
        environment = compose["x-app"]["environment"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise BenchError(f"cannot read the {name} service of {COMPOSE}: {exc}") from exc
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    return words, {key: str(value) for key, value in environment.items()}


def _with_option(words: Sequence[str], option: str, value: str) -> list[str]:
    """``words`` with ``option``'s value replaced (``--opt value`` or ``--opt=value``)."""
    out, found, skip = [], False, False
    for n, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word == option and n + 1 < len(words):
            out += [option, value]
            found = skip = True
        elif word.startswith(f"{option}="):
            out.append(f"{option}={value}")
            found = True
        else:
            out.append(word)
    if not found:
        raise BenchError(f"docker-compose.yml's command {shlex.join(words)!r} has no {option}")
    return out


def _venv(words: list[str]) -> list[str]:
    """The command's program from the virtualenv the bench runs in."""
    program = Path(sys.executable).parent / words[0]
    if not program.exists():
        raise BenchError(f"{words[0]} is not installed in {program.parent}")
    return [str(program), *words[1:]]


def option_value(words: Sequence[str], option: str) -> str | None:
    for n, word in enumerate(words):
        if word == option and n + 1 < len(words):
            return words[n + 1]
        if word.startswith(f"{option}="):
            return word.split("=", 1)[1]
    return None


class ComposeGunicorn(server.Gunicorn):
    """docker-compose.yml's web command, bound to a free loopback port instead of 0.0.0.0."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        words, _environment = compose_service("web")
        workers = int(option_value(words, "--workers") or option_value(words, "-w") or 1)
        super().__init__(env, log_path, workers=workers)
        self.words = words

    def command(self) -> Sequence[str]:
        return _venv(_with_option(self.words, "--bind", f"{server.HOST}:{self.port}"))


@contextlib.contextmanager
def celery_worker(env: Mapping[str, str], log_path: Path) -> Iterator[int]:
    """docker-compose.yml's worker command as a process of its own, until the block ends;
    its pid."""
    words, _environment = compose_service("worker")
    name = f"bench-rush-{os.getpid()}@%h"
    command = _venv(_with_option(words, "--hostname", name))
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            command,
            cwd=server.ROOT,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=server._die_with_parent,
        )
    log(f"celery worker pid {process.pid}: {shlex.join(command[1:])}")
    try:
        deadline = time.monotonic() + 90
        while " ready." not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchError(
                    f"the Celery worker did not get ready ({process.poll()}):\n"
                    f"{server._tail(log_path.read_text(errors='replace'))}"
                )
            time.sleep(0.3)
        log("celery worker ready")
        yield process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown: running tasks finish
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            log("the Celery worker ignored SIGTERM; killing it")
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        log(f"celery worker stopped ({process.returncode})")


# --- where the CPU went -------------------------------------------------------------------------


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
            pending += [int(child) for child in children]
    return found


def cpu_by_pid(pids: Sequence[int]) -> dict[int, float]:
    """User and system CPU seconds each process has used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            found[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return found


def cpu_since(before: dict[int, float], pids: Sequence[int]) -> float:
    """CPU seconds the processes used since ``before`` (those not there then: all of it)."""
    return sum(now - before.get(pid, 0.0) for pid, now in cpu_by_pid(pids).items())


def database_backends(env: Mapping[str, str]) -> list[int] | None:
    """The PostgreSQL backends serving the bench database now (their pids), or None on
    SQLite."""
    url = env.get("DATABASE_URL", "")
    if not url:
        return None
    import psycopg

    query = "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            return [row[0] for row in conn.execute(query + " AND pid <> pg_backend_pid()")]
    except psycopg.Error as exc:
        log(f"rush: cannot list the database's backends: {exc}")
        return None


def machine_cpu() -> tuple[float, float]:
    """The machine's busy and I/O-wait CPU seconds so far, all cores (Linux /proc/stat)."""
    try:
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    idle, iowait = fields[3], fields[4]
    return (sum(fields[:8]) - idle - iowait) / ticks, iowait / ticks


# --- Locust ------------------------------------------------------------------------------------------


def run_locust(base_url: str, plan: Path, seconds: float, folder: Path) -> float:
    """Locust headless in its own process (it patches the standard library for gevent); the
    CPU seconds it used."""
    locust = Path(sys.executable).parent / "locust"
    if not locust.exists():
        raise BenchError(f"locust is not installed in {locust.parent} (make install-dev)")
    command = [
        str(locust),
        "-f", str(LOCUSTFILE),
        "--headless",
        "-u", str(USERS),
        "-r", str(SPAWN_RATE),
        "-t", f"{math.ceil(seconds)}s",
        "--stop-timeout", str(STOP_TIMEOUT),
        "--host", base_url,
        "--csv", str(folder / "rush"),
        "--only-summary",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    env = {**os.environ, "RUSH_PLAN": str(plan), "PYTHONPATH": str(server.ROOT)}
    log_path = folder / "locust.log"
    log(f"locust: {USERS} people at {SPAWN_RATE}/s for {seconds:g} s (log {log_path})")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log_path.open("ab") as log_file:
        try:
            done = subprocess.run(
                command,
                cwd=server.ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                timeout=seconds + STOP_TIMEOUT + 120,
                check=False,
                preexec_fn=server._die_with_parent,
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchError(f"locust did not stop in time; see {log_path}") from exc
    if done.returncode not in (0, 1):  # 1: some requests failed, counted below
        raise BenchError(
            f"locust failed ({done.returncode}):\n{server._tail(log_path.read_text(errors='replace'))}"
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # only Locust was waited for meanwhile
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


# --- figures -----------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest rank, as the bench's other percentiles."""
    if not sorted_values:
        return 0.0
    return sorted_values[max(1, math.ceil(fraction * len(sorted_values))) - 1]


def where_the_time_goes(requests: list[list]) -> None:
    """Each kind of request's count and p95, and the p95 of each 20 s of the run, to stderr."""
    by_name: dict[str, list[float]] = defaultdict(list)
    by_slice: dict[int, list[float]] = defaultdict(list)
    first = min(r[0] for r in requests)
    for started, ms, name, _ok in requests:
        by_name[name].append(ms)
        by_slice[int((started - first) // 20)].append(ms)
    log("rush: requests by kind (count, median, p95, max ms):")
    for name, times in sorted(by_name.items(), key=lambda item: -sum(item[1])):
        times.sort()
        log(f"  {name}: {len(times)}, {percentile(times, 0.5):.0f}, "
            f"{percentile(times, 0.95):.0f}, {times[-1]:.0f}")  # fmt: skip
    log("rush: by 20 s of the run (count, p95 ms):")
    for n, times in sorted(by_slice.items()):
        times.sort()
        log(f"  {n * 20:>3}-{n * 20 + 20} s: {len(times)}, {percentile(times, 0.95):.0f}")


def rush(env: Mapping[str, str], manage: Manage, var_dir: Path) -> Figures:
    seconds = rush_seconds()
    header = f"SCHOOL = {SCHOOL!r}\nPREFIX = {PREFIX!r}\nCLASSES = {CLASSES}\n"
    header += f"SIZE = {CLASS_SIZE}\nPER_CLASS = {COURSES_PER_CLASS}\n"
    setup = _result(manage("shell", "-c", header + SETUP), "RUSH")
    if (len(setup["students"]), len(setup["teachers"])) != (STUDENTS, TEACHERS):
        raise BenchError(f"the rush set-up made {setup} people, not {STUDENTS} and {TEACHERS}")
    folder = var_dir / "rush"
    folder.mkdir()
    pdf = folder / "outcome.pdf"
    pdf.write_bytes(make_pdf(PDF_BYTES))
    results_path = folder / "results.json"
    plan = folder / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "students": setup["students"],
                "teachers": setup["teachers"],
                "teacher_count": TEACHERS,
                "password": "portfolio-demo",
                "pdf": str(pdf),
                "think_seconds": THINK_SECONDS,
                "results": str(results_path),
            }
        )
    )
    _words, compose_env = compose_service("web")
    rush_env = {
        **env,
        "TRUSTED_PROXY_COUNT": compose_env.get("TRUSTED_PROXY_COUNT", "0"),
        "EMAIL_BACKEND": LOCMEM,
    }
    database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite (the figures are SQLite's)"
    broker = env.get("CELERY_BROKER_URL", "")
    log(f"rush: {database}, cache {env.get('REDIS_URL') or 'in-process'}, "
        f"broker {broker or 'none (tasks run eagerly in the web workers)'}")  # fmt: skip
    with contextlib.ExitStack() as stack:
        worker = None
        if broker:
            worker = stack.enter_context(celery_worker(rush_env, folder / "celery.log"))
        web = stack.enter_context(ComposeGunicorn(rush_env, folder / "gunicorn.log"))
        assert web.process is not None
        web_pids = _process_tree(web.process.pid)
        worker_pids = _process_tree(worker) if worker else []
        web_before, worker_before = cpu_by_pid(web_pids), cpu_by_pid(worker_pids)
        db_before = cpu_by_pid(database_backends(env) or [])
        machine_busy, machine_iowait = machine_cpu()
        started = time.monotonic()
        locust_cpu = run_locust(web.base_url, plan, seconds, folder)
        wall = time.monotonic() - started
        backends = database_backends(env)
        db_cpu = None if backends is None else cpu_since(db_before, backends)
        web_cpu = cpu_since(web_before, web_pids)
        worker_cpu = cpu_since(worker_before, worker_pids)
        busy, iowait = (
            now - then
            for now, then in zip(machine_cpu(), (machine_busy, machine_iowait), strict=True)
        )
        cores = os.cpu_count() or 1
        known = web_cpu + locust_cpu + worker_cpu + (db_cpu or 0)
        db_part = "" if db_cpu is None else f"PostgreSQL's backends {db_cpu:.0f}, "
        log(f"rush: locust done in {wall:.0f} s; of the {wall * cores:.0f} CPU seconds of the "
            f"machine's {cores} cores then, {busy:.0f} were busy ({iowait:.0f} idle waiting for "
            f"I/O): gunicorn's workers {web_cpu:.0f}, {db_part}Locust {locust_cpu:.0f}, the "
            f"Celery worker {worker_cpu:.0f}, everything else {busy - known:.0f} (Redis, the "
            "bench's own server, any other process on the machine)")  # fmt: skip
    try:
        results = json.loads(results_path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"locust wrote no results ({exc}); see {folder / 'locust.log'}") from exc
    return _figures(results, setup, manage)


def _figures(results: dict, setup: dict, manage: Manage) -> Figures:
    requests = results["requests"]
    if not requests:
        raise BenchError("the rush made no request")
    where_the_time_goes(requests)
    failed = [r for r in requests if not r[3]]
    for failure in results["failures"][:10]:
        log(f"  failure: {failure}")
    log(f"rush: {len(results['signed_in'])} of {len(results['started_users'])} people "
        f"signed in, {len(results['certified'])} outcomes certified")  # fmt: skip
    times = sorted(r[1] for r in requests)
    span = max(r[0] + r[1] / 1000 for r in requests) - min(r[0] for r in requests)
    uploaded = sorted(results["uploaded"])

    header = f"SCHOOL = {SCHOOL!r}\nLAST_OUTCOME = {setup['last_outcome']}\n"
    header += f"LAST_FILE = {setup['last_file']}\n"
    found = _result(manage("shell", "-c", header + CHECK), "CHECKED")
    log(f"rush: {len(found['outcomes'])} new outcomes, {found['rows']} stored-file rows, "
        f"{found['stored']} files in storage; {found['certified']} certified in all; "
        f"{found['notices']} notices, {found['emailed']} e-mailed")  # fmt: skip
    if len(set(uploaded)) != len(uploaded):
        raise BenchError("Locust saw the same outcome uploaded twice")
    if found["outcomes"] != uploaded:
        missing = sorted(set(uploaded) - set(found["outcomes"]))[:10]
        extra = sorted(set(found["outcomes"]) - set(uploaded))[:10]
        raise BenchError(
            f"the rush's uploads differ from the outcome rows: Locust saw {len(uploaded)} "
            f"succeed (of {results['upload_attempts']} sent), the database has "
            f"{len(found['outcomes'])} (missing {missing}, unseen {extra})"
        )
    if (
        found["without_file"]
        or found["rows"] != len(uploaded)
        or found["stored"] != len(uploaded)
        or found["rows_without_file"]
        or found["files_without_row"]
    ):
        raise BenchError(
            f"the rush's {len(uploaded)} uploads left {found['rows']} stored-file rows and "
            f"{found['stored']} files ({found['rows_without_file']} rows without a file, "
            f"{found['files_without_row']} files without a row, {found['without_file']} "
            f"outcomes without a document)"
        )
    return [
        ("rush_errors", float(len(failed)), "errors", 0),
        ("rush_p95_ms", percentile(times, 0.95), "ms", 0),
        ("rush_p99_ms", percentile(times, 0.99), "ms", 0),
        ("rush_rps", len(requests) / span, "req/s", 1),
        ("rush_uploads_ok", float(len(uploaded)), "uploads", 0),
    ]
