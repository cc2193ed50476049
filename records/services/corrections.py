"""Correction requests: a student asks the office in charge to correct their basic data,
during the basic-data check window; the office answers with a reply the student sees.
"""

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from portfolio.audit import audit_write
from portfolio.models import School, Window, WindowKind
from portfolio.problems import add_problem
from records.access import division_q
from records.models import CORRECTION_OFFICES, CorrectionRequest, CorrectionStatus, Student

if TYPE_CHECKING:
    from accounts.acting import ActingContext

MESSAGE_MAX = 2000
REPLY_MAX = 2000
# More than this many unanswered requests at once is a sign of a double click or a
# student pasting the same thing again; the page says so and why.
OPEN_REQUESTS_MAX = 10


@dataclasses.dataclass(frozen=True)
class Topic:
    key: str
    label: Promise
    office: str


# What a request is about decides which office answers it.
TOPICS = [
    Topic("enrolment", gettext_lazy("Enrolment data"), Role.REGISTRY),
    Topic("grades", gettext_lazy("Courses and grades"), Role.REGISTRY),
    Topic("course_names", gettext_lazy("Course names and codes"), Role.CURRICULUM),
    Topic("activities", gettext_lazy("Cadre posts, clubs, attendance"), Role.STUDENT_AFFAIRS),
    Topic("career", gettext_lazy("Career records"), Role.COUNSELLOR),
]
TOPIC_BY_KEY = {topic.key: topic for topic in TOPICS}
OFFICE_VALUES = [office.value for office in CORRECTION_OFFICES]


# --- The basic-data check window ------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class WindowInfo:
    """The basic-data check window open for a student now, or the next one."""

    now: dt.datetime
    open_window: Window | None
    next_window: Window | None

    @property
    def is_open(self) -> bool:
        return self.open_window is not None

    @property
    def days_left(self) -> int:
        return self.open_window.days_left(self.now) if self.open_window else 0

    def closed_message(self) -> str:
        if self.next_window is None:
            return _(
                "Correction requests can be filed only during the basic-data check window, "
                "and none is scheduled yet. The school publishes its schedule."
            )
        return _(
            "Correction requests can be filed only during the basic-data check window. "
            "The next one opens on %(start)s and closes on %(end)s."
        ) % {
            "start": date_format(timezone.localtime(self.next_window.starts_at), "Y-m-d H:i"),
            "end": date_format(timezone.localtime(self.next_window.ends_at), "Y-m-d H:i"),
        }


def basic_data_window(*, school: School, grade: int | None, now: dt.datetime) -> WindowInfo:
    """Windows for all grades count for everyone; a grade's window only for that grade
    (a student not yet in a class has no grade, so only the all-grades windows)."""
    windows = Window.objects.for_school(school).filter(kind=WindowKind.BASIC_DATA_CHECK)
    windows = windows.for_grade(grade) if grade is not None else windows.filter(grade__isnull=True)
    open_window = windows.open_at(now).order_by("-ends_at").first()
    next_window = windows.upcoming_at(now).order_by("starts_at").first()
    return WindowInfo(now=now, open_window=open_window, next_window=next_window)


def window_for_student(student: Student, *, now: dt.datetime | None = None) -> WindowInfo:
    grade = student.school_class.grade if student.school_class is not None else None
    return basic_data_window(school=student.school, grade=grade, now=now or timezone.now())


# --- Reads for the offices ------------------------------------------------------------


def open_corrections_count(school: School, role: str, division: str | None = None) -> int:
    """Unanswered requests waiting for an office, for its home page (0 for non-offices);
    with ``division``, only about that division's students (``records.access``)."""
    if role not in OFFICE_VALUES:
        return 0
    requests = CorrectionRequest.objects.filter(
        school=school, office=role, status=CorrectionStatus.OPEN
    )
    if division is not None:
        requests = requests.filter(division_q(division, prefix="student__"))
    return requests.count()


# --- Writes ---------------------------------------------------------------------------


def _clean_text(value: str, *, field: str, maximum: int, problems: dict) -> str:
    value = value.strip()
    if not value:
        add_problem(problems, field, _("This field is required."))
    elif len(value) > maximum:
        add_problem(
            problems,
            field,
            _("At most %(max)s characters (you wrote %(n)s).") % {"max": maximum, "n": len(value)},
        )
    return value


