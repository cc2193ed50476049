"""National rules for the schedule (seed 003: the agency's 2025 letter to schools).

Each check returns the problems it finds as {field: [message]}, empty when the window
is allowed, so that forms, services and imports give the same answer.
"""

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portfolio.lib.roc import school_year_bounds
from portfolio.models import Term, Window, WindowKind
from portfolio.problems import add_problem

OUTCOME_UPLOAD_MIN_AFTER_CLOSING = dt.timedelta(weeks=2)
RECEIPT_MIN_LENGTH = dt.timedelta(days=3)
# A window entered as "from 09:00 on day 1 to 23:59 on day 3" is read as lasting to the
# end of that last minute.
_LAST_MINUTE = dt.timedelta(minutes=1)


def window_problems(
    *,
    term: Term,
    kind: str,
    grade: int | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    self_check_on: dt.date | None,
    batch: int | None = None,
    exclude: Window | None = None,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        add_problem(problems, field, message)

    if ends_at <= starts_at:
        add("ends_at", _("A window must close after it opens."))
        return problems

    year_start = term.school_year.starts_on
    start_day = timezone.localtime(starts_at).date()
    end_day = timezone.localtime(ends_at).date()
    if start_day < year_start:
        add(
            "starts_at",
            _("The window opens before the school year starts (%(day)s).")
            % {"day": date_format(year_start, "Y-m-d")},
        )

    is_last_term_of_grade_12 = grade == 12 and term.number == 2
    if kind == WindowKind.OUTCOME_UPLOAD and not is_last_term_of_grade_12:
        earliest_end = term.closing_day + OUTCOME_UPLOAD_MIN_AFTER_CLOSING
        if end_day < earliest_end:
            add(
                "ends_at",
                _(
                    "National rule: the course-outcome upload window must stay open at least "
                    "2 weeks after the term's closing day (%(closing)s), so it may close no "
                    "earlier than %(earliest)s. Only grade 12's second term is exempt."
                )
                % {
                    "closing": date_format(term.closing_day, "Y-m-d"),
                    "earliest": date_format(earliest_end, "Y-m-d"),
                },
            )

    if (
        kind == WindowKind.RECEIPT_CONFIRMATION
        and ends_at - starts_at + _LAST_MINUTE < RECEIPT_MIN_LENGTH
    ):
        add(
            "ends_at",
            _("National rule: the receipt-confirmation window must last at least 3 days."),
        )

    if self_check_on is not None and not (start_day <= self_check_on <= end_day):
        add(
            "self_check_on",
            _("The self-check date must fall within the window (%(start)s to %(end)s).")
            % {"start": date_format(start_day, "Y-m-d"), "end": date_format(end_day, "Y-m-d")},
        )

    if batch is not None and (kind != WindowKind.SELECTION or grade != 12):
        add("batch", _("Only grade 12's selection windows come in batches (梯次)."))

    overlapping = Window.objects.filter(
        term=term, kind=kind, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if grade is not None:
        # A window for all grades overlaps every grade's window of the same kind.
        overlapping = overlapping.filter(Q(grade=grade) | Q(grade__isnull=True))
    if exclude is not None:
        overlapping = overlapping.exclude(pk=exclude.pk)
    if overlapping.exists():
        add("starts_at", _("Another window of this kind in this term overlaps these dates."))
    return problems


def term_problems(
    *, roc_year: int, number: int, starts_on: dt.date, closing_day: dt.date, ends_on: dt.date
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    first, last = school_year_bounds(roc_year)
    if not (first <= starts_on < ends_on <= last):
        add_problem(
            problems,
            "ends_on",
            _("Term %(term)s must start and end within the school year (%(first)s to %(last)s).")
            % {
                "term": number,
                "first": date_format(first, "Y-m-d"),
                "last": date_format(last, "Y-m-d"),
            },
        )
    if not (starts_on <= closing_day <= ends_on):
        add_problem(problems, "closing_day", _("The closing day must fall within the term."))
    return problems
