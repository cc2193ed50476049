"""Certification (認證) of course outcomes: the decisions and what the queue pages read.

Certifying confirms only that an outcome is the student's own work from that course; it is
never a judgement of quality or a grade (seed 003 item 2), so quality is not a reason to
reject. Who decides:

- a teacher of the course (or a deputy acting for one: the teacher is then the certifier);
- the registry office, as proxy, for a course none of whose teachers is still an active
  teacher of the school (seed 001 item 11), for the students of its own division.

Both only while the certification window of the course's term is open for the course's
grade. Each decision locks the outcome's row, so two people deciding at once end with one
decision, and refuses an outcome that changed after the page showing it was drawn.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from certification import notices
from certification.access import decision_scope
from portfolio.audit import audit_write
from portfolio.lib.text import forbidden_character
from portfolio.models import Window, WindowKind
from records.models import Course, SchoolClass
from submissions.models import CourseOutcome, OutcomeState
from submissions.services.windows import UploadWindow, pick_window

if TYPE_CHECKING:
    from accounts.acting import ActingContext

DECIDED = (OutcomeState.CERTIFIED, OutcomeState.REJECTED)
# How far back the "decided" view of the queue looks.
DECIDED_DAYS = 14
REASON_TEXT_MAX = 500


class RejectionReason(models.TextChoices):
    """Why an outcome is sent back: what certification confirms, never its quality."""

    NOT_OWN_WORK = "not_own_work", gettext_lazy("It is not the student's own work.")
    NOT_THIS_COURSE = "not_this_course", gettext_lazy("It is not work from this course.")
    FILE_UNUSABLE = "file_unusable", gettext_lazy("The file cannot be opened or is empty.")
    DESCRIPTION_MISMATCH = (
        "description_mismatch",
        gettext_lazy("The short description does not match the work."),
    )
    OTHER = "other", gettext_lazy("Another reason (say which).")


# --- the window -------------------------------------------------------------------------


# A course's certification window: the shared window type, never extended per student.
CertificationWindow = UploadWindow


def _pick_window(
    windows: Iterable[Window], course: Course, now: dt.datetime
) -> CertificationWindow:
    """The course's certification window among windows not yet over (of any term)."""
    return pick_window(
        [w for w in windows if w.term_id == course.term_id],
        kind=WindowKind.CERTIFICATION,
        now=now,
        grade=course.grade,
    )


def _live_windows(term_ids: Iterable[int], now: dt.datetime) -> list[Window]:
    return list(
        Window.objects.filter(
            term_id__in=set(term_ids), kind=WindowKind.CERTIFICATION, ends_at__gt=now
        )
    )


def certification_window(course: Course, now: dt.datetime) -> CertificationWindow:
    return _pick_window(_live_windows([course.term_id], now), course, now)


def windows_for(courses: Iterable[Course], now: dt.datetime) -> dict[int, CertificationWindow]:
    """Each course's window, in one query whatever the number of courses."""
    courses = list(courses)
    windows = _live_windows((c.term_id for c in courses), now)
    return {course.pk: _pick_window(windows, course, now) for course in courses}


# --- who may decide -----------------------------------------------------------------------


def awaiting_count_for(acting: "ActingContext") -> int:
    """Outcomes waiting for the acting person's decision (one query), for the home page."""
    return decision_scope(acting).filter(state=OutcomeState.SUBMITTED).count()


# --- the decisions -----------------------------------------------------------------------


def _decide(
    *,
    outcome: CourseOutcome,
    by: "ActingContext",
    now: dt.datetime,
    seen_at: dt.datetime | None,
) -> CourseOutcome:
    """The outcome locked and checked for a decision now; call inside a transaction."""
    locked = (
        CourseOutcome.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "enrolment__course__term", "document", "media")
        .filter(pk=outcome.pk)
        .first()
    )
    if (
        locked is None  # deleted meanwhile
        or locked.school_id != by.school.pk
        or not decision_scope(by).filter(pk=locked.pk).exists()
    ):
        raise PermissionDenied
    certification_window(locked.enrolment.course, now).raise_if_closed()
    if seen_at is not None and locked.updated_at != seen_at:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _(
                        "It changed since you opened the page (it is now %(state)s); look at "
                        "it again before deciding."
                    )
                    % {"state": locked.get_state_display().lower()}
                ]
            }
        )
    if locked.state != OutcomeState.SUBMITTED:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("It is not awaiting certification; it is %(state)s.")
                    % {"state": locked.get_state_display().lower()}
                ]
            }
        )
    return locked


