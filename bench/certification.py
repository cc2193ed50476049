"""The certification queue, a certify decision and the progress page: server time and queries.

- ``queue_300_ms``, ``queue_300_queries``: the demo teacher's certification queue
  (``/certification/``, first page: 50 items) when 300 outcomes of term 1 await the teacher's
  decision. Set up untimed in a ``manage.py shell`` (bulk writes): eight new classes of the
  demo school's grades 10 and 11 (121-124, 221-224: names the student import does not use),
  40 students each, a 數學 course of term 1 for each class taught by ``teacher`` (the demo's
  subject and course code), the students enrolled, and one outcome awaiting certification
  (with a stored-file row; the page does not read the files) for each student until the
  teacher has 300 awaiting, the demo's own included. A certification window of term 1 is
  made open now when the demo schedule has none open today. The page is requested through
  Django's test client as the teacher with 30 awaiting and with 300, counting the SQL
  queries: the run fails when they differ. (The demo alone gives the teacher more than 30:
  for the first count those beyond 30 are turned into drafts, which no teacher sees, in a
  transaction rolled back after it.) Then the teacher signs in on the real server and
  the page is requested sequentially, a warm-up and then ``REQUESTS`` timed: the median wall
  time of a request.
- ``certify_action_ms``: the queue's own Certify button, as a browser sends it: the form's
  CSRF token and the item's ``o<pk>-seen_at``, posted to the button's ``formaction``
  (``/certification/<pk>/?next=<pk>``). Sequential, each on a different awaiting outcome of
  the page: a warm-up, then ``REQUESTS`` timed POSTs (the redirect's target, the queue, is
  loaded after each, untimed, as the browser would: it shows and so clears the message).
  Then every one of those outcomes must be certified by the teacher.
- ``class_matrix_900_ms``, ``progress_900_queries``: the progress page (``/progress/``, the
  "uploads by class" tab, term 1) for the working group of a school of its own (999002, so
  what other benchmarks add to the demo school does not count here), set up untimed: the
  demo's schedule (terms, windows), grade 10's subjects of term 1 in each class with 42
  teachers, and a grade of 18 classes of 50 students, each student enrolled in the class's
  17 courses with 4 outcomes (awaiting, certified, rejected, draft in turn) and a
  performance. The queries are counted with the first class only (50 students), then with
  all 18 (900): the run fails when they differ. Then timed as the queue.

On PostgreSQL each set-up ends with ``ANALYZE``, as autovacuum would soon do on a live
server: without statistics the planner takes the bulk-written tables for empty, and the
progress page's grouped queries turn into nested loops (about 430 ms instead of 60 ms).
"""

import html
import re
import statistics
import time
from collections.abc import Callable

from bench.client import Browser, Response, hidden_inputs
from bench.errors import BenchError, log

DEMO_SCHOOL = "999001"
TEACHER = "teacher"
QUEUE_PATH = "/certification/"
FEW, MANY = 30, 300
REQUESTS = 30
WARMUP = 5
CERTIFY_WARMUP = 4

PROGRESS_SCHOOL = "999002"
PROGRESS_USER = "bench-group"
PROGRESS_CLASSES = 18
PROGRESS_CLASS_SIZE = 50
PROGRESS_STUDENTS = PROGRESS_CLASSES * PROGRESS_CLASS_SIZE

Manage = Callable[..., str]
BrowserFor = Callable[[str], Browser]
Figures = list[tuple[str, float, str, int]]

# Shared by both scripts: a test client signed in with an acting role, queries counted.
CLIENT = """
from django.test.utils import setup_test_environment
setup_test_environment()
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from accounts import acting


def client_for(membership):
    client = Client(SERVER_NAME="localhost")
    client.force_login(membership.user)
    session = client.session
    session[acting.SESSION_KEY] = {"membership": membership.pk, "deputy": None}
    session.save()
    return client


def analyze():
    # Planner statistics for the rows just written, as autovacuum gives a live server (the
    # bench's PostgreSQL may run without it): else the plans are those of empty tables.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def counted(client, path, params=None):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, params or {})
    assert response.status_code == 200, (path, response.status_code)
    return response, len(queries.captured_queries)
"""

