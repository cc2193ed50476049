"""Benchmark the platform served as in production; `make bench` runs this file.

Prints one ``name: value unit`` line per figure on stdout, in registry order, and only
when every benchmark succeeded; progress goes to stderr. Exits non-zero on any failure.

    .venv/bin/python bench/run.py                 # every benchmark
    .venv/bin/python bench/run.py student_home    # some of them (and what they need)
    .venv/bin/python bench/run.py --list

Environment: BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_CLIENT=python (skip wrk),
BENCH_RUSH_SECONDS (120, the rush's Locust run), BENCH_SCALE=1 (the scale step, 100 more
schools, on PostgreSQL), BENCH_KEEP=1 (keep the temporary folder and
database), DATABASE_URL, REDIS_URL, CELERY_BROKER_URL (passed to the server). See
bench/README.md.
"""

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

if not __package__:  # run as a file (bench/run.py): import the bench package from the root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import (
    certification,
    imports,
    letters,
    load,
    notices,
    package,
    portfolio_page,
    precheck,
    receipt,
    roster,
    rush,
    scale,
    server,
    signin,
    uploads,
)
from bench.client import Browser, sign_in
from bench.errors import BenchError, log

DEMO_SCHOOL = "999001"
DEMO_PASSWORD = "portfolio-demo"


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    decimals: int = 0

    def line(self) -> str:
        return f"{self.name}: {self.value:.{self.decimals}f} {self.unit}"


@dataclass
class Context:
    """What a benchmark gets: the running server, its environment, the figures so far."""

    server: server.Gunicorn
    env: dict[str, str]
    seconds: float
    warmup_seconds: float
    figures: dict[str, Figure] = field(default_factory=dict)
    _browsers: dict[str, Browser] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.server.base_url}{path}"

    def manage(self, *args: str) -> str:
        """manage.py against the bench database and folders, e.g. to import a file."""
        return server.manage(self.env, *args)

    def browser(self, username: str, password: str = DEMO_PASSWORD) -> Browser:
        """A browser signed in as ``username`` and past the acting-context pick; cached."""
        if username not in self._browsers:
            browser = sign_in(self.server.base_url, username, password)
            home = browser.get("/")  # the acting context is picked now and kept in the session
            if home.status != 200:
                raise BenchError(f"{username}: / answered {home.status} after signing in")
            self._browsers[username] = browser
        return self._browsers[username]

    def measure(
        self, path: str, *, cookie: str | None = None, expect_bytes: int | None = None
    ) -> load.LoadResult:
        log(f"loading {path} for {self.seconds:g} s")
        return load.measure(
            self.url(path),
            seconds=self.seconds,
            warmup_seconds=self.warmup_seconds,
            cookie=cookie,
            expect_bytes=expect_bytes,
        )


Benchmark = Callable[[Context], list[Figure]]


@dataclass(frozen=True)
class Entry:
    name: str
    run: Benchmark
    needs: tuple[str, ...]


REGISTRY: dict[str, Entry] = {}


def benchmark(name: str, *, needs: tuple[str, ...] = ()) -> Callable[[Benchmark], Benchmark]:
    """Register a benchmark; ``needs`` are benchmarks whose figures it uses (run first)."""

    def register(run: Benchmark) -> Benchmark:
        if name in REGISTRY:
            raise ValueError(f"benchmark {name!r} registered twice")
        REGISTRY[name] = Entry(name, run, needs)
        return run

    return register


# The benchmarks, in the order their figures are printed. ------------------------------


@benchmark("ceiling")
def ceiling(ctx: Context) -> list[Figure]:
    """The bare view: what the stack (gunicorn, middleware, no database) can do at most."""
    result = ctx.measure("/bench/bare/")
    return [Figure("ceiling_rps", result.rps, "req/s")]


@benchmark("student_home", needs=("ceiling",))
def student_home(ctx: Context) -> list[Figure]:
    """A signed-in student's home page, the page every student opens first."""
    browser = ctx.browser("s001")
    page = browser.get("/", follow=False)
    check_student_home(page.status, page.text)
    cookie = browser.cookie_header("sessionid")
    result = ctx.measure("/", cookie=cookie, expect_bytes=page.wire_size)
    after = browser.get("/", follow=False)  # the session must have held to the end
    check_student_home(after.status, after.text)
    ratio = result.rps / ctx.figures["ceiling_rps"].value
    return [
        Figure("student_home_rps", result.rps, "req/s"),
        Figure("student_home_ratio", ratio, "ratio", decimals=2),
        Figure("student_home_p99_ms", result.p99_ms, "ms", decimals=1),
    ]