def _record(
    outcome: CourseOutcome,
    by: "ActingContext",
    now: dt.datetime,
    *,
    state: str,
    rejection_reason: str = "",
    action: str,
    **extra: Any,
) -> None:
    """Write a decision on an outcome ``_decide`` has locked (so it was awaiting one)."""
    outcome.state = state
    outcome.rejection_reason = rejection_reason
    outcome.certified_by = by.principal
    outcome.certified_at = now
    outcome.reopen_reason = ""  # a reopening is answered by this decision
    outcome.decided_files = {
        kind: stored.sha256
        for kind, stored in (("document", outcome.document), ("media", outcome.media))
        if stored is not None
    }
    outcome.save(
        update_fields=[
            "state", "rejection_reason", "certified_by", "certified_at", "reopen_reason",
            "decided_files", "updated_at",
        ]
    )  # fmt: skip
    audit_write(
        school=by.school,  # the outcome's: _decide checked it (and it is loaded already)
        by=by,
        action=action,
        target=outcome,
        changes={
            "state": [OutcomeState.SUBMITTED.value, state],
            "certified_by": outcome.certified_by_id,
            "proxy": by.role == Role.REGISTRY,
            **extra,
        },
    )


def outcome_certify(
    *,
    outcome: CourseOutcome,
    by: "ActingContext",
    now: dt.datetime | None = None,
    seen_at: dt.datetime | None = None,
) -> CourseOutcome:
    """Certify an outcome awaiting certification: it may then be selected for the central
    database. ``seen_at`` is the outcome's ``updated_at`` as the teacher's page showed it."""
    now = now or timezone.now()
    with transaction.atomic():
        outcome = _decide(outcome=outcome, by=by, now=now, seen_at=seen_at)
        _record(outcome, by, now, state=OutcomeState.CERTIFIED, action="outcome.certify")
        notices.decision_noted(outcome, "certified", at=now, by=outcome.certified_by)
    return outcome


def rejection_text(reason_code: str, reason_text: str) -> str:
    """What the student reads: the reason, in the school's language, then the teacher's
    words. The school's language, not the teacher's: it is stored once and read later by
    a student whose language is not known now."""
    with translation.override(settings.LANGUAGE_CODE):
        label = str(RejectionReason(reason_code).label)
    return f"{label}\n{reason_text}" if reason_text else label


def _reason_problems(reason_code: str, reason_text: str) -> dict[str, list[str]]:
    if reason_code not in RejectionReason.values:
        return {"reason_code": [_("Choose the reason from the list.")]}
    if reason_code == RejectionReason.OTHER and not reason_text:
        return {"reason_text": [_("Say what the reason is: “another reason” needs your words.")]}
    if len(reason_text) > REASON_TEXT_MAX:
        return {
            "reason_text": [
                _("Your words may have at most %(max)s characters; they have %(n)s.")
                % {"max": REASON_TEXT_MAX, "n": len(reason_text)}
            ]
        }
    return {}


def outcome_reject(
    *,
    outcome: CourseOutcome,
    reason_code: str,
    reason_text: str = "",
    by: "ActingContext",
    now: dt.datetime | None = None,
    seen_at: dt.datetime | None = None,
) -> CourseOutcome:
    """Send an outcome back to the student with a reason from the list (and words of the
    teacher's, required for "another reason"). The student may put it right and send it
    again, when it comes back as awaiting certification."""
    now = now or timezone.now()
    reason_text = (reason_text or "").replace("\r\n", "\n").strip()
    if problems := _reason_problems(reason_code, reason_text):
        raise ValidationError(problems)
    with transaction.atomic():
        outcome = _decide(outcome=outcome, by=by, now=now, seen_at=seen_at)
        _record(
            outcome,
            by,
            now,
            state=OutcomeState.REJECTED,
            rejection_reason=rejection_text(reason_code, reason_text),
            action="outcome.reject",
            reason=reason_code,
            reason_text=reason_text,
        )
        notices.decision_noted(
            outcome,
            "rejected",
            at=now,
            by=outcome.certified_by,
            reason=notices.rejection_reason_both(reason_code, reason_text),
        )
    return outcome


@dataclass
class ManyResult:
    done: list[CourseOutcome] = field(default_factory=list)
    refused: list[tuple[CourseOutcome, str]] = field(default_factory=list)


def certify_many(
    *,
    outcomes: Iterable[CourseOutcome],
    by: "ActingContext",
    now: dt.datetime | None = None,
    seen_at: Mapping[int, dt.datetime | None] | None = None,
) -> ManyResult:
    """Certify several outcomes, each checked and committed on its own, so one refusal
    leaves the others certified. ``seen_at`` maps an outcome's pk to what the page showed."""
    now = now or timezone.now()
    seen_at = seen_at or {}
    result = ManyResult()
    for outcome in outcomes:
        try:
            result.done.append(
                outcome_certify(outcome=outcome, by=by, now=now, seen_at=seen_at.get(outcome.pk))
            )
        except ValidationError as exc:
            result.refused.append((outcome, " ".join(exc.messages)))
        except PermissionDenied:
            result.refused.append((outcome, _("It is not an outcome you may decide on.")))
    return result