QUEUE_SETUP = """
import datetime as dt
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from accounts.models import Membership, Role, User
from certification.services import certification_window
from portfolio.lib import roc
from portfolio.models import School, SchoolYear, Window, WindowKind
from records.demo.courses import SUBJECTS, course_code_for
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import CourseOutcome, OutcomeState, StoredFile

school = School.objects.get(code=SCHOOL)
teacher = User.objects.get(username=TEACHER)
year = SchoolYear.objects.get(school=school, roc_year=roc.current_school_year())
term = year.terms.get(number=1)
now = timezone.now()
math = next(s for s in SUBJECTS[10] if s.name == "數學")
CLASSES = [(f"{grade - 9}{n}", grade) for grade in (10, 11) for n in range(21, 25)]
SIZE = 40

classes = SchoolClass.objects.bulk_create(
    SchoolClass(school=school, school_year=year, name=name, grade=grade)
    for name, grade in CLASSES
)
courses = Course.objects.bulk_create(
    Course(
        school=school, term=term, name=math.name, grade=k.grade, credits=math.credits,
        section=k.name,
        code=course_code_for(school=school, entry_year=year.roc_year - (k.grade - 10), subject=math),
    )
    for k in classes
)
Course.teachers.through.objects.bulk_create(
    Course.teachers.through(course_id=c.pk, user_id=teacher.pk) for c in courses
)
students = Student.objects.bulk_create(
    Student(school=school, school_class=k, student_number=f"Q{i:03d}{seat:02d}",
            name=f"學生{k.name}-{seat:02d}", seat_number=seat)
    for i, k in enumerate(classes) for seat in range(1, SIZE + 1)
)
course_of = {k.pk: c for k, c in zip(classes, courses, strict=True)}
enrolments = CourseEnrolment.objects.bulk_create(
    CourseEnrolment(school=school, student=s, course=course_of[s.school_class_id])
    for s in students
)

# The certification window of term 1, open now for these courses (made so when the demo
# schedule has none open today).
if not all(certification_window(c, now).is_open for c in courses):
    Window.objects.create(
        school=school, term=term, kind=WindowKind.CERTIFICATION, grade=None,
        starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(days=2),
        note="benchmark",
    )
assert all(certification_window(c, now).is_open for c in courses)

pending = list(enrolments)


def awaiting():
    return CourseOutcome.objects.filter(
        school=school, state=OutcomeState.SUBMITTED, enrolment__course__teachers=teacher
    )


def add_until(total):
    wanted = max(total - awaiting().count(), 0)
    assert wanted <= len(pending), (total, wanted, len(pending))
    chosen = [pending.pop(0) for _ in range(wanted)]
    files = StoredFile.objects.bulk_create(
        StoredFile(
            school=school, student_id=e.student_id, storage_key=f"bench-queue-{e.pk}",
            display_name="學習單.pdf", extension="pdf", mime="application/pdf", size=48213,
            sha256="0" * 64,
        )
        for e in chosen
    )
    CourseOutcome.objects.bulk_create(
        CourseOutcome(
            school=school, student_id=e.student_id, enrolment=e, title=f"數學學習單 {e.pk}",
            description="整理數學課堂的重點與提問，並寫下自己的反思。", document=f,
            state=OutcomeState.SUBMITTED,
        )
        for e, f in zip(chosen, files, strict=True)
    )


class SetAside(Exception):
    pass


# The page's queries with ``total`` awaiting. The demo alone may have more: those beyond
# ``total`` are turned into drafts (which never reach a teacher) for the count, in a
# transaction rolled back after it.
def count_at(total):
    add_until(total)
    try:
        with transaction.atomic():
            surplus = awaiting().count() - total
            if surplus > 0:
                aside = list(awaiting().order_by("-pk").values_list("pk", flat=True)[:surplus])
                CourseOutcome.objects.filter(pk__in=aside).update(state=OutcomeState.DRAFT)
            response, queries = counted(client, page)
            raise SetAside(
                response.context["options"].total_awaiting,
                len(response.context["page"].object_list),
                queries,
            )
    except SetAside as found:
        return list(found.args)


client = client_for(Membership.objects.get(user=teacher, school=school, role=Role.TEACHER))
page = reverse("certification:queue")
results = []
for total in (FEW, MANY):
    results += count_at(total)
assert awaiting().count() == MANY, awaiting().count()
analyze()
print("QUEUE", *results)
"""

CERTIFIED = """
from submissions.models import CourseOutcome, OutcomeState
print("CERTIFIED", CourseOutcome.objects.filter(
    pk__in=PKS, state=OutcomeState.CERTIFIED, certified_by__username=TEACHER
).count())
"""

