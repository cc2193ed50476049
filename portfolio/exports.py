"""Lists as xlsx downloads: every list staff see can be exported (UX.md)."""

import datetime as dt
import decimal
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _plain(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date | int | float | decimal.Decimal | bool):
        return value
    text = str(value)
    # A cell starting with = + - @ would be read as a formula by spreadsheet programs.
    return "'" + text if text[:1] in {"=", "+", "-", "@"} and not _is_number(text) else text


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
    ws = book.create_sheet(title=sheet[:31])
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(ws, value=str(title))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        ws.append([_plain(value) for value in row])
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    book.save(response)
    return response
