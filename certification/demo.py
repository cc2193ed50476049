"""The demo teacher's certification queue for `seed_demo`: outcomes to decide, a few decided.

Students at seats 11 to 18 of classes 101, 201 and 301 (s011 to s018, s041 to s048 and
s071 to s078) have sent outcomes of term-1 courses the demo teacher (``teacher``) teaches:
two each in grades 10 and 12, one in grade 11 (its only such course). The teacher decided a
few of them in the last days (certified some, sent two back with a reason), so the queue's
"decided in the last two weeks" view shows them and they can be undone; the rest await a
decision. One student (s013) raised a concern about the outcome sent back, which waits for
the teacher's answer. ``seed_notices`` gives s001 and the teacher notices to find. The files are small PDFs and PNGs, stored as uploads are
(``submissions.demo``).

The term-1 certification window is the school's (``demo_windows``); on a day it is not open
(before it opens, or after it closed), one is opened from a week before the day the demo is
loaded to three weeks after, ending where the school's next one begins, so the queue can be
tried whatever day it is; the decisions fall after the window opened. Rows are written
directly, as in ``submissions.demo``; the concern goes through ``concern_raise``. A student
who already has any outcome is left alone, so running it again changes nothing.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.acting import ActingContext
from accounts.models import Membership, NoticeKind, Role, User
from accounts.notices import Note, notify
from certification import notices
from certification.concerns import concern_raise
from certification.services import RejectionReason, certification_window, rejection_text
from portfolio.models import School, SchoolYear, Term, Window, WindowKind
from portfolio.services import window_create
from records.models import Course, CourseEnrolment, Student
from submissions.demo import checked_file
from submissions.models import CourseOutcome, OutcomeState
from submissions.services.stored_files import delete_paths, store, stored_file_row

CLASSES = ("101", "201", "301")
SEATS = range(11, 19)
PER_STUDENT = 2
TERM = 1
# The certification window opened for the demo: from a week before the day it is loaded to
# three weeks after.
WINDOW_DAYS_BEFORE = 7
WINDOW_DAYS = 21
# (title, short description, file type); {course} is the course's name.
OUTCOMES = [
    ("{course}單元學習單", "{course}單元的學習單，含課堂筆記與自我檢核。", "pdf"),
    ("{course}實作紀錄", "{course}課堂實作的過程照片與簡短說明。", "png"),
    ("{course}探究報告", "以{course}所學探討一個生活中的問題，說明方法與發現。", "pdf"),
    ("{course}課堂作品", "{course}課堂完成的作品與製作心得。", "png"),
    ("{course}期中反思", "回顧{course}上半學期的學習，寫下收穫與待加強之處。", "pdf"),
]


@dataclass(frozen=True)
class Decision:
    """The teacher's decision on a student's first outcome, ``hours_ago``."""

    state: str
    hours_ago: int
    reason: str = ""
    reason_text: str = ""


# By (class, seat): the teacher's decisions in the last days, on the student's first outcome.
DECISIONS = {
    ("101", 11): Decision(OutcomeState.CERTIFIED, 20),
    ("101", 13): Decision(
        OutcomeState.REJECTED,
        50,
        RejectionReason.NOT_THIS_COURSE,
        "這份看起來是國文課的學習單，請上傳本課程的作品。",
    ),
    ("201", 12): Decision(OutcomeState.CERTIFIED, 30),
    ("201", 15): Decision(
        OutcomeState.REJECTED,
        70,
        RejectionReason.DESCRIPTION_MISMATCH,
        "簡述寫的是小組報告，檔案卻是個人學習單。",
    ),
    ("301", 14): Decision(OutcomeState.CERTIFIED, 5),
    ("301", 17): Decision(OutcomeState.CERTIFIED, 96),
}
# The demo student whose notices are seeded, and the homeroom teacher's words to them.
NOTICED_STUDENT = "s001"
HOMEROOM_WORDS = "下週五前請把本學期的課程學習成果上傳並送出認證。"
# The student who disagrees with the outcome sent back, and what they write.
CONCERN = ("101", 13)
CONCERN_TEXT = (
    "老師您好，這份學習單是本課程第三單元的作業，第二頁有我在課堂上的演算過程，想請老師再看一次。"
)


def seed(*, school: School, year: SchoolYear, staff: dict) -> None:
    now = timezone.now()
    teacher = staff["teacher"]
    term = year.terms.get(number=TERM)
    opened = _open_window(term, teacher, now)
    for class_name in CLASSES:
        students = (
            Student.objects.filter(
                school=school,
                school_class__school_year=year,
                school_class__name=class_name,
                seat_number__in=SEATS,
            )
            .select_related("school", "user", "school_class")
            .order_by("seat_number")
        )
        for student in students:
            if CourseOutcome.objects.filter(student=student).exists():
                continue
            paths: list[str] = []
            try:
                with transaction.atomic():
                    _seed_student(student, class_name, teacher, term, now, opened, paths)
            except BaseException:
                delete_paths(paths)
                raise


def seed_notices(*, school: School, staff: dict) -> None:
    """Notices to find on signing in: s001 is told of the decisions on their outcomes and has
    a reminder from the homeroom teacher; the teacher has today's digest of what awaits. Written
    without e-mail (the console would print them while the demo loads); what people do in the
    demo is then told, and e-mailed to the console, as it happens. Keyed as the real ones, so
    running it again writes nothing."""
    now = timezone.now()
    decided = (
        CourseOutcome.objects.filter(
            school=school,
            student__user__username=NOTICED_STUDENT,
            state__in=(OutcomeState.CERTIFIED, OutcomeState.REJECTED),
            certified_at__isnull=False,
        )
        .select_related("student", "enrolment__course", "certified_by")
        .order_by("certified_at")
    )
    notes = [
        notices.decision_note(
            outcome,
            "certified" if outcome.state == OutcomeState.CERTIFIED else "rejected",
            at=outcome.certified_at,
            by=outcome.certified_by,
            reason=outcome.rejection_reason,
        )
        for outcome in decided
        if outcome.certified_at is not None
    ]
    student = Student.objects.filter(school=school, user__username=NOTICED_STUDENT).first()
    if student is not None and student.user_id is not None:
        notes.append(
            Note(
                user_id=student.user_id,
                school_id=school.pk,
                kind=NoticeKind.FROM_STAFF,
                role=Role.STUDENT,
                topic="homeroom",
                key="homeroom:upload:demo",
                params={"what": "upload", "message": HOMEROOM_WORDS, "by": staff["homeroom"].name},
                link=reverse("outcomes:portfolio"),
            )
        )
    notify([note for note in notes if note is not None], now=now, email=False)
    morning = timezone.localtime(now).replace(hour=notices.DIGEST_FROM_HOUR, minute=0)
    notices.teacher_digests(max(now, morning), email=False)


def _seed_student(
    student: Student,
    class_name: str,
    teacher: User,
    term: Term,
    now: dt.datetime,
    opened: dt.datetime,
    paths: list[str],
) -> None:
    """The student's outcomes in the teacher's courses, decided (if at all) after the window
    ``opened``; each storage path written goes in paths."""
    seat = student.seat_number or 1
    enrolments = list(
        CourseEnrolment.objects.filter(
            student=student, course__term=term, course__credits__gt=0, course__teachers=teacher
        )
        .select_related("course")
        .order_by("course__name", "course__code", "pk")
        .distinct()
    )
    if not enrolments:
        return
    # Rotated by seat, so that every course of the teacher gets outcomes.
    count = min(PER_STUDENT, len(enrolments))
    picked = [enrolments[(seat + i) % len(enrolments)] for i in range(count)]
    decision = DECISIONS.get((class_name, seat))
    for index, enrolment in enumerate(picked):
        title, description, extension = (
            text.format(course=enrolment.course.name)
            for text in OUTCOMES[(seat * PER_STUDENT + index) % len(OUTCOMES)]
        )
        with checked_file(extension, seat % 10) as checked:
            paths.append(store(student.school, checked))
            document = stored_file_row(student, checked)
        decided = decision if index == 0 else None
        decided_at = max(now - dt.timedelta(hours=decided.hours_ago), opened) if decided else None
        outcome = CourseOutcome.objects.create(
            school=student.school,
            student=student,
            enrolment=enrolment,
            title=title,
            description=description,
            document=document,
            state=decided.state if decided else OutcomeState.SUBMITTED,
            rejection_reason=(
                rejection_text(decided.reason, decided.reason_text)
                if decided and decided.state == OutcomeState.REJECTED
                else ""
            ),
            certified_by=teacher if decided else None,
            certified_at=decided_at,
            decided_files={"document": document.sha256} if decided else {},
        )
        # Sent some days before the demo is loaded (and decided after that).
        sent_at = now - dt.timedelta(days=5 + (seat + index) % 5, hours=seat)
        CourseOutcome.objects.filter(pk=outcome.pk).update(
            created_at=sent_at, updated_at=decided_at or sent_at
        )
        if (class_name, seat) == CONCERN and decided and decided.state == OutcomeState.REJECTED:
            outcome.refresh_from_db()
            _raise_concern(outcome)


def _raise_concern(outcome: CourseOutcome) -> None:
    """The student's concern about the outcome sent back, waiting for the teacher's answer."""
    student = outcome.student
    membership = Membership.objects.get(user=student.user, school=student.school, role=Role.STUDENT)
    concern_raise(
        outcome=outcome,
        acting=ActingContext(user=membership.user, membership=membership),
        text=CONCERN_TEXT,
    )


def _open_window(term: Term, teacher: User, now: dt.datetime) -> dt.datetime:
    """A certification window open now for the teacher's courses of the term: the school's
    when it is open, else one from a week before today to three weeks after (within the
    school year, and between the school's windows, so that none overlap). When it opened."""
    courses = list(Course.objects.filter(term=term, teachers=teacher))
    windows = [certification_window(course, now).open_window for course in courses]
    if all(windows):
        return min((w.starts_at for w in windows if w is not None), default=now)
    today = timezone.make_aware(dt.datetime.combine(timezone.localdate(now), dt.time()))
    year_start = timezone.make_aware(dt.datetime.combine(term.school_year.starts_on, dt.time()))
    scheduled = list(Window.objects.filter(term=term, kind=WindowKind.CERTIFICATION))
    starts = max(
        [
            today - dt.timedelta(days=WINDOW_DAYS_BEFORE),
            year_start,
            *(w.ends_at for w in scheduled if w.ends_at <= now),
        ]
    )
    ends = min(
        [
            today + dt.timedelta(days=WINDOW_DAYS, hours=23, minutes=59),
            *(w.starts_at for w in scheduled if w.starts_at > now),
        ]
    )
    window_create(
        term=term,
        kind=WindowKind.CERTIFICATION,
        grade=None,
        starts_at=starts,
        ends_at=ends,
        note="示範：第 1 學期課程學習成果認證開放",
        by=None,
    )
    return starts
