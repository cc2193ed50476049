"""Notices: what a person is told, in the app and by e-mail, each exactly once.

The apps decide what to tell (certification: decisions, concerns' answers, teachers' digests and
reminders; submissions: files lost, students' reminders; the homeroom teacher's and the
registry's reminders) and hand ``Note``s to ``notify``. A note's ``key`` names the event
("digest:2026-12-04", "certified:12:2026-12-04T08:00:00+00:00"): a person's notice of a key
is written once (unique), so a beat task that runs twice, or twice at once, or is retried,
writes nothing the second time.

What a notice says is rendered from its ``topic`` and ``params`` in the reader's language
(the page's, or for e-mail the one the person last used on the site); a param may be a
``{"zh-hant": …, "en": …}`` dict for text made in both languages by the app that knows it
(a rejection reason).

E-mail goes after the commit, through Django's mail backend, one notice at a time under a
row lock (``skip_locked``: two deliveries at once never send the same notice); a mail server
that fails is tried again after 1, 2, 4 and 8 minutes, then the notice is marked failed with
the error (it stays in the app, and the failure is logged). A person turns e-mail off per kind.
"""

import contextlib
import dataclasses
import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import EmailState, Notice, NoticeKind, Role, User
from portfolio.broker import send_quietly
from portfolio.models import School

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BATCH = 1000
# At most this many notices are e-mailed by one delivery task; it then queues the next.
DELIVER_LIMIT = 500
REMIND_DAYS = (3, 1)


@dataclasses.dataclass(frozen=True)
class Note:
    """A notice to write: to whom, about what, and the key that makes it once."""

    user_id: int
    school_id: int
    kind: str
    topic: str
    key: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    link: str = ""
    # The role it is for: shown when the person acts in it (its link opens a page of that
    # role); empty for any role.
    role: str = ""


# Which kinds each role may receive (the settings page offers these).
KINDS_FOR_ROLE: dict[str, list[str]] = {
    Role.STUDENT: [
        NoticeKind.DECISION, NoticeKind.CONCERN, NoticeKind.FILE, NoticeKind.REMINDER,
        NoticeKind.FROM_STAFF,
    ],
    Role.TEACHER: [NoticeKind.DIGEST, NoticeKind.REMINDER, NoticeKind.FROM_STAFF],
    Role.REGISTRY: [NoticeKind.FILE],
}  # fmt: skip


def kinds_for(role: str) -> list[str]:
    return KINDS_FOR_ROLE.get(role, [])


# --- writing ----------------------------------------------------------------------------------


def _chunks(items: Sequence, size: int = BATCH) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _written(notes: list[Note]) -> set[tuple[int, str]]:
    """(user, key) of the notes already written."""
    keys = sorted({note.key for note in notes})
    users = sorted({note.user_id for note in notes})
    found: set[tuple[int, str]] = set()
    for key_chunk in _chunks(keys):
        for user_chunk in _chunks(users):
            found.update(
                Notice.objects.filter(key__in=key_chunk, user_id__in=user_chunk).values_list(
                    "user_id", "key"
                )
            )
    return found


def _mailable(user_ids: list[int]) -> dict[int, set[str]]:
    """The users who can get e-mail (active, an address), with the kinds they turned off."""
    found: dict[int, set[str]] = {}
    for chunk in _chunks(user_ids):
        for pk, off in (
            User.objects.filter(pk__in=chunk, is_active=True)
            .exclude(email="")
            .values_list("pk", "notice_email_off")
        ):
            found[pk] = set(off or [])
    return found


def notify(notes: Iterable[Note], *, now: dt.datetime | None = None, email: bool = True) -> int:
    """Write the notes not written before (by person and key); the number written. E-mail
    is queued after the commit (none with ``email=False``: the demo's seeded notices)."""
    now = now or timezone.now()
    unique = list({(note.user_id, note.key): note for note in notes}.values())
    if not unique:
        return 0
    written = _written(unique)
    new = [note for note in unique if (note.user_id, note.key) not in written]
    if not new:
        return 0
    mailable = _mailable(sorted({note.user_id for note in new})) if email else {}
    rows = [
        Notice(
            school_id=note.school_id,
            user_id=note.user_id,
            kind=note.kind,
            topic=note.topic,
            key=note.key,
            params=note.params,
            link=note.link,
            role=note.role,
            created_at=now,
            email=(
                EmailState.PENDING
                if note.user_id in mailable and note.kind not in mailable[note.user_id]
                else EmailState.OFF
            ),
            email_next_at=now,
        )
        for note in new
    ]
    # Another run may write the same keys meanwhile: the unique constraint keeps one.
    Notice.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    if any(row.email == EmailState.PENDING for row in rows):
        transaction.on_commit(_deliver_soon)
    return len(rows)