PROGRESS_SETUP = """
import datetime as dt
from django.urls import reverse
from django.utils import timezone
from accounts import services as account_services
from accounts.models import Division, Membership, Role, User
from portal.management.commands.seed_demo import Command as SeedDemo
from portfolio import services as school_services
from portfolio.lib import roc
from records.demo.courses import SUBJECTS, course_code_for
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import (
    CourseOutcome, OutcomeState, Performance, PerformanceCategory, PerformanceSource,
    PerformanceState, StoredFile,
)

GRADE = 10
now = timezone.now()
roc_year = roc.current_school_year()
school = school_services.school_create(
    code=CODE, name="效能測試高級中學", name_en="Benchmark Senior High School", by=None
)
seed = SeedDemo()
year = school_services.school_year_create(
    school=school, roc_year=roc_year, terms=seed._terms(roc_year), by=None
)
seed._windows(year)  # the demo's schedule
term = year.terms.get(number=1)
group = account_services.member_create(
    school=school, username=USERNAME, name="效能工作小組", email="", password="",
    password_hash=User.objects.get(username="group").password, role=Role.WORKING_GROUP,
    division=Division.DAY, by=None,
)
subjects = [s for s in SUBJECTS[GRADE] if 1 in s.terms]
credited = [s for s in subjects if s.credits]
teachers = User.objects.bulk_create(
    User(username=f"bench-t{n:02d}", name=f"教師{n:02d}", password="!")
    for n in range(len(credited) * CLASSES // 6)
)
Membership.objects.bulk_create(
    Membership(user=t, school=school, role=Role.TEACHER, division=Division.DAY) for t in teachers
)
STATES = [OutcomeState.SUBMITTED, OutcomeState.CERTIFIED, OutcomeState.REJECTED, OutcomeState.DRAFT]
made = 0


# Classes made..upto of the grade, with students, courses, enrolments and items.
def grow(upto):
    global made
    classes = SchoolClass.objects.bulk_create(
        SchoolClass(school=school, school_year=year, name=f"1{n + 1:02d}", grade=GRADE)
        for n in range(made, upto)
    )
    courses = Course.objects.bulk_create(
        Course(
            school=school, term=term, name=s.name, grade=GRADE, credits=s.credits,
            section=k.name, code=course_code_for(school=school, entry_year=roc_year, subject=s),
        )
        for k in classes for s in subjects
    )
    taught, teacher_of = [], {}
    for i, k in enumerate(classes, start=made):
        for j, s in enumerate(credited):
            course = next(c for c in courses if c.section == k.name and c.name == s.name)
            teacher_of[course.pk] = teachers[(j * CLASSES + i) // 6]
            taught.append(Course.teachers.through(course_id=course.pk, user_id=teacher_of[course.pk].pk))
    Course.teachers.through.objects.bulk_create(taught)
    students = Student.objects.bulk_create(
        Student(school=school, school_class=k, student_number=f"P{k.name}{seat:02d}",
                name=f"學生{k.name}-{seat:02d}", seat_number=seat)
        for k in classes for seat in range(1, SIZE + 1)
    )
    by_class = {}
    for c in courses:
        by_class.setdefault(c.section, []).append(c)
    class_name = {k.pk: k.name for k in classes}
    enrolments = CourseEnrolment.objects.bulk_create(
        (CourseEnrolment(school=school, student=s, course=c)
         for s in students for c in by_class[class_name[s.school_class_id]]),
        batch_size=2000,
    )
    outcome_on = {}
    for e in enrolments:
        if e.course.credits and len(outcome_on.setdefault(e.student_id, [])) < len(STATES):
            outcome_on[e.student_id].append(e)
    seats = {s.pk: s.seat_number for s in students}
    chosen = [(e, STATES[(seats[e.student_id] + n) % len(STATES)])
              for picks in outcome_on.values() for n, e in enumerate(picks)]
    files = StoredFile.objects.bulk_create(
        (StoredFile(school=school, student_id=e.student_id,
                    storage_key=f"bench-progress-{e.pk}", display_name="報告.pdf",
                    extension="pdf", mime="application/pdf", size=48213, sha256="0" * 64)
         for e, _state in chosen),
        batch_size=2000,
    )
    CourseOutcome.objects.bulk_create(
        (CourseOutcome(
            school=school, student_id=e.student_id, enrolment=e, title=f"{e.course.name}報告",
            description="以課堂所學完成的報告。", document=f, state=state,
            rejection_reason="請上傳本課程的作品。" if state == OutcomeState.REJECTED else "",
            certified_by=teacher_of[e.course_id] if state == OutcomeState.CERTIFIED else None,
            certified_at=now - dt.timedelta(days=2) if state in (OutcomeState.CERTIFIED, OutcomeState.REJECTED) else None,
        ) for (e, state), f in zip(chosen, files, strict=True)),
        batch_size=2000,
    )
    Performance.objects.bulk_create(
        (Performance(
            school=school, student=s, school_year=year, category=PerformanceCategory.SERVICE,
            source=PerformanceSource.STUDENT, name="社區圖書館志工",
            description="協助整理書架與兒童說故事活動。",
            details={"organiser": "市立圖書館", "hours": "12"}, state=PerformanceState.SAVED,
        ) for s in students),
        batch_size=2000,
    )
    made = upto


client = client_for(group)
page = reverse("progress:index")
params = {"term": term.pk, "tab": "class"}
results = [term.pk]
for upto in (1, CLASSES):
    grow(upto)
    response, queries = counted(client, page, params)
    results += [response.context["uploads"].total.students, queries]
analyze()
print("PROGRESS", *results)
"""


