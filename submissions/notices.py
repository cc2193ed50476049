"""What submissions tells people (accounts.notices writes and e-mails it, each once).

- Students, 3 days and 1 day before an upload or selection window of their grade closes, when
  they still have room: uploads under the term's (outcomes) or the year's (performances) cap;
  a selection not yet confirmed. A student whose own extension of that window runs later is
  left out: the shared window's close is not theirs.
- The student of a certified outcome whose stored file the nightly check found missing or
  altered (once per file lost), and the registry of the school (one list a night).

Decided in bulk: one query of the students in scope per window, one grouped count of their
items, then the notes whose key exists are left out.
"""

import datetime as dt
from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Membership, NoticeKind, Role
from accounts.notices import Note, notify, remind_stage
from portfolio.models import Window, WindowKind
from records.models import Student, StudentStatus
from submissions.models import (
    CourseOutcome,
    ExtensionKind,
    OutcomeState,
    Performance,
    PerformanceSource,
    PerformanceState,
    Selection,
    WindowExtension,
)
from submissions.services.windows import policy_for

# Kinds of window students are reminded of, and the extension that replaces each.
STUDENT_WINDOWS: dict[str, tuple[str, str]] = {
    WindowKind.OUTCOME_UPLOAD: ("upload", ExtensionKind.OUTCOME_UPLOAD),
    WindowKind.PERFORMANCE_UPLOAD: ("performance", ExtensionKind.PERFORMANCE_UPLOAD),
    WindowKind.SELECTION: ("selection", ExtensionKind.SELECTION),
}
LOST_LISTED = 20


def _students(window: Window, extension: str, now: dt.datetime) -> dict[int, int]:
    """Student → user, for the enrolled students with an account the window is for."""
    students = Student.objects.filter(
        school_id=window.school_id,
        status=StudentStatus.ENROLLED,
        user__isnull=False,
        school_class__school_year_id=window.term.school_year_id,
    )
    if window.grade is not None:
        students = students.filter(school_class__grade=window.grade)
    extended = WindowExtension.objects.filter(
        term__school_year_id=window.term.school_year_id, kind=extension, ends_at__gt=window.ends_at
    ).values("student_id")
    return dict(students.exclude(pk__in=extended).values_list("pk", "user_id"))


def _used(window: Window, what: str, student_ids: list[int]) -> dict[int, int]:
    rows: QuerySet
    if what == "upload":
        rows = CourseOutcome.objects.filter(
            student_id__in=student_ids, enrolment__course__term_id=window.term_id
        ).exclude(state=OutcomeState.WITHDRAWN)
    elif what == "performance":
        rows = Performance.objects.filter(
            student_id__in=student_ids,
            school_year_id=window.term.school_year_id,
            source=PerformanceSource.STUDENT,
        ).exclude(state=PerformanceState.WITHDRAWN)
    else:
        rows = Selection.objects.filter(
            student_id__in=student_ids,
            school_year_id=window.term.school_year_id,
            confirmed_at__isnull=False,
        )
    return dict(
        rows.values("student_id").annotate(count=Count("pk")).values_list("student_id", "count")
    )


def _cap(window: Window, what: str) -> int:
    policy = policy_for(window.term)
    if what == "upload":
        return policy.outcome_upload_cap_per_term
    if what == "performance":
        return policy.performance_upload_cap_per_year
    return 1  # a confirmed selection


def _link(what: str) -> str:
    return reverse("selection:index") if what == "selection" else reverse("outcomes:portfolio")


def _notes(window: Window, stage: int, now: dt.datetime) -> Iterable[Note]:
    what, extension = STUDENT_WINDOWS[window.kind]
    students = _students(window, extension, now)
    used = _used(window, what, sorted(students))
    cap = _cap(window, what)
    year = window.term.school_year.roc_year
    term = {"zh-hant": window.term.label, "en": window.term.label}
    link = _link(what)
    for student_id, user_id in students.items():
        count = used.get(student_id, 0)
        if count >= cap:
            continue
        yield Note(
            user_id=user_id,
            school_id=window.school_id,
            kind=NoticeKind.REMINDER,
            role=Role.STUDENT,
            topic="closing",
            key=f"closing:{window.pk}:{stage}",
            params={
                "what": what,
                "days": stage,
                "count": count,
                "cap": cap,
                "term": term,
                "year": year,
                "closes": window.ends_at.isoformat(),
            },
            link=link,
        )


def window_reminders(now: dt.datetime | None = None) -> int:
    """Students' reminders before their upload and selection windows close; how many new."""
    now = now or timezone.now()
    written = 0
    windows = Window.objects.filter(kind__in=list(STUDENT_WINDOWS)).open_at(now)
    for window in windows.select_related("term__school_year"):
        stage = remind_stage(window.ends_at, now)
        if stage is not None:
            written += notify(_notes(window, stage, now), now=now)
    return written


def files_lost(stored_ids: Iterable[int], now: dt.datetime | None = None) -> int:
    """Tell the students of certified outcomes whose file (of ``stored_ids``) was found
    missing or altered, and the registry of each school (one list a night)."""
    now = now or timezone.now()
    ids = sorted(set(stored_ids))
    if not ids:
        return 0
    outcomes = list(
        CourseOutcome.objects.filter(
            Q(document_id__in=ids) | Q(media_id__in=ids), state=OutcomeState.CERTIFIED
        )
        .select_related("student__school_class", "enrolment__course")
        .order_by("school_id", "student__school_class__name", "student__seat_number", "pk")
    )
    notes = [
        Note(
            user_id=outcome.student.user_id,
            school_id=outcome.school_id,
            kind=NoticeKind.FILE,
            role=Role.STUDENT,
            topic="file_lost",
            key=f"file_lost:{outcome.pk}:{outcome.document_id}:{outcome.media_id}",
            params={"title": outcome.title, "course": outcome.enrolment.course.name},
            link=reverse("outcomes:restore", args=[outcome.pk]),
        )
        for outcome in outcomes
        if outcome.student.user_id is not None
    ]
    by_school: dict[int, list[CourseOutcome]] = {}
    for outcome in outcomes:
        by_school.setdefault(outcome.school_id, []).append(outcome)
    day = timezone.localtime(now).date().isoformat()
    registry = Membership.objects.filter(
        school_id__in=list(by_school), role=Role.REGISTRY, is_active=True
    ).values_list("school_id", "user_id", "division")
    for school_id, user_id, division in registry:
        theirs = [
            o
            for o in by_school[school_id]
            if o.student.school_class is None or o.student.school_class.division == division
        ]
        if not theirs:
            continue
        notes.append(
            Note(
                user_id=user_id,
                school_id=school_id,
                kind=NoticeKind.FILE,
                role=Role.REGISTRY,
                topic="files_lost",
                key=f"files_lost:{school_id}:{day}",
                params={
                    "day": day,
                    "count": len(theirs),
                    "items": [
                        {
                            "student": o.student.name,
                            "class": o.student.school_class.name if o.student.school_class else "",
                            "title": o.title,
                        }
                        for o in theirs[:LOST_LISTED]
                    ],
                },
            )
        )
    return notify(notes, now=now)
