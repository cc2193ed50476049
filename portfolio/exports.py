"""Lists as xlsx downloads: every list staff see can be exported (UX.md).

What a worksheet cannot hold is left out rather than failing the download: control
characters in a cell (forms and imports refuse them now, but rows saved before may hold
them) and the characters a sheet's name may not have (a club named 籃球/排球).
"""

import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.workbook.child import INVALID_TITLE_REGEX

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plain(value: Any) -> Any:
    if value is None or value == "":
        return None  # no cell at all: a blank costs nothing to write
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date | int | float | decimal.Decimal | bool):
        return value
    text = _cell_text(str(value))
    # A cell starting with = + - @ would be read as a formula by spreadsheet programs.
    return "'" + text if text[:1] in {"=", "+", "-", "@"} and not _is_number(text) else text


def _cell_text(text: str) -> str:
    """``text`` without the control characters a worksheet cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _sheet_title(title: str) -> str:
    """A sheet's name as Excel allows it: no \\ / * ? : [ ], at most 31 characters."""
    return INVALID_TITLE_REGEX.sub(" ", _cell_text(title)).strip()[:31] or "Sheet"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def xlsx_response(
    *, filename: str, sheet: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """An attachment with one sheet: a bold header row, then ``rows`` (streamed in)."""
    book = Workbook(write_only=True)
    add_sheet(book, title=str(sheet), headers=headers, rows=rows)
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    book.save(response)
    return response


def add_sheet(
    book: Workbook,
    *,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    bold: bool = True,
) -> None:
    """A sheet of a write-only ``book``: the header row (bold unless told), then ``rows``,
    streamed in, each value as a worksheet can hold it."""
    ws = book.create_sheet(title=_sheet_title(title))
    header_cells = []
    for text in headers:
        cell = WriteOnlyCell(ws, value=_cell_text(str(text)))
        if bold:
            cell.font = Font(bold=True)
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        ws.append([_plain(value) for value in row])
