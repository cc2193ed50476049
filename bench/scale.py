"""Scale: the student's home and the teacher's queue with a hundred schools in the database.

Only with ``BENCH_SCALE=1`` (the seed takes minutes) and on PostgreSQL (on SQLite the step is
skipped, with a note on stderr).

1. **Before**: the demo student's home (``/``, signed in as ``s001``) and the demo teacher's
   certification queue (``/certification/``, signed in as ``teacher``), each requested
   sequentially through gunicorn as ``queue_300_ms`` is (``certification.median_ms``: a
   warm-up, then 30 timed; the median wall time), in ``ROUNDS`` rounds: the lowest of the
   rounds' medians, so that a round slowed by other work on the machine does not count. The
   database holds the demo school and whatever the benchmarks before this one added: in a
   whole run, the demo school has the 3,000 students ``import_students`` gave it.
2. **The seed**, timed (``scale_seed_s``), in a ``manage.py shell`` of its own: ``SCHOOLS``
   schools of ``STUDENTS`` students each (codes 700000 to 700099), each made as an office would
   (``school_create``, the current school year with the demo's terms and windows) and then
   filled in bulk with PostgreSQL's ``COPY``, one transaction per school, ids taken from the
   tables' sequences beforehand so that rows can refer to each other without reading them
   back: ``CLASSES`` classes of ``CLASS_SIZE`` (grades 10 to 12); a teacher for every
   ``CLASSES_PER_TEACHER`` classes of a subject and one account per student (User with the
   demo password's production hash copied from ``s001``, Membership, Student); ``COURSES``
   credited courses of term 1 in each class, each with its teacher, every student enrolled
   in the class's courses; ``OUTCOMES`` course outcomes per student, each with its
   stored-file row (no file: neither page opens them), in turn awaiting certification,
   certified, rejected and draft (about 19 awaiting each teacher); a decision notice to the
   student for each certified or rejected one, half of them unread; and a diverse
   performance per student. Then ``VACUUM (ANALYZE)``, as autovacuum would have done on a
   live server (the bench's PostgreSQL may run without it), and ``CHECKPOINT``, so that
   neither autovacuum nor the checkpointer writes the seed out during the second
   measurement.
3. **After**: the same two pages measured again, which must show the same items as before
   (none of the hundred schools' rows): ``scale_home_ms``, ``scale_queue_ms``, and the
   ratios after / before, ``scale_home_ratio`` and ``scale_queue_ratio`` (aim: at most 1.5).

Before and after, the pages' SQL is also run through Django's test client and each SELECT
explained (``EXPLAIN ANALYZE``): the log gives each page's queries, their summed execution
time and the slowest of them; when a ratio is above 1.5, that query's whole plan.
"""

import json
import os
from collections.abc import Callable, Mapping

from bench import server
from bench.certification import CLIENT, QUEUE_PATH, certify_actions, median_ms
from bench.client import Browser, Response
from bench.errors import BenchError, log
from bench.notices import _line

DEMO_SCHOOL = "999001"
STUDENT = "s001"
TEACHER = "teacher"
HOME_PATH = "/"
SCHOOLS = 100
FIRST_CODE = 700000
CLASSES = 75  # 25 in each of grades 10, 11 and 12
CLASS_SIZE = 40
STUDENTS = CLASSES * CLASS_SIZE  # 3,000
COURSES = 8  # credited courses of term 1 for each class
CLASSES_PER_TEACHER = 5  # of one subject and grade: 120 teachers a school
OUTCOMES = 3  # course outcomes per student
ROUNDS = 3
AIM = 1.5
SEED_TIMEOUT = 1800

Figures = list[tuple[str, float, str, int]]
BrowserFor = Callable[[str], Browser]
Check = Callable[[int, str], None]

