"""What certification tells people (accounts.notices writes and e-mails it, each once).

- A student: each decision on their outcome (certified, rejected with the reason, withdrawn by
  the teacher's undo, reopened by the registry), and each answer to their concern.
- A student: their homeroom teacher's reminders, at most one a day of each kind.
- A teacher: at most one digest a day while outcomes await them in an open certification
  window (from 07:00 Taipei), and a reminder with their count 3 days and 1 day before that
  window closes; the registry's "teachers behind" request, at most once a day each.

The scheduled ones are decided in bulk: one grouped query of the outcomes awaiting in open
windows, whatever the number of teachers, then the notes whose key exists are left out.
"""

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count, Min, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Membership, NoticeKind, Role, User
from accounts.notices import Note, notify, remind_stage
from portfolio.models import Window, WindowKind
from submissions.models import CourseOutcome, OutcomeState

if TYPE_CHECKING:
    from accounts.acting import ActingContext
    from certification.models import Concern
    from records.models import Student

DIGEST_FROM_HOUR = 7


def _name(user: User | None) -> str:
    return (user.name or user.username) if user is not None else ""


def _outcome(outcome: CourseOutcome) -> dict:
    return {"title": outcome.title, "course": outcome.enrolment.course.name}


def _student_link(outcome: CourseOutcome) -> str:
    return f"{reverse('outcomes:portfolio')}#outcome-{outcome.pk}"


def _both(make) -> dict[str, str]:
    """A text made in each language of the site (for a param the reader's language picks)."""
    texts = {}
    for code, _language in settings.LANGUAGES:
        with translation.override(code):
            texts[code] = str(make())
    return texts


def decision_note(
    outcome: CourseOutcome,
    topic: str,
    *,
    at: dt.datetime,
    by: User | None = None,
    reason: dict[str, str] | str = "",
) -> Note | None:
    """The student's notice of a decision on their outcome (``topic``: certified, rejected,
    undone, reopened), keyed by the decision's moment; None when they have no account."""
    user_id = outcome.student.user_id
    if user_id is None:
        return None
    return Note(
        user_id=user_id,
        school_id=outcome.school_id,
        kind=NoticeKind.DECISION,
        role=Role.STUDENT,
        topic=topic,
        key=f"{topic}:{outcome.pk}:{at.isoformat()}",
        params={**_outcome(outcome), "by": _name(by), "reason": reason},
        link=_student_link(outcome),
    )


def decision_noted(
    outcome: CourseOutcome,
    topic: str,
    *,
    at: dt.datetime,
    by: User | None = None,
    reason: dict[str, str] | str = "",
) -> None:
    """Tell the student of a decision on their outcome, once per decision."""
    note = decision_note(outcome, topic, at=at, by=by, reason=reason)
    if note is not None:
        notify([note], now=at)


def rejection_reason_both(reason_code: str, reason_text: str) -> dict[str, str]:
    from certification.services import RejectionReason

    def make() -> str:
        label = str(RejectionReason(reason_code).label)
        return f"{label} {reason_text}" if reason_text else label

    return _both(make)


def concern_answered(concern: "Concern", by: User, text: str, at: dt.datetime) -> None:
    """Tell the student that a teacher or the registry answered their concern."""
    user_id = concern.student.user_id
    if user_id is None:
        return
    outcome = concern.outcome
    notify(
        [
            Note(
                user_id=user_id,
                school_id=concern.school_id,
                kind=NoticeKind.CONCERN,
                role=Role.STUDENT,
                topic="concern_answer",
                key=f"concern_answer:{concern.pk}:{at.isoformat()}",
                params={**_outcome(outcome), "by": _name(by), "text": text[:500]},
                link=reverse("certification:concern", args=[concern.pk]),
            )
        ],
        now=at,
    )


# --- the scheduled ones -------------------------------------------------------------------------


def _window_scope(windows: Iterable[Window]) -> Q:
    """Outcomes of the courses the windows are for (their term; their grade when set)."""
    scope = Q(pk__in=[])
    for window in windows:
        part = Q(enrolment__course__term_id=window.term_id)
        if window.grade is not None:
            part &= Q(enrolment__course__grade=window.grade)
        scope |= part
    return scope


def _awaiting_by_teacher(outcomes: QuerySet[CourseOutcome]) -> QuerySet:
    """(school, teacher, course) → awaiting count and the oldest wait, in one query."""
    return (
        outcomes.filter(state=OutcomeState.SUBMITTED, enrolment__course__teachers__isnull=False)
        .values("school_id", "enrolment__course__teachers", "enrolment__course__name")
        .annotate(count=Count("pk"), oldest=Min("updated_at"))
        .order_by()
    )


def _by_teacher(rows: Iterable[dict]) -> dict[tuple[int, int], dict]:
    found: dict[tuple[int, int], dict] = defaultdict(
        lambda: {"count": 0, "oldest": None, "courses": []}
    )
    for row in rows:
        entry = found[(row["school_id"], row["enrolment__course__teachers"])]
        entry["count"] += row["count"]
        if entry["oldest"] is None or row["oldest"] < entry["oldest"]:
            entry["oldest"] = row["oldest"]
        entry["courses"].append({"name": row["enrolment__course__name"], "count": row["count"]})
    return found


def _open_certification_windows(now: dt.datetime) -> list[Window]:
    return list(Window.objects.filter(kind=WindowKind.CERTIFICATION).open_at(now))


