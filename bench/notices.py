"""Notices decided by the beat task for a large school, and their e-mail.

- ``notices_10000_s``, ``notices_again_s``: ``certification.notices.scheduled(now)`` (teachers'
  digests and certification reminders, students' reminders 3 days and 1 day before their
  upload and selection windows close) when it writes about 10,000 notices. Set up untimed in
  a ``manage.py shell`` (bulk writes) in a school of its own (999003, so that what other
  benchmarks add to the demo school does not count): the current school year with the demo's
  terms, ``CLASSES`` classes of ``CLASS_SIZE`` students in grades 10 to 12, each student with an
  account (User without an e-mail address, a student Membership; Student enrolled, of a class
  of that year), a 數學 course of term 1 for each class taught by a teacher of its own (User,
  teacher Membership), every student enrolled in it and ``AWAITING`` of each class with an
  outcome awaiting certification; and windows of term 1 of the kinds students are reminded of
  (outcome upload, performance upload, selection) and a certification window, open since a
  day and closing in two, so that each student gets three reminders and each teacher a
  digest and a certification reminder: 10,248 notices. ``now`` is the moment of the set-up,
  or today at noon (Taipei) before the digests' hour (07:00), so that the digests are
  written whatever the time of the run. Then, in its own process, the call is timed twice
  with the same ``now``: the first must write at least 10,000 notices (by its return value
  and by the rows added), the second none.
- ``notices_deliver_1000_s``: ``accounts.notices.deliver(limit=1000)`` e-mailing 1,000
  pending notices through Django's locmem backend (``EMAIL_BACKEND`` in that process's
  environment), in its own process: rendered (text and HTML) and sent one at a time, each
  under its row lock. Set up untimed on what ``notices`` wrote (written here first, untimed,
  when it has not run): 1,000 of the school's students get an e-mail address and their
  outcome-upload reminder is made pending, due a year ago (so it comes before any other
  pending notice). Then every one of them must be sent, and the outbox hold 1,000 messages.

On PostgreSQL each set-up ends with ``ANALYZE``, as autovacuum would soon do on a live
server.
"""

import json
from collections.abc import Mapping

from bench import server
from bench.errors import BenchError, log

SCHOOL = "999003"
PREFIX = "bench-notice"
CLASSES = 84  # 28 in each of grades 10, 11 and 12
CLASS_SIZE = 40
STUDENTS = CLASSES * CLASS_SIZE  # 3,360: three reminders each, 10,080
AWAITING = 5  # outcomes awaiting certification in each class's course
WANTED = 10_000
DELIVER = 1_000
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"

Figures = list[tuple[str, float, str, int]]

# Builds the school (see the module's docstring); ``build()`` returns ``now``.
BUILD = """
import datetime as dt
from django.db import connection
from django.utils import timezone
from accounts.models import Division, Membership, Role, User
from certification.notices import DIGEST_FROM_HOUR
from portal.management.commands.seed_demo import Command as SeedDemo
from portfolio import services as school_services
from portfolio.lib import roc
from portfolio.models import School, Window, WindowKind, WindowState
from records.demo.courses import SUBJECTS, course_code_for
from records.models import Course, CourseEnrolment, SchoolClass, Student, StudentStatus
from submissions.models import CourseOutcome, OutcomeState, StoredFile

BATCH = 2000


def moment():
    now = timezone.now()
    local = timezone.localtime(now)
    if local.hour < DIGEST_FROM_HOUR:  # no digest before 07:00: today at noon instead
        now = local.replace(hour=12, minute=0, second=0, microsecond=0)
    return now


def build():
    now = moment()
    roc_year = roc.current_school_year()
    school = school_services.school_create(
        code=SCHOOL, name="通知效能測試高級中學", name_en="Notices Benchmark Senior High School",
        by=None,
    )
    year = school_services.school_year_create(
        school=school, roc_year=roc_year, terms=SeedDemo()._terms(roc_year), by=None
    )
    term = year.terms.get(number=1)
    Window.objects.bulk_create(
        Window(
            school=school, term=term, kind=kind, grade=None, state=WindowState.OPEN,
            starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=2),
            note="benchmark",
        )
        for kind in (
            WindowKind.OUTCOME_UPLOAD, WindowKind.PERFORMANCE_UPLOAD, WindowKind.SELECTION,
            WindowKind.CERTIFICATION,
        )
    )
    per_grade = CLASSES // 3
    classes = SchoolClass.objects.bulk_create(
        SchoolClass(school=school, school_year=year, name=f"{grade - 9}{n + 1:02d}", grade=grade)
        for grade in (10, 11, 12) for n in range(per_grade)
    )
    teachers = User.objects.bulk_create(
        User(username=f"{PREFIX}-t{n:03d}", name=f"教師{n:03d}", password="!")
        for n in range(len(classes))
    )
    users = User.objects.bulk_create(
        (User(username=f"{PREFIX}-s{n:05d}", name=f"學生{n:05d}", password="!")
         for n in range(len(classes) * SIZE)),
        batch_size=BATCH,
    )
    Membership.objects.bulk_create(
        [Membership(user=t, school=school, role=Role.TEACHER, division=Division.DAY)
         for t in teachers]
        + [Membership(user=u, school=school, role=Role.STUDENT, division=Division.DAY)
           for u in users],
        batch_size=BATCH,
    )
    students = Student.objects.bulk_create(
        (Student(school=school, user=users[i * SIZE + seat - 1], school_class=k,
                 student_number=f"N{i:03d}{seat:02d}", name=f"學生{k.name}-{seat:02d}",
                 seat_number=seat, status=StudentStatus.ENROLLED)
         for i, k in enumerate(classes) for seat in range(1, SIZE + 1)),
        batch_size=BATCH,
    )
    math = next(s for s in SUBJECTS[10] if s.name == "數學")
    courses = Course.objects.bulk_create(
        Course(
            school=school, term=term, name=math.name, grade=k.grade, credits=math.credits,
            section=k.name,
            code=course_code_for(school=school, entry_year=roc_year - (k.grade - 10), subject=math),
        )
        for k in classes
    )
    Course.teachers.through.objects.bulk_create(
        Course.teachers.through(course_id=c.pk, user_id=t.pk)
        for c, t in zip(courses, teachers, strict=True)
    )
    course_of = {k.pk: c for k, c in zip(classes, courses, strict=True)}
    enrolments = CourseEnrolment.objects.bulk_create(
        (CourseEnrolment(school=school, student=s, course=course_of[s.school_class_id])
         for s in students),
        batch_size=BATCH,
    )
    chosen = [e for n, e in enumerate(enrolments) if n % SIZE < AWAITING]
    files = StoredFile.objects.bulk_create(
        StoredFile(
            school=school, student_id=e.student_id, storage_key=f"{PREFIX}-{e.pk}",
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
    return now, len(students), len(teachers), len(chosen)


def analyze():
    # Planner statistics for the rows just written, as autovacuum gives a live server.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
"""

