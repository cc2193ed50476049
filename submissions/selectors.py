"""Reads that several pages share: everything a student's portfolio shows, in a fixed number
of queries (the student's own page, and their record for staff).

Per school year (newest first) and term: the course outcomes with what the student may do
with each now (or why not, in words), the places used under the caps, and the diverse
performances of the year; above them, the upload windows that concern the student (open
with days left, or the next one), an extension in force included.

The number of queries does not grow with the number of outcomes, performances or files: a
few for the items, and a few per term (or year) whose upload window is open or still to come.
"""

import dataclasses
import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from portfolio.calendar import Calendar, calendar_of
from portfolio.lib import roc
from portfolio.models import SchoolPolicy, SchoolYear, Term, WindowKind
from records.models import Student
from submissions.models import (
    PERFORMANCE_EDITABLE_STATES,
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceSource,
    PerformanceState,
)
from submissions.services.outcomes import (
    SENDABLE_STATES,
    TermSlot,
    credited_enrolments,
    live_term_ids,
    outcome_change_refusal,
    outcome_slots,
)
from submissions.services.windows import UploadWindow, WindowBook, student_grade, upload_window


@dataclasses.dataclass
class OutcomeItem:
    """An outcome with the actions allowed now; ``reason`` says why the others are not."""

    outcome: CourseOutcome
    can_change: bool = False  # edit, replace a file, withdraw
    can_send: bool = False
    reason: str = ""


@dataclasses.dataclass
class TermSection:
    term: Term
    items: list[OutcomeItem]
    withdrawn: list[CourseOutcome]
    cap: int
    slot: TermSlot | None
    has_courses: bool

    @property
    def used(self) -> int:
        return len(self.items)


@dataclasses.dataclass
class PerformanceItem:
    performance: Performance
    can_change: bool = False
    reason: str = ""


@dataclasses.dataclass
class YearSection:
    school_year: SchoolYear
    policy: SchoolPolicy
    terms: list[TermSection]
    performances: list[PerformanceItem]
    withdrawn_performances: list[Performance]
    performance_window: UploadWindow | None

    @property
    def performance_cap(self) -> int:
        return self.policy.performance_upload_cap_per_year

    @property
    def performances_used(self) -> int:
        return sum(1 for item in self.performances if item.performance.counts_toward_cap)

    @property
    def may_add_performance(self) -> bool:
        window = self.performance_window
        return (
            window is not None and window.is_open and self.performances_used < self.performance_cap
        )


@dataclasses.dataclass
class PortfolioPage:
    student: Student
    years: list[YearSection]
    outcome_slots: list[TermSlot]
    performance_windows: list[tuple[SchoolYear, UploadWindow]]

    @property
    def is_empty(self) -> bool:
        return not any(t.items or t.withdrawn for y in self.years for t in y.terms) and not any(
            y.performances or y.withdrawn_performances for y in self.years
        )

    @property
    def may_add_outcome(self) -> bool:
        return any(slot.is_open and not slot.at_cap for slot in self.outcome_slots)

    @property
    def may_add_performance(self) -> bool:
        return any(year.may_add_performance for year in self.years)


# --- what may be done with an item now ----------------------------------------------------


def outcome_item(outcome: CourseOutcome, slot: TermSlot | None) -> OutcomeItem:
    refusal = outcome_change_refusal(outcome, slot.window if slot is not None else None)
    if refusal:
        return OutcomeItem(outcome, reason=refusal)
    return OutcomeItem(outcome, can_change=True, can_send=outcome.state in SENDABLE_STATES)


def _performance_item(performance: Performance, window: UploadWindow | None) -> PerformanceItem:
    if performance.source != PerformanceSource.STUDENT:
        return PerformanceItem(
            performance,
            reason=_(
                "Entered by the school: it does not count toward your limit. Ask the office "
                "that entered it if something is wrong."
            ),
        )
    if performance.state not in PERFORMANCE_EDITABLE_STATES:
        return PerformanceItem(performance)
    if window is None or not window.is_open:
        reason = (
            window.closed_message()
            if window is not None
            else _(
                "The performance-upload window for this school year is over: this item can no "
                "longer be changed."
            )
        )
        return PerformanceItem(performance, reason=reason)
    return PerformanceItem(performance, can_change=True)


# --- the performance windows --------------------------------------------------------------