# --- what the queue pages read ---------------------------------------------------------


# --- taking a decision back: the teacher's undo, the registry's reopening ------------------------

REOPEN_REASON_MAX = 500


def undo_refusal(
    outcome: CourseOutcome, by: "ActingContext", window: CertificationWindow, frozen: bool
) -> str | None:
    """Why the acting person cannot undo their decision on ``outcome`` now, or None."""
    if outcome.state not in DECIDED:
        return _("There is no decision to undo: it is %(state)s.") % {
            "state": outcome.get_state_display().lower()
        }
    if outcome.certified_by_id != by.principal.pk:
        return _("Only whoever decided can undo it; ask the registry to reopen it.")
    if frozen:
        return _(
            "It was submitted to the central database in a roster: only the registry can "
            "reopen it, after reopening the roster."
        )
    if not window.is_open:
        return _(
            "The certification window has closed: only the registry can reopen the decision now."
        )
    return None


def _taken_back(outcome: CourseOutcome) -> str:
    """Put a locked, decided outcome back to awaiting certification; its state before."""
    before = outcome.state
    outcome.state = OutcomeState.SUBMITTED
    outcome.rejection_reason = ""
    outcome.certified_by = None
    outcome.certified_at = None
    return before


def _lock_decided(outcome: CourseOutcome) -> CourseOutcome:
    locked = (
        CourseOutcome.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "enrolment__course__term")
        .filter(pk=outcome.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied
    return locked


def outcome_undo(
    *, outcome: CourseOutcome, by: "ActingContext", now: dt.datetime | None = None
) -> CourseOutcome:
    """The teacher's undo of their own decision made by mistake, while the certification
    window is open and the outcome is in no submitted roster: it awaits their decision again."""
    from submissions.services.rosters import freezing_package

    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock_decided(outcome)
        if not decision_scope(by).filter(pk=locked.pk).exists():
            raise PermissionDenied
        window = certification_window(locked.enrolment.course, now)
        refusal = undo_refusal(locked, by, window, freezing_package(locked) is not None)
        if refusal:
            raise ValidationError({NON_FIELD_ERRORS: [refusal]})
        before = _taken_back(locked)
        locked.save(
            update_fields=[
                "state", "rejection_reason", "certified_by", "certified_at", "updated_at",
            ]
        )  # fmt: skip
        audit_write(
            school=locked.school,
            by=by,
            action="outcome.undo",
            target=locked,
            changes={"state": [before, locked.state]},
        )
        notices.decision_noted(locked, "undone", at=now)
    return locked


def outcome_reopen(
    *, outcome: CourseOutcome, by: "ActingContext", reason: str, now: dt.datetime | None = None
) -> CourseOutcome:
    """The registry reopens a decision with a reason the teacher and the student see: the
    outcome awaits certification again (any time, but not while a submitted roster holds it)."""
    from submissions.services.rosters import freezing_package, frozen_message

    now = now or timezone.now()
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the decision is reopened.")]})
    if len(reason) > REOPEN_REASON_MAX:
        raise ValidationError(
            {
                "reason": [
                    _("Say it in at most %(limit)d characters.") % {"limit": REOPEN_REASON_MAX}
                ]
            }
        )
    if (bad := forbidden_character(reason, multiline=True)) is not None:
        raise ValidationError({"reason": [bad.message]})
    with transaction.atomic():
        locked = _lock_decided(outcome)
        if locked.state not in DECIDED:
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        _("There is no decision to reopen: it is %(state)s.")
                        % {"state": locked.get_state_display().lower()}
                    ]
                }
            )
        package = freezing_package(locked)
        if package is not None:
            raise ValidationError({NON_FIELD_ERRORS: [frozen_message(package)]})
        decided_by = locked.certified_by_id
        before = _taken_back(locked)
        locked.reopen_reason = reason
        locked.reopened_by = by.user
        locked.reopened_at = now
        locked.save(
            update_fields=[
                "state", "rejection_reason", "certified_by", "certified_at", "reopen_reason",
                "reopened_by", "reopened_at", "updated_at",
            ]
        )  # fmt: skip
        audit_write(
            school=locked.school,
            by=by,
            action="outcome.reopen",
            target=locked,
            changes={"state": [before, locked.state], "reason": reason, "decided_by": decided_by},
        )
        notices.decision_noted(locked, "reopened", at=now, reason=reason)
    return locked


class Show(models.TextChoices):
    AWAITING = "awaiting", gettext_lazy("Awaiting your decision")
    DECIDED = "decided", gettext_lazy("Decided in the last two weeks")


