"""Republic of China (民國) year numbering, as Taiwanese school forms use it.

A school year (學年度) runs from 1 August to 31 July: 114 學年度 is 2025-08-01 to
2026-07-31. Term 1 runs August to January, term 2 February to July.
"""

import datetime as dt
import re

ROC_OFFSET = 1911
_ROC_DATE = re.compile(r"^(\d{2,3})(\d{2})(\d{2})$")


def school_year_of(day: dt.date) -> int:
    """The ROC school year that ``day`` falls in."""
    return day.year - ROC_OFFSET if day.month >= 8 else day.year - ROC_OFFSET - 1


def school_year_bounds(roc_year: int) -> tuple[dt.date, dt.date]:
    first = dt.date(roc_year + ROC_OFFSET, 8, 1)
    last = dt.date(roc_year + ROC_OFFSET + 1, 7, 31)
    return first, last


def term_bounds(roc_year: int, term: int) -> tuple[dt.date, dt.date]:
    """Nominal bounds of a term; schools set their own dates within them."""
    year = roc_year + ROC_OFFSET
    if term == 1:
        return dt.date(year, 8, 1), dt.date(year + 1, 1, 31)
    if term == 2:
        return dt.date(year + 1, 2, 1), dt.date(year + 1, 7, 31)
    raise ValueError(f"term must be 1 or 2, not {term!r}")


def to_roc_date(day: dt.date) -> str:
    """7-digit ROC date as the central database writes it: 2025-01-16 -> '1140116'."""
    return f"{day.year - ROC_OFFSET:03d}{day.month:02d}{day.day:02d}"


def parse_roc_date(text: str) -> dt.date:
    """Parse '1140116' (or the 6-digit form of years below 100) into a date.

    Raises ValueError for text of the wrong shape or a day that does not exist.
    """
    match = _ROC_DATE.match(text.strip())
    if not match:
        raise ValueError(f"not an ROC date: {text!r}")
    year, month, day = (int(part) for part in match.groups())
    return dt.date(year + ROC_OFFSET, month, day)


def current_school_year() -> int:
    """The ROC school year of today in Asia/Taipei (the site's time zone)."""
    from django.utils import timezone

    return school_year_of(timezone.localdate())
