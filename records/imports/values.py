"""Cell values as the central database's files write them, parsed and checked.

A cell arrives as text (CSV, or a text or number cell of a workbook) or as a date (a
workbook cell formatted as a date). Each parser returns the value to store or raises
``CellError`` with a message code of ``records.imports.messages``.
"""

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from portfolio.lib import course_code as course_code_lib
from portfolio.lib import national_id, roc
from portfolio.lib.numbers import whole_number

Cell = str | dt.date | None


class CellError(Exception):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def text(value: Cell) -> str:
    """A cell as trimmed text (full-width spaces too); dates as YYYY-MM-DD."""
    if type(value) is str:
        value = value.strip()
        return value.replace("\u3000", " ").strip() if "\u3000" in value else value
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return text(str(value))


def is_empty(value: Cell) -> bool:
    return value is None or (value.__class__ is str and text(value) == "")


def limited(max_length: int):
    """A parser for free text of at most ``max_length`` characters."""

    def parse(value: Cell) -> str:
        result = text(value)
        if len(result) > max_length:
            raise CellError("too_long", max=max_length, length=len(result))
        return result

    return parse


_ROC_SLASHED = re.compile(r"^(\d{2,3})[/.](\d{1,2})[/.](\d{1,2})$")
_WESTERN = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00)?)?$")
_ROC_DIGITS = re.compile(r"^\d{6,7}$")


def date(value: Cell) -> dt.date:
    """A 7-digit ROC date (1140116; 6 digits for years before 100), 114/01/16, an ISO
    date (2025-01-16 or 2025/01/16), or a workbook date cell."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    raw = text(value)
    if raw.endswith(".0") and _ROC_DIGITS.match(raw[:-2]):
        raw = raw[:-2]  # a number cell written by a spreadsheet as 1140116.0
    try:
        if _ROC_DIGITS.match(raw):
            return roc.parse_roc_date(raw)
        match = _ROC_SLASHED.match(raw)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return dt.date(year + roc.ROC_OFFSET, month, day)
        match = _WESTERN.match(raw)
        if match:
            year, month, day = (int(part) for part in match.groups())
            return dt.date(year, month, day)
    except ValueError as exc:
        raise CellError("date_invalid", value=raw) from exc
    raise CellError("date_shape")


EARLIEST_BIRTH = dt.date(1900, 1, 1)


def birth_date(value: Cell, *, today: dt.date | None = None) -> dt.date:
    day = date(value)
    if day > (today or dt.date.today()):  # noqa: DTZ011 - a date, compared by calendar day
        raise CellError("date_future")
    if day < EARLIEST_BIRTH:
        raise CellError("date_too_old", earliest=EARLIEST_BIRTH.isoformat())
    return day


def national_id_value(value: Cell) -> str:
    normalized = national_id.normalize(text(value))
    problem = national_id.problem(normalized)
    if problem == "empty":
        raise CellError("required")
    if problem == "shape":
        raise CellError("national_id_shape")
    if problem == "checksum":
        raise CellError("national_id_checksum")
    return normalized


_GENDERS = {"1": "1", "2": "2", "男": "1", "女": "2", "M": "1", "F": "2"}


def gender(value: Cell) -> str:
    found = _GENDERS.get(text(value).upper())
    if found is None:
        raise CellError("gender")
    return found


def integer(value: Cell, *, low: int, high: int) -> int:
    raw = text(value)
    if raw.endswith(".0"):
        raw = raw[:-2]
    number = whole_number(raw, signed=True)
    if number is None:
        raise CellError("integer")
    if not low <= number <= high:
        raise CellError("out_of_range", min=low, max=high)
    return number


def bounded_integer(low: int, high: int):
    def parse(value: Cell) -> int:
        return integer(value, low=low, high=high)

    return parse


_GRADES = {"1": 10, "2": 11, "3": 12, "10": 10, "11": 11, "12": 12}


def grade(value: Cell) -> int:
    raw = text(value)
    if raw.endswith(".0"):
        raw = raw[:-2]
    found = _GRADES.get(raw)
    if found is None:
        raise CellError("grade")
    return found


HUNDREDTH = Decimal("0.01")


def score(value: Cell, *, absent_is_none: bool = False) -> Decimal | None:
    """A score from 0 to 100 with at most 2 decimals; ``-1`` means none when allowed."""
    raw = text(value)
    try:
        number = Decimal(raw)
    except InvalidOperation as exc:
        raise CellError("number") from exc
    if not number.is_finite():
        raise CellError("number")
    if absent_is_none and number == -1:
        return None
    if not 0 <= number <= 100:
        raise CellError("out_of_range", min=0, max=100)
    rounded = number.quantize(HUNDREDTH)
    # Spreadsheets store 78.55 as 78.549999999999997: that is still two decimals.
    if abs(number - rounded) > Decimal("1e-9"):
        raise CellError("decimals")
    return rounded


def makeup_score(value: Cell) -> Decimal | None:
    return score(value, absent_is_none=True)


_FLAGS = {
    "1": True,
    "0": False,
    "是": True,
    "否": False,
    "Y": True,
    "N": False,
    "YES": True,
    "NO": False,
    "TRUE": True,
    "FALSE": False,
}


def flag(value: Cell) -> bool:
    found = _FLAGS.get(text(value).upper())
    if found is None:
        raise CellError("flag")
    return found


def counts_credit(value: Cell) -> str:
    raw = text(value)
    if raw.endswith(".0"):
        raw = raw[:-2]
    if raw not in {"1", "2", "3"}:
        raise CellError("counts_credit")
    return raw


def split_names(value: Cell) -> list[str]:
    """Teachers written as 王小明、李大華 or wang, lee (also ，；; and line breaks)."""
    parts = re.split(r"[、,，;；\n]+", text(value))
    return [part.strip() for part in parts if part.strip()]


def class_grade(name: str) -> int | None:
    """Grade from a class name such as 101 or 3年2班: first digit 1, 2, 3 -> 10, 11, 12."""
    match = re.match(r"\D*(\d)", name)
    if not match:
        return None
    return {"1": 10, "2": 11, "3": 12}.get(match.group(1))


def course_code(value: Cell) -> str:
    """A 23-character course code of the right shape (portfolio.lib.course_code)."""
    raw = course_code_lib.normalize(text(value))
    found = course_code_lib.problems(raw)
    if found:
        raise CellError(f"course_code_{found[0]}", length=len(raw))
    return raw