def check_student_home(status: int, html: str) -> None:
    """The student's own home page: demo school, student role; not a form or an error."""
    if status != 200:
        raise BenchError(f"/ answered {status} to the signed-in student, not 200")
    role = 'class="role"'
    if (
        DEMO_SCHOOL not in html
        or role not in html
        or ("學生" not in html and "Student" not in html)
    ):
        raise BenchError(
            f"/ is not the student's home page of school {DEMO_SCHOOL}:\n{html[:1500]}"
        )


@benchmark("signin")
def sign_ins(ctx: Context) -> list[Figure]:
    """Sign-ins per second through the real allauth form, 8 clients, production hasher."""
    figures = signin.sign_ins(
        ctx.server.base_url,
        DEMO_PASSWORD,
        seconds=ctx.seconds,
        warmup_seconds=ctx.warmup_seconds,
    )
    return [Figure(*figure) for figure in figures]


@benchmark("import_students")
def import_students(ctx: Context) -> list[Figure]:
    """The student roster import: 3,000 students from xlsx; wall time and peak memory."""
    return [Figure(*figure) for figure in imports.students(ctx.env, ctx.manage)]


@benchmark("import_grades", needs=("import_students",))
def import_grades(ctx: Context) -> list[Figure]:
    """The term-grade import: 45,000 grades from xlsx; wall time and peak memory."""
    return [Figure(*figure) for figure in imports.grades(ctx.env, ctx.manage)]


@benchmark("precheck", needs=("import_grades",))
def grade_precheck(ctx: Context) -> list[Figure]:
    """The grade roster's pre-check of 3,000 students with 15 courses each (45,000 rows)."""
    return [Figure(*figure) for figure in precheck.precheck(ctx.env, ctx.manage)]


@benchmark("package", needs=("import_grades",))
def roster_package(ctx: Context) -> list[Figure]:
    """Roster 26 with its files zip: 3,000 students with 6 selected outcomes each."""
    return [Figure(*figure) for figure in package.package(ctx.env, ctx.manage)]


@benchmark("receipt", needs=("package",))
def receipt_import(ctx: Context) -> list[Figure]:
    """A receipt of 3,000 students (outcomes, performances, grades) imported and reconciled."""
    return [Figure(*figure) for figure in receipt.receipt(ctx.env, ctx.manage)]


@benchmark("letters")
def receipt_letters(ctx: Context) -> list[Figure]:
    """The receipt confirmation's paper letters: 100 students with 60 lines each, one PDF."""
    return [Figure(*figure) for figure in letters.letters(ctx.env)]


@benchmark("roster_page_queries")
def roster_page_queries(ctx: Context) -> list[Figure]:
    """SQL queries of a homeroom teacher's roster page for a 900-student class."""
    return [Figure(*figure) for figure in roster.roster_queries(ctx.manage)]


@benchmark("uploads")
def upload_throughput(ctx: Context) -> list[Figure]:
    """Course-outcome uploads by 8 clients: 2 MB per second, and workers' peak memory."""
    assert ctx.server.process is not None
    return [
        Figure(*figure)
        for figure in uploads.uploads(
            master_pid=ctx.server.process.pid,
            manage=ctx.manage,
            browser_for=ctx.browser,
            seconds=ctx.seconds,
        )
    ]


@benchmark("portfolio_page_queries")
def portfolio_page_queries(ctx: Context) -> list[Figure]:
    """SQL queries of a student's portfolio page with 60 items (the same as with 6)."""
    return [Figure(*f) for f in portfolio_page.page_queries(ctx.manage, "portfolio_page_queries")]


@benchmark("selection_page_queries")
def selection_page_queries(ctx: Context) -> list[Figure]:
    """SQL queries of a student's selection page with 60 items (the same as with 6)."""
    return [Figure(*f) for f in portfolio_page.page_queries(ctx.manage, "selection_page_queries")]


@benchmark("portfolio_page", needs=("ceiling", "portfolio_page_queries"))
def portfolio_page_load(ctx: Context) -> list[Figure]:
    """The portfolio page of a student with 60 items, loaded like the home page."""
    browser = ctx.browser(portfolio_page.STUDENT)  # its 60 items: portfolio_page_queries
    page = browser.get("/portfolio/", follow=False)
    portfolio_page.check_portfolio_page(page.status, page.text)
    cookie = browser.cookie_header("sessionid")
    result = ctx.measure("/portfolio/", cookie=cookie, expect_bytes=page.wire_size)
    after = browser.get("/portfolio/", follow=False)
    portfolio_page.check_portfolio_page(after.status, after.text)
    ratio = result.rps / ctx.figures["ceiling_rps"].value
    return [
        Figure("portfolio_page_rps", result.rps, "req/s"),
        Figure("portfolio_page_ratio", ratio, "ratio", decimals=2),
        Figure("portfolio_page_p99_ms", result.p99_ms, "ms", decimals=1),
    ]