def _result(output: str, tag: str, what: str) -> list[int]:
    line = next((row for row in output.splitlines() if row.startswith(f"{tag} ")), None)
    if line is None:
        raise BenchError(f"the {what} script printed no result:\n{output[-2000:]}")
    return [int(part) for part in line.split()[1:]]


def median_ms(
    browser: Browser, path: str, check: Callable[[Response], None], *, what: str
) -> float:
    """Sequential GETs of ``path``: a warm-up, then ``REQUESTS`` timed; the median in ms."""
    for _ in range(WARMUP):
        check(browser.request("GET", path))
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = browser.request("GET", path)
        times.append((time.perf_counter() - started) * 1000)
        check(response)
    log(f"{what}: median {statistics.median(times):.1f} ms, min {min(times):.1f}, "
        f"max {max(times):.1f} over {REQUESTS} requests")  # fmt: skip
    return statistics.median(times)


# --- the queue ---------------------------------------------------------------------------------

CERTIFY_BUTTON = re.compile(r'name="action" value="certify" formaction="([^"]+)"')


def certify_actions(page: str) -> list[str]:
    """The Certify buttons' addresses, in the page's order."""
    return [html.unescape(action) for action in CERTIFY_BUTTON.findall(page)]


def queue(manage: Manage, browser_for: BrowserFor) -> Figures:
    header = f"SCHOOL = {DEMO_SCHOOL!r}\nTEACHER = {TEACHER!r}\nFEW, MANY = {FEW}, {MANY}\n"
    output = manage("shell", "-c", header + CLIENT + QUEUE_SETUP)
    few_total, few_items, few, many_total, many_items, many = _result(output, "QUEUE", "queue")
    if (few_total, many_total) != (FEW, MANY):
        raise BenchError(
            f"the teacher had {few_total} then {many_total} awaiting, not {FEW}, {MANY}"
        )
    log(f"queue: {few} queries with {few_total} awaiting ({few_items} shown), "
        f"{many} with {many_total} ({many_items} shown)")  # fmt: skip
    if many != few:
        raise BenchError(
            f"queue_300_queries: the queue's queries grow with its items: {few} -> {many}"
        )

    browser = browser_for(TEACHER)
    first = browser.get(QUEUE_PATH, follow=False)
    shown = len(certify_actions(first.text))
    if first.status != 200 or shown != many_items:
        raise BenchError(
            f"{QUEUE_PATH} answered {first.status} with {shown} Certify buttons, not 200 with "
            f"{many_items}:\n{first.text[:1500]}"
        )

    def check(response: Response) -> None:
        if response.status != 200 or len(certify_actions(response.text)) != shown:
            raise BenchError(f"{QUEUE_PATH} answered {response.status}, not the queue of {shown}")

    ms = median_ms(browser, QUEUE_PATH, check, what=QUEUE_PATH)
    return [("queue_300_ms", ms, "ms", 1), ("queue_300_queries", float(many), "queries", 0)]