# The seed (see the module's docstring); prints the rows written and its seconds.
SEED = """
import json
import time
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from psycopg import sql
from psycopg.types.json import Jsonb
from accounts.models import Division, Membership, Notice, NoticeKind, Role, User
from portal.management.commands.seed_demo import Command as SeedDemo
from portfolio import services as school_services
from portfolio.lib import roc
from records.demo.courses import SUBJECTS, course_code_for
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import (
    CourseOutcome, OutcomeState, Performance, PerformanceCategory, StoredFile,
)

started = time.perf_counter()
GRADES = (10, 11, 12)
TEACHERS = CLASSES * COURSES // CLASSES_PER_TEACHER
PEOPLE = TEACHERS + STUDENTS
STATES = [OutcomeState.SUBMITTED, OutcomeState.CERTIFIED, OutcomeState.REJECTED, OutcomeState.DRAFT]
DECIDED = {OutcomeState.CERTIFIED: "certified", OutcomeState.REJECTED: "rejected"}
now = timezone.now()
roc_year = roc.current_school_year()
password = User.objects.get(username=PASSWORD_OF).password
portfolio = reverse("outcomes:portfolio")
demo = SeedDemo()
subjects = {g: [s for s in SUBJECTS[g] if s.credits and 1 in s.terms][:COURSES] for g in GRADES}
assert all(len(found) == COURSES for found in subjects.values()), subjects
classes = [(g, f"{g - 9}{n + 1:02d}") for g in GRADES for n in range(CLASSES // len(GRADES))]
assert len(classes) == CLASSES and CLASSES % len(GRADES) == 0
assert (CLASSES // len(GRADES)) % CLASSES_PER_TEACHER == 0  # a teacher's classes: one grade
written = {}


def reserve(model, count):
    # The first of ``count`` ids taken from the table's sequence, for rows written with them.
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, 'id'),"
            " nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
            [table, table, count],
        )
        return cursor.fetchone()[0] - count + 1


def copy(model, names, rows):
    # COPY ``rows`` (tuples of the fields ``names``, by attname) into the model's table; every
    # other column takes what an unsaved instance holds: its default, or now for auto_now.
    meta = model._meta
    template = model()
    rest = [f for f in meta.concrete_fields if f.attname not in names]
    tail = tuple(f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in rest)
    columns = [meta.get_field(name).column for name in names] + [f.column for f in rest]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as out:
        for row in rows:
            out.write_row(row + tail)
            count += 1
    written[meta.db_table] = written.get(meta.db_table, 0) + count


def fill(school, year, term):
    # Ids, from the blocks reserved: teacher t's user u + t, student n's user u + TEACHERS + n
    # (memberships alike), student n s + n in class k(n), course j of class i co + i * COURSES
    # + j, student n's enrolment in it e + n * COURSES + j, outcome i and its file o + i, f + i.
    code = school.code
    u, m = reserve(User, PEOPLE), reserve(Membership, PEOPLE)
    c, s = reserve(SchoolClass, CLASSES), reserve(Student, STUDENTS)
    co, ct = reserve(Course, CLASSES * COURSES), reserve(Course.teachers.through, CLASSES * COURSES)
    e = reserve(CourseEnrolment, STUDENTS * COURSES)
    f, o = reserve(StoredFile, STUDENTS * OUTCOMES), reserve(CourseOutcome, STUDENTS * OUTCOMES)
    p = reserve(Performance, STUDENTS)
    # Outcome x of student n: on course (n + x) % COURSES of the class; its state in turn.
    outcomes = [
        (n * OUTCOMES + x, n, (n + x) % COURSES, STATES[(n // COURSES + x) % len(STATES)])
        for n in range(STUDENTS) for x in range(OUTCOMES)
    ]
    decided = [(i, n, j, state) for i, n, j, state in outcomes if state in DECIDED]
    notice = reserve(Notice, len(decided))

    def k(n):  # the class of the school's student n
        return n // CLASS_SIZE

    def teacher(i, j):  # the user id of the teacher of subject j in class i
        return u + (j * CLASSES + i) // CLASSES_PER_TEACHER

    codes = {
        (g, j): course_code_for(school=school, entry_year=roc_year - (g - 10), subject=subject)
        for g in GRADES for j, subject in enumerate(subjects[g])
    }

    copy(User, ("id", "username", "name", "password"), (
        (u + t, f"scale-{code}-t{t:03d}", f"教師{t:03d}", password) for t in range(TEACHERS)
    ))
    copy(User, ("id", "username", "name", "password"), (
        (u + TEACHERS + n, f"scale-{code}-s{n:04d}", f"學生{n:04d}", password)
        for n in range(STUDENTS)
    ))
    copy(Membership, ("id", "user_id", "school_id", "role", "division"), (
        (m + i, u + i, school.pk, Role.TEACHER if i < TEACHERS else Role.STUDENT, Division.DAY)
        for i in range(PEOPLE)
    ))
    copy(SchoolClass, ("id", "school_id", "school_year_id", "name", "grade"), (
        (c + i, school.pk, year.pk, name, g) for i, (g, name) in enumerate(classes)
    ))
    copy(Student, (
        "id", "school_id", "user_id", "student_number", "name", "school_class_id", "seat_number"
    ), (
        (s + n, school.pk, u + TEACHERS + n, f"S{n:05d}", f"學生{classes[k(n)][1]}-{n % CLASS_SIZE + 1:02d}",
         c + k(n), n % CLASS_SIZE + 1)
        for n in range(STUDENTS)
    ))
    copy(Course, ("id", "school_id", "term_id", "code", "section", "name", "grade", "credits"), (
        (co + i * COURSES + j, school.pk, term.pk, codes[g, j], name, subject.name, g,
         subject.credits)
        for i, (g, name) in enumerate(classes) for j, subject in enumerate(subjects[g])
    ))
    copy(Course.teachers.through, ("id", "course_id", "user_id"), (
        (ct + i * COURSES + j, co + i * COURSES + j, teacher(i, j))
        for i in range(CLASSES) for j in range(COURSES)
    ))
    copy(CourseEnrolment, ("id", "school_id", "student_id", "course_id"), (
        (e + n * COURSES + j, school.pk, s + n, co + k(n) * COURSES + j)
        for n in range(STUDENTS) for j in range(COURSES)
    ))
    copy(StoredFile, (
        "id", "school_id", "student_id", "storage_key", "display_name", "extension", "mime",
        "size", "sha256",
    ), (
        (f + i, school.pk, s + n, f"scale-{f + i}", "學習單.pdf", "pdf", "application/pdf",
         48213, "0" * 64)
        for i, n, _j, _state in outcomes
    ))
    copy(CourseOutcome, (
        "id", "school_id", "student_id", "enrolment_id", "title", "description", "document_id",
        "state", "rejection_reason", "certified_by_id", "certified_at",
    ), (
        (o + i, school.pk, s + n, e + n * COURSES + j,
         f"{subjects[classes[k(n)][0]][j].name}學習單", "整理課堂的重點與提問，並寫下自己的反思。",
         f + i, state, "請上傳本課程的作品。" if state == OutcomeState.REJECTED else "",
         teacher(k(n), j) if state in DECIDED else None, now if state in DECIDED else None)
        for i, n, j, state in outcomes
    ))
    copy(Notice, (
        "id", "school_id", "user_id", "kind", "topic", "key", "params", "link", "role",
        "created_at", "read_at",
    ), (
        (notice + r, school.pk, u + TEACHERS + n, NoticeKind.DECISION, DECIDED[state],
         f"{DECIDED[state]}:{o + i}:{now.isoformat()}",
         Jsonb({"title": f"{subjects[classes[k(n)][0]][j].name}學習單",
                "course": subjects[classes[k(n)][0]][j].name, "by": "教師", "reason": ""}),
         f"{portfolio}#outcome-{o + i}", Role.STUDENT, now, now if r % 2 else None)
        for r, (i, n, j, state) in enumerate(decided)
    ))
    copy(Performance, (
        "id", "school_id", "student_id", "school_year_id", "category", "name", "description",
        "details",
    ), (
        (p + n, school.pk, s + n, year.pk, PerformanceCategory.SERVICE, "社區圖書館志工",
         "協助整理書架與兒童說故事活動。", Jsonb({"organiser": "市立圖書館", "hours": "12"}))
        for n in range(STUDENTS)
    ))


for number in range(SCHOOLS):
    with transaction.atomic():
        school = school_services.school_create(
            code=f"{FIRST_CODE + number}", name=f"規模測試高級中學{number + 1:03d}",
            name_en=f"Scale Benchmark Senior High School {number + 1:03d}", by=None,
        )
        year = school_services.school_year_create(
            school=school, roc_year=roc_year, terms=demo._terms(roc_year), by=None
        )
        demo._windows(year)  # the demo's schedule
        fill(school, year, year.terms.get(number=1))
seeded = time.perf_counter() - started
with connection.cursor() as cursor:
    cursor.execute("VACUUM (ANALYZE)")
    # The rows written out to disk now rather than by the checkpointer during the second
    # measurement (it wants a superuser or pg_checkpoint: without, the figures are noisier).
    try:
        with transaction.atomic():
            cursor.execute("CHECKPOINT")
        checkpoint = "done"
    except DatabaseError as exc:
        checkpoint = f"refused ({exc.__class__.__name__})"
print("WRITTEN", json.dumps(written))
print("CHECKPOINT", checkpoint)
print("SEED", f"{seeded:.3f}", f"{time.perf_counter() - started - seeded:.3f}")
"""

