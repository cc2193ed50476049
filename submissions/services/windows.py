"""Whether a student may upload now: the term's window for their grade, or their extension.

The times decide, on the server, at the moment of the request; a registry extension
(`WindowExtension`) opens one kind of window late for one student of one term.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portfolio.calendar import calendar_of
from portfolio.models import SchoolPolicy, SchoolYear, Term, Window, WindowKind
from records.models import Student
from submissions.models import ExtensionKind, WindowExtension


def policy_for(term: Term) -> SchoolPolicy:
    """The school's policy for the term's school year (the national defaults if none)."""
    return policy_for_year(term.school, term.school_year)


def policy_for_year(school, school_year) -> SchoolPolicy:
    policy = SchoolPolicy.objects.filter(school_year_id=school_year.pk).first()
    return policy or SchoolPolicy(school=school, school_year=school_year)


def student_grade(student: Student, term: Term, fallback: int | None = None) -> int | None:
    """The student's grade in ``term``: their class's grade when the class is of that year."""
    klass = student.school_class
    if klass is not None and klass.school_year_id == term.school_year_id:
        return klass.grade
    return fallback


def _local(moment: dt.datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


# What a closed window says, by kind: when none is scheduled, and when the next one is.
CLOSED_MESSAGES: dict[str, tuple[Promise, Promise]] = {
    WindowKind.OUTCOME_UPLOAD: (
        _(
            "Course outcomes can be uploaded or changed only during the outcome-upload "
            "window for this term, and none is open or scheduled. The school publishes its "
            "schedule."
        ),
        _(
            "Course outcomes can be uploaded or changed only during the outcome-upload "
            "window. The next one opens on %(start)s and closes on %(end)s."
        ),
    ),
    WindowKind.PERFORMANCE_UPLOAD: (
        _(
            "Diverse performances can be added or changed only during the "
            "performance-upload window, and none is open or scheduled. The school "
            "publishes its schedule."
        ),
        _(
            "Diverse performances can be added or changed only during the "
            "performance-upload window. The next one opens on %(start)s and closes on "
            "%(end)s."
        ),
    ),
    WindowKind.SELECTION: (
        _(
            "The selection for the central database can be changed only during the "
            "selection window of your grade, and none is open or scheduled for this school "
            "year. The school publishes its schedule."
        ),
        _(
            "The selection for the central database can be changed only during the "
            "selection window. The next one opens on %(start)s and closes on %(end)s."
        ),
    ),
    WindowKind.CERTIFICATION: (
        _(
            "Course outcomes can be certified or rejected only during the certification "
            "window of the course's term, and none is open or scheduled for this course. "
            "The school publishes its schedule."
        ),
        _(
            "Course outcomes can be certified or rejected only during the certification "
            "window. The next one for this course opens on %(start)s and closes on %(end)s."
        ),
    ),
}


@dataclass
class UploadWindow:
    kind: str
    now: dt.datetime
    open_window: Window | None
    next_window: Window | None
    extension: WindowExtension | None = None

    @property
    def is_open(self) -> bool:
        return self.open_window is not None or self.extension is not None

    @property
    def closes_at(self) -> dt.datetime | None:
        """When the student's chance ends: the later of the window and their extension."""
        ends = [w.ends_at for w in (self.open_window, self.extension) if w is not None]
        return max(ends) if ends else None

    def days_left(self) -> int:
        closes = self.closes_at
        if closes is None:
            return 0
        remaining = closes - self.now
        return remaining.days + (1 if remaining.seconds or remaining.microseconds else 0)

    def closed_message(self) -> str:
        none_scheduled, next_one = CLOSED_MESSAGES.get(
            self.kind, CLOSED_MESSAGES[WindowKind.OUTCOME_UPLOAD]
        )
        if self.next_window is None:
            return str(none_scheduled)
        return str(next_one) % {
            "start": _local(self.next_window.starts_at),
            "end": _local(self.next_window.ends_at),
        }

    def raise_if_closed(self) -> None:
        if not self.is_open:
            raise ValidationError({NON_FIELD_ERRORS: [self.closed_message()]})


