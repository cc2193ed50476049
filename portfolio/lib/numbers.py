"""Whole numbers read from requests and files: ids in addresses, forms and headers, page
numbers, years, numbers in import cells.

Only ASCII digits count: ``str.isdigit`` accepts "²" (which ``int`` then refuses) and
"٣" (which ``int`` reads as 3). And only a few of them: ``int`` refuses more than 4,300
digits, and an id past 2**63 - 1 overflows the database (PostgreSQL's bigint, SQLite's
INTEGER). Anything else is no number: the caller answers 404, shows the page without the
filter, or says what is wrong with the field or cell.
"""

import re
from collections.abc import Iterable

MAX_ID = 2**63 - 1  # the largest key of a BigAutoField, on PostgreSQL and SQLite alike
MAX_LENGTH = 40  # characters of a number, leading zeros and sign included
_WHOLE = re.compile(r"[0-9]+", re.ASCII)
_SIGNED = re.compile(r"[+-]?[0-9]+", re.ASCII)


def whole_number(text: object, *, signed: bool = False) -> int | None:
    """``text`` as a whole number, or None: ASCII digits (after a + or - when ``signed``),
    no spaces, at most ``MAX_LENGTH`` characters. No bounds: see ``parse_int``."""
    if not isinstance(text, str) or len(text) > MAX_LENGTH:
        return None
    if not (_SIGNED if signed else _WHOLE).fullmatch(text):
        return None
    return int(text)


def parse_int(text: object, *, low: int = 0, high: int = MAX_ID) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``, or None; a sign is read only
    when ``low`` is negative."""
    number = whole_number(text, signed=low < 0)
    return number if number is not None and low <= number <= high else None


def parse_id(text: object) -> int | None:
    """A primary key (1 to ``MAX_ID``) from an address, a form or a header, or None."""
    return parse_int(text, low=1)


def parse_ids(texts: Iterable[object]) -> set[int]:
    """The primary keys among ``texts`` (a ticked list), the others left out."""
    return {pk for pk in map(parse_id, texts) if pk is not None}