def _deliver_soon() -> None:
    """Queue the delivery now; when the broker does not answer, the beat's delivery (every
    minute, from the database) sends them once it does: the request that wrote them is not
    failed for it."""
    from accounts.tasks import deliver_notices

    if not send_quietly(deliver_notices):
        log.warning("notices: the broker did not take the delivery; beat sends them later")


def remind_stage(ends_at: dt.datetime, now: dt.datetime) -> int | None:
    """Reminders go 3 days and 1 day before a close: the stage reached at ``now`` (3 within
    three days, 1 within the last day), or None before; one notice per stage, by its key."""
    left = ends_at - now
    for days in sorted(REMIND_DAYS):
        if left <= dt.timedelta(days=days):
            return days
    return None


# --- reading ----------------------------------------------------------------------------------


def unread_count(user: User, school: School, role: str = "") -> int:
    return Notice.objects.for_user(user, school, role).unread().count()


def mark_read(
    user: User,
    school: School,
    ids: Iterable[int] | None = None,
    now: dt.datetime | None = None,
    role: str = "",
) -> int:
    """Mark the person's notices (those of ``ids``, or all those of ``role``) read; how many
    were unread."""
    notices = Notice.objects.for_user(user, school, role).unread()
    if ids is not None:
        notices = notices.filter(pk__in=list(ids))
    return notices.update(read_at=now or timezone.now())


def email_off_set(user: User, kinds_off: Iterable[str]) -> None:
    """The kinds the person no longer wants by e-mail (the others they get)."""
    valid = set(NoticeKind.values)
    user.notice_email_off = sorted(set(kinds_off) & valid)
    user.save(update_fields=["notice_email_off"])


# --- what a notice says -------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A param as text in the active language (a dict of texts per language picks one)."""
    if isinstance(value, dict):
        language = translation.get_language() or settings.LANGUAGE_CODE
        return str(value.get(language) or value.get(settings.LANGUAGE_CODE) or "")
    return str(value)


def _when(value: str) -> str:
    moment = parse_datetime(value) if value else None
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _closes_in(p: dict, what: str) -> str:
    days = int(p.get("days", 1))
    if what == "upload":
        text = ngettext(
            "Course-outcome upload closes in %(days)d day",
            "Course-outcome upload closes in %(days)d days",
            days,
        )
    elif what == "performance":
        text = ngettext(
            "Diverse-performance upload closes in %(days)d day",
            "Diverse-performance upload closes in %(days)d days",
            days,
        )
    elif what == "selection":
        text = ngettext(
            "Selection for the central database closes in %(days)d day",
            "Selection for the central database closes in %(days)d days",
            days,
        )
    else:
        text = ngettext(
            "Certification closes in %(days)d day", "Certification closes in %(days)d days", days
        )
    return text % {"days": days}


def _awaiting(count: int) -> str:
    return ngettext(
        "%(count)d course outcome awaits your decision.",
        "%(count)d course outcomes await your decision.",
        count,
    ) % {"count": count}


def _outcome(p: dict) -> dict[str, str]:
    return {"title": _text(p.get("title", "")), "course": _text(p.get("course", ""))}


def _certified(p: dict) -> tuple[str, list[str]]:
    words = {**_outcome(p), "teacher": _text(p.get("by", ""))}
    return _("Certified: “%(title)s”") % words, [
        _("%(teacher)s certified your course outcome “%(title)s” (%(course)s).") % words
    ]


def _rejected(p: dict) -> tuple[str, list[str]]:
    words = {**_outcome(p), "teacher": _text(p.get("by", ""))}
    return _("Not certified: “%(title)s”") % words, [
        _("%(teacher)s did not certify your course outcome “%(title)s” (%(course)s).") % words,
        _("Reason: %(reason)s") % {"reason": _text(p.get("reason", ""))},
        _("You may correct it and send it again while the upload window is open."),
    ]


def _reopened(p: dict) -> tuple[str, list[str]]:
    words = _outcome(p)
    return _("Decision reopened: “%(title)s”") % words, [
        _(
            "The registry office reopened the decision on your course outcome “%(title)s” "
            "(%(course)s); it awaits certification again."
        )
        % words,
        _("Reason: %(reason)s") % {"reason": _text(p.get("reason", ""))},
    ]