def pick_window(
    windows: Iterable[Window],
    *,
    kind: str,
    now: dt.datetime,
    grade: int | None = None,
    extension: WindowExtension | None = None,
) -> UploadWindow:
    """Among ``windows`` (of one kind), the one open at ``now`` for ``grade`` (a window for
    all grades counts; no grade: every window) and the next to open; the latest-closing
    and the soonest-opening when several do."""
    mine = [w for w in windows if grade is None or w.grade in (None, grade)]
    open_now = [w for w in mine if w.is_open_at(now)]
    upcoming = [w for w in mine if w.starts_at > now]
    return UploadWindow(
        kind=kind,
        now=now,
        open_window=max(open_now, key=lambda w: w.ends_at, default=None),
        next_window=min(upcoming, key=lambda w: w.starts_at, default=None),
        extension=extension,
    )


class WindowBook:
    """For a page that looks up several windows of one student: the school's windows from its
    calendar (read once per change, ``portfolio.calendar``) and the student's extensions (one
    query, when first needed), answering as ``upload_window`` and ``live_term_ids`` do.

    Only for a student whose school row was read in this request (its calendar version is
    then current); the services that enforce the windows read them from the database."""

    def __init__(self, student: Student, now: dt.datetime) -> None:
        self.student = student
        self.now = now
        self.calendar = calendar_of(student.school)
        self.windows = self.calendar.windows
        self._extensions: list[WindowExtension] | None = None

    def policy(self, school_year: SchoolYear) -> SchoolPolicy:
        """The year's policy from the calendar (the national defaults if it has none), as
        ``policy_for_year`` reads it."""
        year = next((y for y in self.calendar.years if y.pk == school_year.pk), None)
        try:
            found = year.policy if year is not None else None
        except SchoolPolicy.DoesNotExist:
            found = None
        return found or SchoolPolicy(school=self.student.school, school_year=school_year)

    @property
    def extensions(self) -> list[WindowExtension]:
        if self._extensions is None:
            self._extensions = list(
                WindowExtension.objects.filter(student=self.student, ends_at__gt=self.now)
            )
        return self._extensions

    def live_term_ids(self, kind: str, term_ids: Iterable[int]) -> set[int]:
        term_ids = set(term_ids)
        items: list[Window | WindowExtension] = [*self.windows, *self.extensions]
        return {
            item.term_id
            for item in items
            if item.kind == kind and item.term_id in term_ids and item.ends_at > self.now
        }

    def upload_window(self, *, kind: str, terms: list[Term] | Term, grade: int | None):
        terms = [terms] if isinstance(terms, Term) else list(terms)
        ids = {term.pk for term in terms}
        windows = [
            w for w in self.windows if w.kind == kind and w.term_id in ids and w.ends_at > self.now
        ]
        in_force = [
            e
            for e in self.extensions
            if e.kind == kind and e.term_id in ids and e.starts_at <= self.now < e.ends_at
        ]
        extension = max(in_force, key=lambda e: e.ends_at, default=None)
        return pick_window(windows, kind=kind, now=self.now, grade=grade, extension=extension)


def upload_window(
    *,
    kind: str,
    student: Student | None,
    terms: list[Term] | Term,
    grade: int | None,
    now: dt.datetime,
    book: WindowBook | None = None,
) -> UploadWindow:
    """The open window of ``kind`` among ``terms`` for ``grade`` at ``now``, the next one,
    and the student's extension in force, if any (from ``book`` when given)."""
    if book is not None:
        return book.upload_window(kind=kind, terms=terms, grade=grade)
    terms = [terms] if isinstance(terms, Term) else list(terms)
    windows = Window.objects.filter(term__in=terms, kind=kind, ends_at__gt=now)
    extension = None
    if student is not None:
        extension = (
            WindowExtension.objects.filter(
                student=student,
                kind=ExtensionKind(kind),
                term__in=terms,
                starts_at__lte=now,
                ends_at__gt=now,
            )
            .order_by("-ends_at")
            .first()
        )
    return pick_window(windows, kind=kind, now=now, grade=grade, extension=extension)