def certify(manage: Manage, browser_for: BrowserFor) -> Figures:
    browser = browser_for(TEACHER)
    page = browser.get(QUEUE_PATH, follow=False)
    inputs = hidden_inputs(page.text)
    token = inputs.get("csrfmiddlewaretoken")
    actions = certify_actions(page.text)
    wanted = CERTIFY_WARMUP + REQUESTS
    if page.status != 200 or not token or len(actions) < wanted:
        raise BenchError(
            f"{QUEUE_PATH} answered {page.status} with {len(actions)} Certify buttons, not 200 "
            f"with a CSRF token and at least {wanted}"
        )
    referer = f"{browser.base_url}{QUEUE_PATH}"
    pks, times = [], []
    for n, action in enumerate(actions[:wanted]):
        found = re.match(r"/certification/(\d+)/", action)
        if found is None:
            raise BenchError(f"a Certify button posts to {action!r}")
        pk = int(found.group(1))
        seen = inputs.get(f"o{pk}-seen_at")
        if not seen:
            raise BenchError(f"the queue has no o{pk}-seen_at for the outcome it shows")
        form = {"csrfmiddlewaretoken": token, "action": "certify", f"o{pk}-seen_at": seen}
        started = time.perf_counter()
        answer = browser.request("POST", action, form=form, headers={"Referer": referer})
        elapsed = (time.perf_counter() - started) * 1000
        location = answer.header("Location") or ""
        if answer.status != 302 or not location.startswith(QUEUE_PATH):
            raise BenchError(
                f"POST {action} answered {answer.status} -> {location!r}, not the queue again:\n"
                f"{answer.text[:1500]}"
            )
        back = browser.get(location, follow=False)  # as a browser would; it clears the message
        if back.status != 200:
            raise BenchError(f"GET {location} after certifying answered {back.status}")
        pks.append(pk)
        if n >= CERTIFY_WARMUP:
            times.append(elapsed)
    output = manage("shell", "-c", f"PKS = {pks!r}\nTEACHER = {TEACHER!r}\n{CERTIFIED}")
    (certified,) = _result(output, "CERTIFIED", "certified check")
    if certified != len(pks):
        raise BenchError(
            f"{len(pks) - certified} of the {len(pks)} certify POSTs certified nothing"
        )
    log(f"certify: median {statistics.median(times):.1f} ms, min {min(times):.1f}, "
        f"max {max(times):.1f} over {len(times)} outcomes")  # fmt: skip
    return [("certify_action_ms", statistics.median(times), "ms", 1)]


# --- the progress page --------------------------------------------------------------------------


def progress(manage: Manage, browser_for: BrowserFor) -> Figures:
    header = (
        f"CODE = {PROGRESS_SCHOOL!r}\nUSERNAME = {PROGRESS_USER!r}\n"
        f"CLASSES = {PROGRESS_CLASSES}\nSIZE = {PROGRESS_CLASS_SIZE}\n"
    )
    output = manage("shell", "-c", header + CLIENT + PROGRESS_SETUP)
    term, few_students, few, many_students, many = _result(output, "PROGRESS", "progress")
    if (few_students, many_students) != (PROGRESS_CLASS_SIZE, PROGRESS_STUDENTS):
        raise BenchError(
            f"the progress page counted {few_students} then {many_students} students, not "
            f"{PROGRESS_CLASS_SIZE}, {PROGRESS_STUDENTS}"
        )
    log(f"progress: {few} queries with {few_students} students, {many} with {many_students}")
    if many != few:
        raise BenchError(
            f"progress_900_queries: the page's queries grow with the grade: {few} -> {many}"
        )

    path = f"/progress/?term={term}&tab=class"
    rows = [f'<th scope="row">1{n + 1:02d}' for n in range(PROGRESS_CLASSES)]

    def check(response: Response) -> None:
        missing = [row for row in rows if row not in response.text]
        if response.status != 200 or missing:
            raise BenchError(
                f"{path} answered {response.status}, not the page with every class of the "
                f"grade ({len(missing)} missing):\n{response.text[:1500]}"
            )

    ms = median_ms(browser_for(PROGRESS_USER), path, check, what=path)
    return [
        (f"class_matrix_{PROGRESS_STUDENTS}_ms", ms, "ms", 1),
        (f"progress_{PROGRESS_STUDENTS}_queries", float(many), "queries", 0),
    ]