SETUP = """
if School.objects.filter(code=SCHOOL).exists():
    raise SystemExit(f"school {SCHOOL} exists already")
now, students, teachers, awaiting = build()
analyze()
print("SETUP", now.isoformat(), students, teachers, awaiting)
"""

# Timed in its own process: the modules are imported and the URLconf loaded first, as in a
# worker that has run before; nothing else is warmed.
SCHEDULED = """
import datetime as dt
import json
import resource
import time
from django.core import mail
from django.urls import reverse
from accounts.models import EmailState, Notice
from certification.notices import scheduled
import submissions.notices

now = dt.datetime.fromisoformat(NOW)
reverse("certification:queue")
before = Notice.objects.count()
started = time.perf_counter()
first = scheduled(now)
first_s = time.perf_counter() - started
middle = Notice.objects.count()
started = time.perf_counter()
again = scheduled(now)
again_s = time.perf_counter() - started
after = Notice.objects.count()
ours = Notice.objects.filter(school__code=SCHOOL)
print("PARTS", json.dumps(first))
print(
    "SCHEDULED", sum(first.values()), middle - before, sum(again.values()), after - middle,
    ours.count(), ours.filter(email=EmailState.PENDING).count(), len(getattr(mail, "outbox", [])),
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, f"{first_s:.6f}", f"{again_s:.6f}",
)
"""

DELIVER_SETUP = """
from accounts.models import EmailState, Notice
from certification.notices import scheduled

if not School.objects.filter(code=SCHOOL).exists():  # the notices benchmark has not run
    now, *_counts = build()
    analyze()
    scheduled(now)
school = School.objects.get(code=SCHOOL)
upload = Window.objects.get(school=school, kind=WindowKind.OUTCOME_UPLOAD)
picked = list(
    Notice.objects.filter(
        school=school, key__startswith=f"closing:{upload.pk}:", user__username__startswith=PREFIX
    )
    .order_by("user_id")
    .values_list("pk", "user_id")[:DELIVER]
)
assert len(picked) == DELIVER, len(picked)
users = list(User.objects.filter(pk__in=[user for _pk, user in picked]))
for user in users:
    user.email = f"{user.username}@bench.example.edu.tw"
User.objects.bulk_update(users, ["email"], batch_size=BATCH)
due = timezone.now() - dt.timedelta(days=365)
Notice.objects.filter(pk__in=[pk for pk, _user in picked]).update(
    email=EmailState.PENDING, email_next_at=due, email_attempts=0, email_error=""
)
others = Notice.objects.filter(email=EmailState.PENDING, email_next_at__lte=timezone.now()).exclude(
    pk__in=[pk for pk, _user in picked]
).count()
analyze()
print("PENDING", len(picked), others)
"""