def _performance_windows(
    student: Student, years: list[SchoolYear], now: dt.datetime, book: WindowBook
) -> dict[int, UploadWindow]:
    """The performance-upload window of each year whose window is open or to come."""
    year_ids = {year.pk for year in years}
    terms = [t for t in calendar_of(student.school).terms if t.school_year_id in year_ids]
    live = live_term_ids(student, WindowKind.PERFORMANCE_UPLOAD, (t.pk for t in terms), now, book)
    windows: dict[int, UploadWindow] = {}
    for year in years:
        year_terms = [t for t in terms if t.school_year_id == year.pk]
        if not any(t.pk in live for t in year_terms):
            continue
        windows[year.pk] = upload_window(
            kind=WindowKind.PERFORMANCE_UPLOAD,
            student=student,
            terms=year_terms,
            grade=student_grade(student, year_terms[0]),
            now=now,
            book=book,
        )
    return windows


# --- the page ------------------------------------------------------------------------------


def _term_section(
    term: Term, outcomes: list[CourseOutcome], slot: TermSlot | None, cap: int, has_courses: bool
) -> TermSection:
    return TermSection(
        term=term,
        items=[outcome_item(o, slot) for o in outcomes if o.state != OutcomeState.WITHDRAWN],
        withdrawn=[o for o in outcomes if o.state == OutcomeState.WITHDRAWN],
        cap=cap,
        slot=slot,
        has_courses=has_courses,
    )


def _year_section(
    year: SchoolYear,
    policy: SchoolPolicy,
    terms: list[TermSection],
    performances: list[Performance],
    window: UploadWindow | None,
) -> YearSection:
    withdrawn = PerformanceState.WITHDRAWN
    return YearSection(
        school_year=year,
        policy=policy,
        terms=terms,
        performances=[_performance_item(p, window) for p in performances if p.state != withdrawn],
        withdrawn_performances=[p for p in performances if p.state == withdrawn],
        performance_window=window,
    )


def _policies(
    student: Student, calendar: Calendar, years: dict[int, SchoolYear]
) -> dict[int, SchoolPolicy]:
    """Each year's policy from the school's calendar (the national defaults for a year
    without one)."""
    kept = {year.pk: year for year in calendar.years}
    found = {}
    for pk, year in years.items():
        policy = getattr(kept.get(pk), "policy", None)
        found[pk] = policy or SchoolPolicy(school=student.school, school_year=year)
    return found


def portfolio_for(student: Student, *, now: dt.datetime) -> PortfolioPage:
    """The student's portfolio page, newest school year first, newest term first."""
    outcomes = list(
        CourseOutcome.objects.filter(student=student, school_id=student.school_id)
        .select_related("enrolment__course__term__school_year", "document", "media", "certified_by")
        .order_by("-created_at", "-id")
    )
    performances = list(
        Performance.objects.filter(student=student, school_id=student.school_id)
        .select_related("school_year", "document", "media")
        .order_by("-created_at", "-id")
    )
    enrolments = credited_enrolments(student)
    # The terms of the student's courses and outcomes, and the years of those and of the
    # performances, with this year always there (its empty state teaches what comes).
    terms = {e.course.term_id: e.course.term for e in enrolments}
    terms.update({o.enrolment.course.term_id: o.enrolment.course.term for o in outcomes})
    years = {t.school_year_id: t.school_year for t in terms.values()}
    years.update({p.school_year_id: p.school_year for p in performances})
    calendar = calendar_of(student.school)
    if current := calendar.year(roc.school_year_of(timezone.localdate(now))):
        years.setdefault(current.pk, current)
    policies = _policies(student, calendar, years)
    book = WindowBook(student, now)
    slots = {
        slot.term.pk: slot
        for slot in outcome_slots(
            student, now=now, enrolments=enrolments, policies=policies, book=book
        )
    }
    windows = _performance_windows(student, list(years.values()), now, book)
    course_terms = {e.course.term_id for e in enrolments}

    sections = []
    for year in sorted(years.values(), key=lambda y: y.roc_year, reverse=True):
        year_terms = [t for t in terms.values() if t.school_year_id == year.pk]
        term_sections = [
            _term_section(
                term,
                [o for o in outcomes if o.enrolment.course.term_id == term.pk],
                slots.get(term.pk),
                policies[year.pk].outcome_upload_cap_per_term,
                term.pk in course_terms,
            )
            for term in sorted(year_terms, key=lambda t: t.number, reverse=True)
        ]
        in_year = [p for p in performances if p.school_year_id == year.pk]
        sections.append(
            _year_section(year, policies[year.pk], term_sections, in_year, windows.get(year.pk))
        )
    return PortfolioPage(
        student=student,
        years=sections,
        outcome_slots=list(slots.values()),
        performance_windows=[(years[pk], window) for pk, window in windows.items()],
    )


def outcome_item_for(outcome: CourseOutcome, *, now: dt.datetime) -> OutcomeItem:
    """One outcome with what its student may do with it now (for its own pages)."""
    slots = outcome_slots(outcome.student, now=now, enrolments=[outcome.enrolment])
    return outcome_item(outcome, slots[0] if slots else None)