@dataclass
class QueueOptions:
    """What the acting person's queue holds, whatever the filters: the courses (with their
    counts and windows) and classes to filter by."""

    courses: list[Course]
    classes: list[SchoolClass]
    awaiting: dict[int, int]
    windows: dict[int, CertificationWindow]

    @property
    def total_awaiting(self) -> int:
        return sum(self.awaiting.values())


def _recent(now: dt.datetime) -> Q:
    return Q(state__in=DECIDED, certified_at__gte=now - dt.timedelta(days=DECIDED_DAYS))


def queue_options(acting: "ActingContext", *, now: dt.datetime) -> QueueOptions:
    """A fixed number of queries (four, five on the registry's page), whatever the size."""
    scope = decision_scope(acting).filter(Q(state=OutcomeState.SUBMITTED) | _recent(now))
    awaiting: dict[int, int] = {}
    course_ids = set()
    for course_id, state, n in (
        scope.values_list("enrolment__course", "state").annotate(n=Count("id")).order_by()
    ):
        course_ids.add(course_id)
        if state == OutcomeState.SUBMITTED:
            awaiting[course_id] = n
    found = Course.objects.filter(school=acting.school, pk__in=course_ids).select_related(
        "term__school_year"
    )
    if acting.role == Role.REGISTRY:
        found = found.prefetch_related("teachers")
    courses = sorted(
        found,
        key=lambda c: (c.term.school_year.roc_year, c.term.number, c.name, c.code, c.section),
    )
    classes = list(
        SchoolClass.objects.filter(pk__in=scope.values("student__school_class")).order_by(
            "grade", "name"
        )
    )
    return QueueOptions(
        courses=courses, classes=classes, awaiting=awaiting, windows=windows_for(courses, now)
    )


def queue_items(
    acting: "ActingContext",
    *,
    now: dt.datetime,
    show: str = Show.AWAITING,
    course_id: int | None = None,
    class_id: int | None = None,
) -> QuerySet[CourseOutcome]:
    """The outcomes to show, in the queue's order: course by term, then class and seat."""
    items = decision_scope(acting)
    items = (
        items.filter(_recent(now))
        if show == Show.DECIDED
        else items.filter(state=OutcomeState.SUBMITTED)
    )
    if course_id:
        items = items.filter(enrolment__course_id=course_id)
    if class_id:
        items = items.filter(student__school_class_id=class_id)
    return items.select_related(
        "student__school_class",
        "enrolment__course__term__school_year",
        "document",
        "media",
        "certified_by",
    ).order_by(
        "enrolment__course__term__school_year__roc_year",
        "enrolment__course__term__number",
        "enrolment__course__name",
        "enrolment__course__code",
        "enrolment__course__section",
        "enrolment__course_id",
        "student__school_class__grade",
        "student__school_class__name",
        "student__seat_number",
        "student__student_number",
        "created_at",
        "pk",
    )


@dataclass
class QueueItem:
    outcome: CourseOutcome
    # The item to show next once this one is decided (the following one, else the one before).
    next_pk: int | None = None
    # Set by the view: the reject form of this item, and whether its decision may be undone.
    reject_form: Any = None
    may_undo: bool = False


@dataclass
class ClassGroup:
    school_class: SchoolClass | None
    items: list[QueueItem]


@dataclass
class CourseGroup:
    course: Course
    window: CertificationWindow
    awaiting: int
    classes: list[ClassGroup]

    @property
    def items(self) -> list[QueueItem]:
        return [item for group in self.classes for item in group.items]


def group_items(
    outcomes: Iterable[CourseOutcome], options: QueueOptions, now: dt.datetime
) -> list[CourseGroup]:
    """Outcomes in queue order, grouped by course, then class (no query, unless an outcome
    of a course the options did not know of yet came in between)."""
    items = [QueueItem(outcome) for outcome in outcomes]
    for i, item in enumerate(items):
        neighbour = items[i + 1] if i + 1 < len(items) else items[i - 1] if i else None
        item.next_pk = neighbour.outcome.pk if neighbour else None
    courses = {course.pk: course for course in options.courses}
    groups: list[CourseGroup] = []
    for item in items:
        course_id = item.outcome.enrolment.course_id
        if not groups or groups[-1].course.pk != course_id:
            course = courses.get(course_id, item.outcome.enrolment.course)
            groups.append(
                CourseGroup(
                    course=course,
                    window=options.windows.get(course.pk) or certification_window(course, now),
                    awaiting=options.awaiting.get(course.pk, 0),
                    classes=[],
                )
            )
        classes = groups[-1].classes
        school_class = item.outcome.student.school_class
        if not classes or classes[-1].school_class != school_class:
            classes.append(ClassGroup(school_class=school_class, items=[]))
        classes[-1].items.append(item)
    return groups