# The two pages through the test client, each SELECT explained: count, summed execution time
# and the slowest (with its plan when PLAN is set).
PAGES = """
import json
from django.urls import reverse
from accounts.models import Membership, Role


def explained(sql):
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) {sql}")
        lines = [row[0] for row in cursor.fetchall()]
    ms = sum(float(line.split(":")[1].split()[0]) for line in lines
             if line.startswith(("Planning Time:", "Execution Time:")))
    return ms, lines


for name, username, role, path in PAGES_WANTED:
    member = Membership.objects.get(user__username=username, school__code=SCHOOL, role=role)
    client = client_for(member)
    client.get(path)  # warm: the calendar, the session
    counted(client, path)  # asserts the page answers 200
    with CaptureQueriesContext(connection) as queries:
        client.get(path)
    selects = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().startswith("SELECT")]
    timed = sorted((explained(sql) + (sql,) for sql in selects), key=lambda t: t[0], reverse=True)
    slowest_ms, plan, slowest = timed[0] if timed else (0.0, [], "")
    print("PAGE", json.dumps({
        "name": name, "queries": len(queries.captured_queries), "selects": len(selects),
        "ms": round(sum(t[0] for t in timed), 3), "slowest_ms": slowest_ms,
        "slowest": slowest[:300], "plan": plan if PLAN else [],
    }))
"""