def _undone(p: dict) -> tuple[str, list[str]]:
    words = _outcome(p)
    return _("Decision withdrawn: “%(title)s”") % words, [
        _(
            "The teacher withdrew the decision on your course outcome “%(title)s” (%(course)s); "
            "it awaits certification again."
        )
        % words
    ]


def _concern_answer(p: dict) -> tuple[str, list[str]]:
    words = _outcome(p)
    return _("Your concern about “%(title)s” was answered") % words, [
        _("%(who)s answered:") % {"who": _text(p.get("by", ""))},
        _text(p.get("text", "")),
    ]


def _file_lost(p: dict) -> tuple[str, list[str]]:
    words = _outcome(p)
    return _("Upload the file of “%(title)s” again") % words, [
        _(
            "The platform found the stored file of your certified course outcome “%(title)s” "
            "(%(course)s) missing or damaged."
        )
        % words,
        _(
            "Upload the same file again and its certification stands; a different file awaits "
            "certification again."
        ),
    ]


def _files_lost(p: dict) -> tuple[str, list[str]]:
    items = p.get("items", [])
    count = int(p.get("count", len(items)))
    title = ngettext(
        "%(count)d certified file was found missing or damaged",
        "%(count)d certified files were found missing or damaged",
        count,
    ) % {"count": count}
    lines = [
        _(
            "The nightly check of %(day)s found them; the students were told to upload them "
            "again, and the student's record shows each."
        )
        % {"day": p.get("day", "")}
    ]
    lines += [
        _("%(student)s (%(class)s): “%(title)s”")
        % {"student": item["student"], "class": item["class"], "title": item["title"]}
        for item in items
    ]
    if count > len(items):
        lines.append(_("… and %(more)d more.") % {"more": count - len(items)})
    return title, lines


def _closing(p: dict) -> tuple[str, list[str]]:
    what = p.get("what", "certification")
    closes = _("The window closes at %(closes)s.") % {"closes": _when(p.get("closes", ""))}
    count, cap = int(p.get("count", 0)), int(p.get("cap", 0))
    if what == "upload":
        first = _(
            "You have uploaded %(count)d of at most %(cap)d course outcomes for %(term)s."
        ) % {"count": count, "cap": cap, "term": _text(p.get("term", ""))}
    elif what == "performance":
        first = _(
            "You have entered %(count)d of at most %(cap)d diverse performances for school "
            "year %(year)s."
        ) % {"count": count, "cap": cap, "year": p.get("year", "")}
    elif what == "selection":
        first = _(
            "You have not yet confirmed what goes to the central database for school year %(year)s."
        ) % {"year": p.get("year", "")}
    else:
        first = _awaiting(count)
    return _closes_in(p, what), [first, closes]


def _digest(p: dict) -> tuple[str, list[str]]:
    count = int(p.get("count", 0))
    title = ngettext(
        "%(count)d course outcome awaits your certification",
        "%(count)d course outcomes await your certification",
        count,
    ) % {"count": count}
    lines = [_("Waiting longest since %(oldest)s.") % {"oldest": _when(p.get("oldest", ""))}]
    lines += [
        ngettext(
            "%(course)s: %(count)d awaiting", "%(course)s: %(count)d awaiting", course["count"]
        )
        % {"course": _text(course["name"]), "count": course["count"]}
        for course in p.get("courses", [])
    ]
    return title, lines


HOMEROOM_ASKS: dict[str, Callable[[], str]] = {
    "upload": lambda: _(
        "Upload your course outcomes and diverse performances before the upload windows close."
    ),
    "selection": lambda: _("Select and confirm what goes to the central database."),
    "corrections": lambda: _("Check your basic data and answer the corrections still open."),
}


def _homeroom(p: dict) -> tuple[str, list[str]]:
    ask = HOMEROOM_ASKS.get(p.get("what", ""))
    lines = [ask()] if ask else []
    if p.get("message"):
        lines.append(
            _("%(teacher)s writes: %(message)s")
            % {"teacher": _text(p.get("by", "")), "message": p["message"]}
        )
    return _("A reminder from your homeroom teacher"), lines


def _teachers_behind(p: dict) -> tuple[str, list[str]]:
    return _("The registry office asks you to certify"), [
        _awaiting(int(p.get("count", 0))),
        _("Waiting longest since %(oldest)s.") % {"oldest": _when(p.get("oldest", ""))},
    ]