@benchmark("queue_300")
def certification_queue(ctx: Context) -> list[Figure]:
    """The teacher's certification queue with 300 outcomes awaiting: server time, queries."""
    return [Figure(*f) for f in certification.queue(ctx.manage, ctx.browser)]


@benchmark("certify_action", needs=("queue_300",))
def certify_action(ctx: Context) -> list[Figure]:
    """One Certify of the queue, posted as the page's form does: server time."""
    return [Figure(*f) for f in certification.certify(ctx.manage, ctx.browser)]


@benchmark("class_matrix_900")
def class_matrix(ctx: Context) -> list[Figure]:
    """The working group's progress page of a 900-student grade: server time, queries."""
    return [Figure(*f) for f in certification.progress(ctx.manage, ctx.browser)]


@benchmark("notices")
def scheduled_notices(ctx: Context) -> list[Figure]:
    """The beat task's notices for a school of 3,360 students: about 10,000 written, then 0."""
    return [Figure(*f) for f in notices.scheduled(ctx.env)]


@benchmark("notices_deliver")
def notices_deliver(ctx: Context) -> list[Figure]:
    """Notices' e-mail: 1,000 pending notices rendered and sent (locmem backend)."""
    return [Figure(*f) for f in notices.deliver(ctx.env)]


@benchmark("rush")
def deadline_rush(ctx: Context) -> list[Figure]:
    """300 students and 20 teachers at once (Locust) on docker-compose.yml's web and worker."""
    var_dir = Path(ctx.env["PORTFOLIO_VAR_DIR"])
    return [Figure(*f) for f in rush.rush(ctx.env, ctx.manage, var_dir)]


# Last: the hundred schools it adds would weigh on every benchmark after it.
@benchmark("scale")
def scale_home_ratio(ctx: Context) -> list[Figure]:
    """The home and the queue with 100 more schools of 3,000 students (BENCH_SCALE=1)."""
    return [Figure(*f) for f in scale.scale(ctx.env, ctx.browser, check_student_home)]


# Running -------------------------------------------------------------------------------


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError as exc:
        raise BenchError(f"{name} must be a number of seconds, got {raw!r}") from exc
    if value < 0 or value > 600:
        raise BenchError(f"{name} must be between 0 and 600 seconds, got {raw!r}")
    return value


def selected(names: list[str]) -> list[Entry]:
    """The named benchmarks and those they need, in registry order; all when none named."""
    wanted = set(names or REGISTRY)
    pending = list(wanted)
    while pending:
        for need in REGISTRY[pending.pop()].needs:
            if need not in wanted:
                wanted.add(need)
                pending.append(need)
    return [entry for name, entry in REGISTRY.items() if name in wanted]


def run(entries: list[Entry]) -> list[Figure]:
    seconds = _env_seconds("BENCH_SECONDS", 10)
    if seconds < 1:
        raise BenchError("BENCH_SECONDS must be at least 1")
    warmup = _env_seconds("BENCH_WARMUP_SECONDS", 2)
    client = "wrk" if load.wrk_path() else "Python threads (no wrk, or BENCH_CLIENT=python)"
    log(f"load client: {client}, {load.CONNECTIONS} connections, {seconds:g} s per figure")
    with contextlib.ExitStack() as stack:
        var_dir = stack.enter_context(server.temporary_var_dir())
        database_env = stack.enter_context(server.bench_database())
        env = server.server_env(var_dir, database_env)
        server.prepare(env)
        gunicorn = stack.enter_context(server.Gunicorn(env, var_dir / "gunicorn.log"))
        ctx = Context(server=gunicorn, env=env, seconds=seconds, warmup_seconds=warmup)
        for entry in entries:
            log(f"benchmark {entry.name}")
            for figure in entry.run(ctx):
                if figure.name in ctx.figures:
                    raise BenchError(f"figure {figure.name!r} given twice")
                ctx.figures[figure.name] = figure
                log(f"  {figure.line()}")
        return list(ctx.figures.values())


def _terminate(signum: int, frame: FrameType | None) -> None:
    log(f"stopped by signal {signum}")
    raise SystemExit(128 + signum)  # unwinds through the finally blocks: gunicorn stops


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(REGISTRY))
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(REGISTRY)}")
    if args.list:
        for entry in REGISTRY.values():
            print(f"{entry.name}: {(entry.run.__doc__ or '').strip().splitlines()[0]}")
        return 0
    signal.signal(signal.SIGTERM, _terminate)
    try:
        figures = run(selected(args.names))
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    for figure in figures:
        print(figure.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