def _active_teachers(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    pairs = set(pairs)
    found = Membership.objects.filter(
        role=Role.TEACHER,
        is_active=True,
        user_id__in={user for _school, user in pairs},
        school_id__in={school for school, _user in pairs},
    ).values_list("school_id", "user_id")
    return pairs & set(found)


def teacher_digests(now: dt.datetime, *, email: bool = True) -> int:
    """Each active teacher with outcomes awaiting in an open window: one digest a day."""
    local = timezone.localtime(now)
    if local.hour < DIGEST_FROM_HOUR:
        return 0
    windows = _open_certification_windows(now)
    if not windows:
        return 0
    found = _by_teacher(_awaiting_by_teacher(CourseOutcome.objects.filter(_window_scope(windows))))
    teachers = _active_teachers(found)
    queue = reverse("certification:queue")
    day = local.date().isoformat()
    return notify(
        (
            Note(
                user_id=teacher,
                school_id=school,
                kind=NoticeKind.DIGEST,
                role=Role.TEACHER,
                topic="digest",
                key=f"digest:{school}:{day}",
                params={
                    "count": entry["count"],
                    "oldest": entry["oldest"].isoformat(),
                    "courses": sorted(entry["courses"], key=lambda c: (-c["count"], c["name"]))[
                        :10
                    ],
                },
                link=queue,
            )
            for (school, teacher), entry in found.items()
            if (school, teacher) in teachers
        ),
        now=now,
        email=email,
    )


def certification_reminders(now: dt.datetime) -> int:
    """Each teacher with outcomes awaiting in a window that closes within 3 days (then 1)."""
    written = 0
    queue = reverse("certification:queue")
    for window in _open_certification_windows(now):
        stage = remind_stage(window.ends_at, now)
        if stage is None:
            continue
        found = _by_teacher(
            _awaiting_by_teacher(CourseOutcome.objects.filter(_window_scope([window])))
        )
        teachers = _active_teachers(found)
        written += notify(
            (
                Note(
                    user_id=teacher,
                    school_id=school,
                    kind=NoticeKind.REMINDER,
                    role=Role.TEACHER,
                    topic="closing",
                    key=f"closing:{window.pk}:{stage}",
                    params={
                        "what": "certification",
                        "days": stage,
                        "count": entry["count"],
                        "closes": window.ends_at.isoformat(),
                    },
                    link=queue,
                )
                for (school, teacher), entry in found.items()
                if (school, teacher) in teachers
            ),
            now=now,
        )
    return written


def teachers_behind_notify(
    *, acting: "ActingContext", outcomes: QuerySet[CourseOutcome], now: dt.datetime | None = None
) -> tuple[int, int]:
    """The registry asks each active teacher with outcomes awaiting among ``outcomes`` (the
    term's, the registry's division) to certify them; at most once a day per teacher:
    (notified now, already notified today)."""
    from portfolio.audit import audit_write

    now = now or timezone.now()
    found = _by_teacher(_awaiting_by_teacher(outcomes))
    teachers = _active_teachers(found)
    day = timezone.localtime(now).date().isoformat()
    notes = [
        Note(
            user_id=teacher,
            school_id=school,
            kind=NoticeKind.FROM_STAFF,
            role=Role.TEACHER,
            topic="teachers_behind",
            key=f"teachers_behind:{school}:{day}",
            params={"count": entry["count"], "oldest": entry["oldest"].isoformat()},
            link=reverse("certification:queue"),
        )
        for (school, teacher), entry in found.items()
        if (school, teacher) in teachers and school == acting.school.pk
    ]
    written = notify(notes, now=now)
    audit_write(
        school=acting.school,
        by=acting,
        action="notices.teachers_behind",
        changes={"notified": written, "already_today": len(notes) - written},
    )
    return written, len(notes) - written


def scheduled(now: dt.datetime | None = None) -> dict[str, int]:
    """What the beat task decides: teachers' digests and reminders, students' reminders."""
    from submissions.notices import window_reminders

    now = now or timezone.now()
    return {
        "digests": teacher_digests(now),
        "certification_reminders": certification_reminders(now),
        "student_reminders": window_reminders(now),
    }


HOMEROOM_LINKS = {
    "upload": "outcomes:portfolio",
    "selection": "selection:index",
    "corrections": "basicdata:mine",
}


def homeroom_remind(
    *,
    acting: "ActingContext",
    students: Iterable["Student"],
    what: str,
    message: str = "",
    now: dt.datetime | None = None,
) -> tuple[int, int]:
    """The homeroom teacher reminds the students (checked visible by the caller) of
    ``what`` (HOMEROOM_LINKS), with a few words of theirs: at most once a day per student
    and ``what``: (reminded now, already reminded today)."""
    from portfolio.audit import audit_write

    now = now or timezone.now()
    day = timezone.localtime(now).date().isoformat()
    notes = [
        Note(
            user_id=student.user_id,
            school_id=acting.school.pk,
            kind=NoticeKind.FROM_STAFF,
            role=Role.STUDENT,
            topic="homeroom",
            key=f"homeroom:{acting.school.pk}:{what}:{day}",
            params={"what": what, "message": message, "by": _name(acting.user)},
            link=reverse(HOMEROOM_LINKS[what]),
        )
        for student in students
        if student.user_id is not None
    ]
    written = notify(notes, now=now)
    audit_write(
        school=acting.school,
        by=acting,
        action="notices.homeroom_remind",
        changes={
            "what": what,
            "students": sorted(note.user_id for note in notes),
            "reminded": written,
            "already_today": len(notes) - written,
        },
    )
    return written, len(notes) - written