def enabled() -> bool:
    return os.environ.get("BENCH_SCALE", "").strip() == "1"


def scale(env: Mapping[str, str], browser_for: BrowserFor, check_home: Check) -> Figures:
    if not enabled():
        log("scale: skipped (BENCH_SCALE=1 runs it: it seeds 100 schools for minutes)")
        return []
    if not env.get("DATABASE_URL"):
        log("scale: skipped on SQLite (it needs PostgreSQL: DATABASE_URL)")
        return []
    home, queue = browser_for(STUDENT), browser_for(TEACHER)
    first = home.get(HOME_PATH, follow=False)
    check_home(first.status, first.text)
    shown = queue.get(QUEUE_PATH, follow=False)
    if shown.status != 200:
        raise BenchError(f"{QUEUE_PATH} answered {shown.status} to {TEACHER}, not 200")
    buttons = len(certify_actions(shown.text))

    def check_queue(response: Response) -> None:
        found = len(certify_actions(response.text))
        if response.status != 200 or found != buttons:
            raise BenchError(
                f"{QUEUE_PATH} answered {response.status} with {found} Certify buttons, not 200 "
                f"with {buttons} as before the seed"
            )

    def measure(when: str) -> tuple[float, float]:
        home_ms = _steadiest(home, HOME_PATH, lambda r: check_home(r.status, r.text), when)
        return home_ms, _steadiest(queue, QUEUE_PATH, check_queue, when)

    home_before, queue_before = measure("before the seed")
    _pages_sql(env, "before the seed", plan=False)
    seed_s = _seed(env)
    after = f"after the seed ({SCHOOLS} more schools)"
    home_after, queue_after = measure(after)
    home_ratio, queue_ratio = home_after / home_before, queue_after / queue_before
    log(f"scale: home {home_before:.1f} -> {home_after:.1f} ms, queue {queue_before:.1f} -> "
        f"{queue_after:.1f} ms")  # fmt: skip
    _pages_sql(env, after, plan=max(home_ratio, queue_ratio) > AIM)
    return [
        ("scale_seed_s", seed_s, "s", 1),
        ("scale_home_ms", home_after, "ms", 1),
        ("scale_queue_ms", queue_after, "ms", 1),
        ("scale_home_ratio", home_ratio, "ratio", 2),
        ("scale_queue_ratio", queue_ratio, "ratio", 2),
    ]