TOPICS: dict[str, Callable[[dict], tuple[str, list[str]]]] = {
    "certified": _certified,
    "rejected": _rejected,
    "reopened": _reopened,
    "undone": _undone,
    "concern_answer": _concern_answer,
    "file_lost": _file_lost,
    "files_lost": _files_lost,
    "closing": _closing,
    "digest": _digest,
    "homeroom": _homeroom,
    "teachers_behind": _teachers_behind,
}


@dataclasses.dataclass(frozen=True)
class Rendered:
    title: str
    lines: list[str]


def render(notice: Notice) -> Rendered:
    """What the notice says, in the active language."""
    title, lines = TOPICS[notice.topic](notice.params)
    return Rendered(title=title, lines=[line for line in lines if line])


def rendered(notices: Iterable[Notice]) -> list[tuple[Notice, Rendered]]:
    return [(notice, render(notice)) for notice in notices]


# --- e-mail -----------------------------------------------------------------------------------


def _message(notice: Notice, connection: BaseEmailBackend) -> EmailMultiAlternatives:
    language = notice.user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        said = render(notice)
        context = {
            "notice": notice,
            "said": said,
            "user": notice.user,
            "school": notice.school.display_name(language),
            "link": f"{settings.SITE_URL}{notice.link}" if notice.link else "",
            "settings_link": f"{settings.SITE_URL}/notices/settings/",
            "language": language,
        }
        message = EmailMultiAlternatives(
            subject=f"[{context['school']}] {said.title}",
            body=render_to_string("notices/email.txt", context),
            to=[notice.user.email],
            connection=connection,
        )
        message.attach_alternative(render_to_string("notices/email.html", context), "text/html")
    return message


@dataclasses.dataclass
class Delivered:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    more: bool = False


def _send_one(pk: int, connection: BaseEmailBackend, now: dt.datetime, done: Delivered) -> None:
    with transaction.atomic():
        notice = (
            Notice.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("user", "school")
            .filter(pk=pk, email=EmailState.PENDING)
            .first()
        )
        if notice is None:
            return  # sent meanwhile, or another delivery holds it now
        user = notice.user
        if not user.is_active or not user.email or notice.kind in (user.notice_email_off or []):
            notice.email = EmailState.OFF
            notice.save(update_fields=["email"])
            done.skipped += 1
            return
        try:
            _message(notice, connection).send()
        except (OSError, smtplib.SMTPException) as error:
            connection.close()  # a broken connection is opened again for the next one
            notice.email_attempts += 1
            notice.email_error = f"{type(error).__name__}: {error}"[:300]
            if notice.email_attempts >= MAX_ATTEMPTS:
                notice.email = EmailState.FAILED
                done.failed += 1
                log.error(
                    "notice %s to user %s: e-mail failed %s times, given up: %s",
                    notice.pk, user.pk, notice.email_attempts, notice.email_error,
                )  # fmt: skip
            else:
                notice.email_next_at = now + dt.timedelta(minutes=2 ** (notice.email_attempts - 1))
                done.retrying += 1
                log.warning(
                    "notice %s: e-mail failed (attempt %s), tried again at %s: %s",
                    notice.pk, notice.email_attempts, notice.email_next_at, notice.email_error,
                )  # fmt: skip
        else:
            notice.email = EmailState.SENT
            notice.emailed_at = timezone.now()
            notice.email_error = ""
            done.sent += 1
        notice.save(
            update_fields=["email", "email_attempts", "email_next_at", "email_error", "emailed_at"]
        )


def deliver(*, now: dt.datetime | None = None, limit: int = DELIVER_LIMIT) -> Delivered:
    """E-mail the notices due (pending, their next attempt reached), each once."""
    now = now or timezone.now()
    due = list(
        Notice.objects.filter(email=EmailState.PENDING, email_next_at__lte=now)
        .order_by("email_next_at", "pk")
        .values_list("pk", flat=True)[: limit + 1]
    )
    done = Delivered(more=len(due) > limit)
    connection = get_connection(fail_silently=False)
    try:
        if due:
            # One connection for them all when the server answers; else each notice tries,
            # and counts its attempt.
            with contextlib.suppress(OSError, smtplib.SMTPException):
                connection.open()
        for pk in due[:limit]:
            _send_one(pk, connection, now, done)
    finally:
        connection.close()
    return done