@transaction.atomic
def correction_request_create(
    *,
    student: Student,
    about: str,
    topic: str,
    message: str,
    by: "ActingContext | None",
    now: dt.datetime | None = None,
) -> CorrectionRequest:
    """A student's request, sent to the office in charge of what it is about.

    Refused outside the basic-data check window for the student's grade.
    """
    window = window_for_student(student, now=now)
    if not window.is_open:
        raise ValidationError({NON_FIELD_ERRORS: [window.closed_message()]})
    problems: dict[str, list[str]] = {}
    chosen = TOPIC_BY_KEY.get(about)
    if chosen is None:
        problems["about"] = [_("Choose what the correction is about.")]
    topic = _clean_text(topic, field="topic", maximum=100, problems=problems)
    message = _clean_text(message, field="message", maximum=MESSAGE_MAX, problems=problems)
    if problems or chosen is None:
        raise ValidationError(problems)
    # Lock the student's row so two quick submissions are checked one after the other.
    Student.objects.select_for_update().get(pk=student.pk)
    waiting = CorrectionRequest.objects.filter(student=student, status=CorrectionStatus.OPEN)
    if waiting.filter(office=chosen.office, topic=topic, message=message).exists():
        raise ValidationError(
            {NON_FIELD_ERRORS: [_("You have already sent this request; the office will reply.")]}
        )
    if waiting.count() >= OPEN_REQUESTS_MAX:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _(
                        "You have %(n)s requests waiting for a reply. Wait for an answer, "
                        "or add to one of them by talking to the office."
                    )
                    % {"n": OPEN_REQUESTS_MAX}
                ]
            }
        )
    correction = CorrectionRequest.objects.create(
        school=student.school,
        student=student,
        office=chosen.office,
        topic=topic,
        message=message,
    )
    audit_write(
        school=student.school,
        by=by,
        action="correction.create",
        target=correction,
        changes={"office": chosen.office, "about": chosen.key, "topic": topic},
    )
    return correction


def _changed_meanwhile() -> ValidationError:
    return ValidationError(
        {
            NON_FIELD_ERRORS: [
                _(
                    "Someone else has just resolved this request or sent it to another "
                    "office; nothing was changed."
                )
            ]
        }
    )


@transaction.atomic
def correction_resolve(
    *,
    correction: CorrectionRequest,
    reply: str,
    by: "ActingContext | None",
    now: dt.datetime | None = None,
) -> CorrectionRequest:
    """Close a request with the office's reply, which the student then reads.

    The request is claimed with a conditional UPDATE, so two clerks answering at once
    cannot both resolve it.
    """
    problems: dict[str, list[str]] = {}
    reply = _clean_text(reply, field="reply", maximum=REPLY_MAX, problems=problems)
    if problems:
        raise ValidationError(problems)
    now = now or timezone.now()
    resolver = by.user if by else None
    claimed = CorrectionRequest.objects.filter(
        pk=correction.pk, status=CorrectionStatus.OPEN
    ).update(status=CorrectionStatus.RESOLVED, reply=reply, resolved_by=resolver, resolved_at=now)
    if not claimed:
        raise _changed_meanwhile()
    correction.refresh_from_db()
    audit_write(
        school=correction.school,
        by=by,
        action="correction.resolve",
        target=correction,
        changes={"status": [CorrectionStatus.OPEN, CorrectionStatus.RESOLVED], "reply": reply},
    )
    return correction


@transaction.atomic
def correction_forward(
    *, correction: CorrectionRequest, office: str, by: "ActingContext | None"
) -> CorrectionRequest:
    """Send an open request to the office that is really in charge of it."""
    if office not in OFFICE_VALUES:
        raise ValidationError({"office": [_("Choose one of the offices listed.")]})
    if office == correction.office:
        raise ValidationError({"office": [_("The request is already with this office.")]})
    previous = correction.office
    claimed = CorrectionRequest.objects.filter(
        pk=correction.pk, status=CorrectionStatus.OPEN, office=previous
    ).update(office=office)
    if not claimed:
        raise _changed_meanwhile()
    correction.refresh_from_db()
    audit_write(
        school=correction.school,
        by=by,
        action="correction.forward",
        target=correction,
        changes={"office": [previous, office]},
    )
    return correction
