"""Concerns (反映): a student who disagrees with a decision on one of their outcomes raises a
concern with text from the item; it reaches the course's teachers and the registry, who
answer in the thread; the student sees the answers, and the registry can reopen the decision
from there (``certification.services.outcome_reopen``). Each outcome has one thread; a new
concern on it is a new message. Open concerns (the student wrote last) are counted on the
homes of those who answer."""

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from certification import notices
from certification.access import CONCERN_STAFF, concerns_visible_to
from certification.models import Concern, ConcernMessage
from portfolio.audit import audit_write
from portfolio.lib.text import forbidden_character
from submissions.models import CourseOutcome, OutcomeState

if TYPE_CHECKING:
    from accounts.acting import ActingContext

MESSAGE_MAX = 1000
CONCERNABLE = (OutcomeState.CERTIFIED, OutcomeState.REJECTED)


def _clean(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write your message.")]})
    if len(text) > MESSAGE_MAX:
        raise ValidationError(
            {"text": [_("Say it in at most %(limit)d characters.") % {"limit": MESSAGE_MAX}]}
        )
    if (bad := forbidden_character(text, multiline=True)) is not None:
        raise ValidationError({"text": [bad.message]})
    return text


def concern_refusal(outcome: CourseOutcome) -> str | None:
    """Why no concern can be raised on ``outcome`` (only on a decision), or None."""
    if outcome.state not in CONCERNABLE:
        return _("A concern is about a decision: this outcome is not certified or rejected.")
    return None


def concern_raise(
    *, outcome: CourseOutcome, acting: "ActingContext", text: str, now: dt.datetime | None = None
) -> Concern:
    """The student's concern about the decision on their own outcome (a new message in the
    outcome's thread when it has one)."""
    if acting.role != Role.STUDENT or outcome.student.user_id != acting.user.pk:
        raise PermissionDenied
    text = _clean(text)
    refusal = concern_refusal(outcome)
    if refusal:
        raise ValidationError({"text": [refusal]})
    with transaction.atomic():
        concern, created = Concern.objects.select_for_update().get_or_create(
            outcome=outcome, defaults={"school": outcome.school, "student": outcome.student}
        )
        _write(concern, acting, text, now or timezone.now())
        audit_write(
            school=outcome.school,
            by=acting,
            action="concern.raise",
            target=concern,
            changes={"outcome": outcome.pk, "new_thread": created},
        )
    return concern


def _write(concern: Concern, acting: "ActingContext", text: str, now: dt.datetime) -> None:
    ConcernMessage.objects.create(concern=concern, author=acting.user, role=acting.role, text=text)
    concern.answered_at = now if acting.role in CONCERN_STAFF else None
    concern.save(update_fields=["answered_at"])
    if acting.role in CONCERN_STAFF:
        notices.concern_answered(concern, acting.user, text, now)


def concern_reply(
    *, concern: Concern, acting: "ActingContext", text: str, now: dt.datetime | None = None
) -> Concern:
    """A message in the thread from the student, a teacher of the course or the registry."""
    text = _clean(text)
    with transaction.atomic():
        locked = (
            concerns_visible_to(acting)
            .select_for_update(of=("self",))
            .filter(pk=concern.pk)
            .first()
        )
        if locked is None:
            raise PermissionDenied
        _write(locked, acting, text, now or timezone.now())
        audit_write(
            school=locked.school,
            by=acting,
            action="concern.reply",
            target=locked,
            changes={"role": acting.role},
        )
    return locked


def waiting_count_for(acting: "ActingContext") -> int:
    """Concerns waiting for the acting teacher's or registry's answer (one query)."""
    if acting.role not in CONCERN_STAFF:
        return 0
    return concerns_visible_to(acting).filter(answered_at__isnull=True).count()