def _steadiest(browser: Browser, path: str, check: Callable[[Response], None], when: str) -> float:
    """The lowest median of ``ROUNDS`` rounds: a round slowed by other work on the machine
    (the figure is a ratio of two moments minutes apart) does not count."""
    return min(
        median_ms(browser, path, check, what=f"{when}: {path} round {n + 1}") for n in range(ROUNDS)
    )


def _header() -> str:
    return (
        f"SCHOOLS = {SCHOOLS}\nFIRST_CODE = {FIRST_CODE}\nCLASSES = {CLASSES}\n"
        f"CLASS_SIZE = {CLASS_SIZE}\nSTUDENTS = {STUDENTS}\nCOURSES = {COURSES}\n"
        f"CLASSES_PER_TEACHER = {CLASSES_PER_TEACHER}\nOUTCOMES = {OUTCOMES}\n"
        f"PASSWORD_OF = {STUDENT!r}\n"
    )


def _seed(env: Mapping[str, str]) -> float:
    log(f"scale: seeding {SCHOOLS} schools of {STUDENTS} students (minutes)")
    output = server.manage(env, "shell", "-c", _header() + SEED, timeout=SEED_TIMEOUT)
    written = " ".join(_line(output, "WRITTEN", "scale seed"))
    checkpoint = " ".join(_line(output, "CHECKPOINT", "scale seed"))
    seeded, settled = map(float, _line(output, "SEED", "scale seed"))
    log(f"scale: wrote {written} in {seeded:.1f} s; VACUUM (ANALYZE) and CHECKPOINT "
        f"({checkpoint}) {settled:.1f} s")  # fmt: skip
    return seeded + settled


def _pages_sql(env: Mapping[str, str], when: str, *, plan: bool) -> None:
    wanted = [
        ("home", STUDENT, "student", HOME_PATH),
        ("queue", TEACHER, "teacher", QUEUE_PATH),
    ]
    header = f"SCHOOL = {DEMO_SCHOOL!r}\nPAGES_WANTED = {wanted!r}\nPLAN = {plan}\n"
    output = server.manage(env, "shell", "-c", header + CLIENT + PAGES)
    for row in output.splitlines():
        if not row.startswith("PAGE "):
            continue
        page = json.loads(row.removeprefix("PAGE "))
        log(f"{when}: {page['name']}: {page['queries']} queries ({page['selects']} SELECTs, "
            f"{page['ms']:.1f} ms planned and executed); slowest {page['slowest_ms']:.1f} ms: "
            f"{page['slowest']}")  # fmt: skip
        for line in page["plan"]:
            log(f"    {line}")