DELIVER_RUN = """
import resource
import time
from django.conf import settings
from django.core import mail
from accounts.models import EmailState, Notice
from accounts.notices import deliver

assert settings.EMAIL_BACKEND == LOCMEM, settings.EMAIL_BACKEND
pks = list(
    Notice.objects.filter(school__code=SCHOOL, email=EmailState.PENDING).values_list("pk", flat=True)
)
started = time.perf_counter()
done = deliver(limit=DELIVER)
seconds = time.perf_counter() - started
sent = Notice.objects.filter(pk__in=pks, email=EmailState.SENT).count()
print(
    "DELIVER", len(pks), done.sent, done.retrying, done.failed, done.skipped, int(done.more),
    len(mail.outbox), sent, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    f"{seconds:.6f}",
)
"""


def _header() -> str:
    return (
        f"SCHOOL = {SCHOOL!r}\nPREFIX = {PREFIX!r}\nCLASSES = {CLASSES}\nSIZE = {CLASS_SIZE}\n"
        f"AWAITING = {AWAITING}\nDELIVER = {DELIVER}\nLOCMEM = {LOCMEM!r}\n"
    )


def _line(output: str, tag: str, what: str) -> list[str]:
    line = next((row for row in output.splitlines() if row.startswith(f"{tag} ")), None)
    if line is None:
        raise BenchError(f"the {what} script printed no {tag} line:\n{output[-2000:]}")
    return line.split()[1:]


def scheduled(env: Mapping[str, str]) -> Figures:
    output = server.manage(env, "shell", "-c", _header() + BUILD + SETUP)
    now, students, teachers, awaiting = _line(output, "SETUP", "notices set-up")
    log(f"notices: {students} students, {teachers} teachers, {awaiting} outcomes awaiting, "
        f"now {now}")  # fmt: skip
    if int(students) != STUDENTS:
        raise BenchError(f"the set-up made {students} students, not {STUDENTS}")
    # The locmem backend: an e-mail queued by the run (there should be none of this school's:
    # its people have no address) is counted, not printed.
    timed_env = {**env, "EMAIL_BACKEND": LOCMEM}
    output = server.manage(timed_env, "shell", "-c", f"NOW = {now!r}\n" + _header() + SCHEDULED)
    parts = json.loads(" ".join(_line(output, "PARTS", "scheduled notices")))
    fields = _line(output, "SCHEDULED", "scheduled notices")
    written, added, written_again, added_again, ours, pending, mailed, peak = map(int, fields[:8])
    first_s, again_s = float(fields[8]), float(fields[9])
    log(f"notices: first run {parts}, {added} rows added in {first_s:.2f} s; second run "
        f"{written_again} written, {added_again} added in {again_s:.2f} s; this school's "
        f"{ours}, {pending} pending e-mail; {mailed} e-mailed; peak {peak} MB")  # fmt: skip
    if written < WANTED or added < WANTED:
        raise BenchError(
            f"scheduled() wrote {written} notices ({added} rows added), fewer than {WANTED}"
        )
    if written != added:
        raise BenchError(
            f"scheduled() said it wrote {written} notices, but {added} rows were added"
        )
    if written_again or added_again:
        raise BenchError(
            f"scheduled() run again with the same moment wrote {written_again} notices "
            f"({added_again} rows added), not 0"
        )
    if pending:
        raise BenchError(f"{pending} of this school's notices await e-mail; its people have none")
    return [
        (f"notices_{WANTED}_s", first_s, "s", 2),
        ("notices_again_s", again_s, "s", 2),
    ]


def deliver(env: Mapping[str, str]) -> Figures:
    output = server.manage(env, "shell", "-c", _header() + BUILD + DELIVER_SETUP)
    pending, others = map(int, _line(output, "PENDING", "deliver set-up"))
    if pending != DELIVER:
        raise BenchError(f"{pending} notices were made pending, not {DELIVER}")
    timed_env = {**env, "EMAIL_BACKEND": LOCMEM}
    output = server.manage(timed_env, "shell", "-c", _header() + DELIVER_RUN)
    fields = _line(output, "DELIVER", "deliver")
    ours, sent, retrying, failed, skipped, more, outbox, ours_sent, peak = map(int, fields[:9])
    seconds = float(fields[9])
    log(f"deliver: {sent} sent, {retrying} retrying, {failed} failed, {skipped} skipped, "
        f"more {bool(more)} ({others} other notices pending); {outbox} in the outbox, "
        f"{ours_sent} of the {ours} sent; {seconds:.2f} s, peak {peak} MB")  # fmt: skip
    if ours != DELIVER or sent != DELIVER or ours_sent != DELIVER or outbox != DELIVER:
        raise BenchError(
            f"deliver(limit={DELIVER}) sent {sent} ({ours_sent} of the {ours} pending, "
            f"{outbox} in the outbox), not {DELIVER}"
        )
    return [(f"notices_deliver_{DELIVER}_s", seconds, "s", 2)]
