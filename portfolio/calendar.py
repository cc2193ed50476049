"""A school's calendar (its school years with their policies, terms and windows), read from the
database once per change and kept in each process.

These change a few times a year, yet nearly every page reads them (the phase banner, the caps,
the term under way). Each change raises ``School.calendar_version`` in the same transaction
(signals on save and delete; ``bump`` where rows are changed by ``update()``), and the school
row comes with every request's acting membership: a process that finds another version reads
the calendar again. So nothing is ever served stale, across processes and without a shared
cache: a window moved by the registry shows on the next page in every worker. Whether a window
is open is decided from its times at the moment of the request, never cached.
"""

import dataclasses
import datetime as dt
import threading
from collections.abc import Iterable

from django.db.models import F
from django.db.models.signals import post_delete, post_save

from portfolio.models import School, SchoolPolicy, SchoolYear, Term, Window, last_started


@dataclasses.dataclass(frozen=True)
class Calendar:
    years: tuple[SchoolYear, ...]
    terms: tuple[Term, ...]
    windows: tuple[Window, ...]

    def year(self, roc_year: int) -> SchoolYear | None:
        """The school year (its policy loaded, or None: ``SchoolYear.policy`` raises)."""
        return next((year for year in self.years if year.roc_year == roc_year), None)

    def last_started_term(self, today: dt.date | None = None) -> Term | None:
        return last_started(self.terms, today)

    def windows_ahead(
        self, kinds: Iterable[str], now: dt.datetime, grade: int | None = None
    ) -> list[Window]:
        """Windows of ``kinds`` not yet over at ``now`` (for ``grade``: theirs and those for
        every grade), by opening time."""
        kinds = set(kinds)
        return [
            window
            for window in self.windows
            if window.kind in kinds
            and window.ends_at > now
            and (grade is None or window.grade is None or window.grade == grade)
        ]


_lock = threading.Lock()
_kept: dict[int, tuple[int, Calendar]] = {}


def _read(school: School) -> Calendar:
    years = tuple(
        SchoolYear.objects.filter(school=school).select_related("policy").order_by("roc_year")
    )
    by_year = {year.pk: year for year in years}
    terms = tuple(Term.objects.filter(school=school).order_by("starts_on"))
    for term in terms:
        term.school_year = by_year[term.school_year_id]
        term.school = school
    by_term = {term.pk: term for term in terms}
    windows = tuple(Window.objects.filter(school=school).order_by("starts_at", "kind"))
    for window in windows:
        window.term = by_term[window.term_id]
        window.school = school
    return Calendar(years=years, terms=terms, windows=windows)


def calendar_of(school: School) -> Calendar:
    """The school's calendar as of ``school.calendar_version`` (read again when it moved)."""
    kept = _kept.get(school.pk)
    if kept is not None and kept[0] == school.calendar_version:
        return kept[1]
    calendar = _read(school)
    with _lock:
        _kept[school.pk] = (school.calendar_version, calendar)
    return calendar


def forget() -> None:
    """Drop every kept calendar (tests start from nothing)."""
    with _lock:
        _kept.clear()


def bump(school_id: int) -> None:
    """The school's calendar changed: call inside the transaction that changed it."""
    School.objects.filter(pk=school_id).update(calendar_version=F("calendar_version") + 1)


def _changed(sender, instance, **kwargs) -> None:
    if instance.school_id is not None:
        bump(instance.school_id)


def connect() -> None:
    for model in (SchoolYear, SchoolPolicy, Term, Window):
        post_save.connect(_changed, sender=model, dispatch_uid=f"calendar-{model.__name__}")
        post_delete.connect(_changed, sender=model, dispatch_uid=f"calendar-{model.__name__}-del")
