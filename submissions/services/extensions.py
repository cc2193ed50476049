"""The registry opens an upload window late for one student (延長上傳), and ends it early.

An extension is the exception that keeps the deadline firm for everyone else: it names one
student, one term and one kind of window, runs from the moment it is granted until a closing
time at most ``MAX_AHEAD`` away, and carries the reason, which goes into the audit trail.
``submissions.services.windows.upload_window`` honours it; nothing else changes.
"""

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import Role
from portfolio.audit import audit_write
from portfolio.models import Term
from records.access import students_visible_to
from records.models import Student
from submissions.models import ExtensionKind, WindowExtension

if TYPE_CHECKING:
    from accounts.acting import ActingContext

# The longest an extension may run: long enough for a student back from a long illness,
# short enough that a forgotten one does not keep a past term open for months.
MAX_AHEAD = dt.timedelta(days=60)
# A reason must say something ("病假" alone says little; "住院治療" is enough).
REASON_MIN = 4
REASON_MAX = 500
GRANT_ROLES = frozenset({Role.REGISTRY})


def _local(moment: dt.datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


# --- reads ------------------------------------------------------------------------------------


def in_force_first(extensions: QuerySet[WindowExtension], now: dt.datetime) -> QuerySet:
    """Those in force at ``now`` first, closing soonest first; then the ended, latest first."""
    in_force = Q(starts_at__lte=now, ends_at__gt=now)
    return extensions.annotate(
        in_force=Case(When(in_force, then=Value(1)), default=Value(0), output_field=IntegerField()),
        closes_soon=Case(When(in_force, then=F("ends_at")), default=None),
    ).order_by("-in_force", F("closes_soon").asc(nulls_last=True), "-ends_at", "-id")


def in_force_at(extensions: QuerySet[WindowExtension], now: dt.datetime) -> QuerySet:
    return extensions.filter(starts_at__lte=now, ends_at__gt=now)


def ended_at(extensions: QuerySet[WindowExtension], now: dt.datetime) -> QuerySet:
    return extensions.filter(ends_at__lte=now)


# --- checks -----------------------------------------------------------------------------------


def _raise_unless_registry(by: "ActingContext") -> None:
    if by is None or by.role not in GRANT_ROLES:
        raise PermissionDenied


def _grant_problems(
    *,
    student: Student,
    term: Term,
    kind: str,
    ends_at: dt.datetime,
    reason: str,
    by: "ActingContext",
    now: dt.datetime,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not students_visible_to(by).filter(pk=student.pk).exists():
        problems["student"] = [_("Choose a student of your school and division.")]
    if term.school_id != by.school.pk:
        problems["term"] = [_("Choose a term of your school.")]
    if kind not in ExtensionKind.values:
        problems["kind"] = [
            _("Choose the window to open: course outcomes, performances or the selection.")
        ]
    if timezone.is_naive(ends_at):
        raise ValueError("ends_at must be an aware datetime")
    if ends_at <= now:
        problems["ends_at"] = [
            _("The closing time must be in the future (now it is %(now)s).") % {"now": _local(now)}
        ]
    elif ends_at > now + MAX_AHEAD:
        problems["ends_at"] = [
            _("An extension may run for at most %(days)s days: close it on %(latest)s or earlier.")
            % {"days": MAX_AHEAD.days, "latest": _local(now + MAX_AHEAD)}
        ]
    if len(reason) < REASON_MIN:
        problems["reason"] = [
            _(
                "Write why the window is opened late for this student (at least %(min)s "
                "characters); it is kept in the audit trail."
            )
            % {"min": REASON_MIN}
        ]
    elif len(reason) > REASON_MAX:
        problems["reason"] = [
            _("The reason may have at most %(max)s characters; it has %(n)s.")
            % {"max": REASON_MAX, "n": len(reason)}
        ]
    return problems


def _already_in_force(
    student: Student, term: Term, kind: str, now: dt.datetime
) -> WindowExtension | None:
    return in_force_at(
        WindowExtension.objects.filter(student=student, term=term, kind=kind), now
    ).first()


# --- writes -----------------------------------------------------------------------------------


def extension_grant(
    *,
    student: Student,
    term: Term,
    kind: str,
    ends_at: dt.datetime,
    reason: str,
    by: "ActingContext",
    now: dt.datetime | None = None,
) -> WindowExtension:
    """Open ``kind`` of window of ``term`` for ``student`` from now until ``ends_at``.

    One extension of a kind per student and term is in force at a time: to move its
    closing time, the registry ends it and grants another, so the audit trail shows both.
    """
    _raise_unless_registry(by)
    now = now or timezone.now()
    reason = (reason or "").strip()
    problems = _grant_problems(
        student=student, term=term, kind=kind, ends_at=ends_at, reason=reason, by=by, now=now
    )
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        # Two registry clerks granting at once: the student's row serialises them.
        Student.objects.select_for_update().get(pk=student.pk)
        if current := _already_in_force(student, term, kind, now):
            raise ValidationError(
                {
                    NON_FIELD_ERRORS: [
                        _(
                            "%(student)s already has this window open until %(until)s. End "
                            "that extension first to set another closing time."
                        )
                        % {"student": student, "until": _local(current.ends_at)}
                    ]
                }
            )
        extension = WindowExtension.objects.create(
            school=by.school,
            student=student,
            term=term,
            kind=kind,
            starts_at=now,
            ends_at=ends_at,
            reason=reason,
            granted_by=by.user,
        )
        audit_write(
            school=by.school,
            by=by,
            action="window.extend",
            target=extension,
            changes={
                "student": student.pk,
                "term": term.pk,
                "kind": kind,
                "starts_at": now.isoformat(),
                "ends_at": ends_at.isoformat(),
                "reason": reason,
            },
        )
    return extension


@transaction.atomic
def extension_end(
    *, extension: WindowExtension, by: "ActingContext", now: dt.datetime | None = None
) -> WindowExtension:
    """End an extension in force now: the student's uploads stop at once."""
    _raise_unless_registry(by)
    now = now or timezone.now()
    extension = WindowExtension.objects.select_for_update().get(pk=extension.pk)
    if extension.school_id != by.school.pk:
        raise PermissionDenied
    if not extension.is_open_at(now):
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("This extension already closed on %(until)s.")
                    % {"until": _local(extension.ends_at)}
                ]
            }
        )
    before = extension.ends_at
    # The row must close after it opened; one granted this very instant closes a
    # microsecond later, which no request can fall into.
    extension.ends_at = max(now, extension.starts_at + dt.timedelta(microseconds=1))
    extension.save(update_fields=["ends_at"])
    audit_write(
        school=extension.school,
        by=by,
        action="window.extension_end",
        target=extension,
        changes={"ends_at": [before.isoformat(), extension.ends_at.isoformat()]},
    )
    return extension
