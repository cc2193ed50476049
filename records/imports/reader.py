"""Rows of an uploaded file, streamed: an Excel workbook (.xlsx) or a CSV file.

CSV comes in UTF-8 (with or without a byte-order mark) or, as Taiwanese school systems
export it, in Big5 (CP950): the encoding is found by decoding the whole file once,
incrementally, before the rows are read. A file that no encoding decodes whole is read in
the one that decodes most of its first lines, so the rows that break it are reported cell
by cell; a file that none decodes from its first line is no text at all.

A row the csv module refuses (a cell longer than its limit of 131,072 characters, more
than any column holds) comes as a row without cells, for the import to report on its row.

Workbook sheets are read with the standard library's streaming XML parser (expat, in
C) rather than openpyxl's read-only worksheets: on this project's machines openpyxl
took about 10 s for 45,000 rows of 10 columns, this reader about 2 s, in constant
memory either way. openpyxl still supplies its shared-string and date-format helpers.

The header row is the first row, among the first ``HEADER_SEARCH_ROWS``, that holds
one of the import's column names (a title row above it is skipped); in a workbook of
several sheets (the central database's rosters put a cover sheet 封面 first), the sheet
whose header matches most column names is read.
"""

import codecs
import contextlib
import csv
import dataclasses
import datetime as dt
import io
import posixpath
import re
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from typing import IO, BinaryIO
from xml.etree.ElementTree import iterparse

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900, from_excel

from records.imports.values import Cell

HEADER_SEARCH_ROWS = 10
CSV_ENCODINGS = ("utf-8", "cp950", "big5hkscs")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls
MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
OFFICE_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
PACKAGE_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
# Built-in number formats that show dates: 14-22 and 45-47 everywhere, 27-36 and 50-58
# in East Asian versions of Excel (民國 dates among them).
_V = f"{MAIN}v"
_IS = f"{MAIN}is"
DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}


class FileProblem(Exception):
    """The file as a whole cannot be read; ``code`` is a message code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# What a damaged workbook raises while it is read: bad XML (ParseError is a SyntaxError),
# a damaged zip, a missing part.
UNREADABLE = (SyntaxError, zipfile.BadZipFile, zlib.error, EOFError, KeyError)
Row = tuple[int, list[Cell] | None]  # None: a row the csv module could not read
Scorer = Callable[[list[str]], int]


@dataclasses.dataclass
class Table:
    """The rows under the header row of the chosen sheet (or of the CSV file)."""

    headers: list[str]
    header_row: int
    rows: Iterator[Row]
    sheet: str = ""
    encoding: str = ""
    done: Callable[[], float] = lambda: 0.0  # share of the file read so far, for progress


def normalize_header(value: Cell) -> str:
    """Header text without spaces, tabs, full-width spaces or a byte-order mark."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return re.sub(r"[\s\u3000\ufeff]+", "", _unescape(text))


def open_table(stream: BinaryIO, *, score: Scorer, name: str = "") -> Table:
    """Open ``stream`` (binary, seekable) as a table; FileProblem when it is no table.

    ``name`` is the uploaded file's name: a file named .xlsx that is neither a workbook
    nor text is said to be no workbook (often another file renamed)."""
    head = stream.read(8)
    stream.seek(0)
    if head.startswith(OLE_MAGIC):
        raise FileProblem("file_xls")
    if head.startswith(ZIP_MAGIC):
        try:
            return _xlsx_table(stream, score)
        except UNREADABLE as exc:
            raise FileProblem("file_unreadable") from exc
    try:
        if b"\x00" in head:
            raise FileProblem("file_not_text")
        return _csv_table(stream, score)
    except FileProblem as problem:
        if problem.code == "file_not_text" and name.lower().endswith(WORKBOOK_SUFFIXES):
            raise FileProblem("file_not_workbook") from problem
        raise


def _non_empty(rows: Iterator[Row]) -> Iterator[Row]:
    for number, cells in rows:
        if cells is None or any(cell is not None and str(cell).strip() for cell in cells):
            yield number, cells


def _find_header(rows: Generator[Row, None, None], score: Scorer) -> tuple[int, int, list[str]]:
    """(score, row number, headers) of the header row among the first rows; closes
    ``rows``."""
    first: tuple[int, int, list[str]] | None = None
    with contextlib.closing(rows):
        for index, (number, cells) in enumerate(_non_empty(rows)):
            if index >= HEADER_SEARCH_ROWS:
                break
            if cells is None:
                continue
            headers = [normalize_header(cell) for cell in cells]
            found = (score(headers), number, headers)
            if found[0] > 0:
                return found
            first = first or found
    return first or (0, 0, [])


def _data_rows(rows: Iterator[Row], header_row: int) -> Iterator[Row]:
    for number, cells in _non_empty(rows):
        if number > header_row:
            yield number, cells


# CSV -----------------------------------------------------------------------------------


def _chunks(stream: BinaryIO) -> Generator[bytes, None, None]:
    stream.seek(0)
    try:
        yield from iter(lambda: stream.read(1 << 16), b"")
    finally:
        stream.seek(0)


def detect_encoding(stream: BinaryIO) -> str:
    """UTF-8 (``utf-8-sig`` drops a byte-order mark), else Big5 as CP950, else HKSCS: the
    first that decodes the whole file.

    A file that none decodes whole (a row saved in another encoding) is read in the one
    that decodes the most lines from its start, with replacement characters the import
    reports cell by cell on their rows; FileProblem when none decodes even the first line.
    """
    for encoding in CSV_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            for chunk in _chunks(stream):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return _python_name(encoding)
    lines = {encoding: _lines_decoded(stream, encoding) for encoding in CSV_ENCODINGS}
    best = max(CSV_ENCODINGS, key=lambda encoding: lines[encoding])  # the first on a tie
    if lines[best] == 0:
        raise FileProblem("file_not_text")
    return _python_name(best)


def _python_name(encoding: str) -> str:
    return "utf-8-sig" if encoding == "utf-8" else encoding


def _lines_decoded(stream: BinaryIO, encoding: str) -> int:
    """How many lines from the start of the file decode in ``encoding`` (a line break
    never falls inside a character of these encodings, so lines decode one by one)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    count = 0
    with contextlib.closing(_chunks(stream)) as chunks:
        try:
            for chunk in chunks:
                *ended, rest = chunk.split(b"\n")
                for line_end in ended:
                    decoder.decode(line_end, final=True)
                    count += 1
                decoder.decode(rest)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return count
    return count + 1


def _csv_table(stream: BinaryIO, score: Scorer) -> Table:
    encoding = detect_encoding(stream)
    size = sum(len(chunk) for chunk in _chunks(stream)) or 1

    def rows() -> Generator[Row, None, None]:
        stream.seek(0)
        wrapper = io.TextIOWrapper(stream, encoding=encoding, errors="replace", newline="")
        try:
            first = wrapper.readline()
            delimiter = "\t" if "\t" in first and "," not in first else ","
            reader = csv.reader(_chain_first(first, wrapper), delimiter=delimiter)
            number = 0
            while True:
                number += 1
                try:
                    record = next(reader)
                except StopIteration:
                    return
                except csv.Error:  # the row is reported; the reader goes on with the next
                    yield number, None
                    continue
                yield number, [cell or None for cell in record]
        finally:
            wrapper.detach()  # the stream stays open for the next reading

    _best, header_row, headers = _find_header(rows(), score)
    if not header_row:
        raise FileProblem("file_empty")
    return Table(
        headers=headers,
        header_row=header_row,
        rows=_data_rows(rows(), header_row),
        encoding=encoding,
        done=lambda: min(1.0, stream.tell() / size),
    )


def _chain_first(first: str, rest: io.TextIOWrapper) -> Iterator[str]:
    yield first
    yield from rest


# XLSX ----------------------------------------------------------------------------------


def _xml_events(source, tags: tuple[str, ...] = ()):
    """Elements of a workbook part as they end, streamed; freed once the caller has
    looked at them, so memory stays flat however long the sheet.

    The parts come from staff's own uploads; expat (2.4.1 and later, as Python 3.11
    bundles) refuses entity-expansion bombs, and the parser resolves no external
    entities, so the standard library's parser is safe enough here.
    """
    wanted = set(tags)
    for _event, element in iterparse(source, events=("end",)):  # noqa: S314 - see above
        if not wanted or element.tag in wanted:
            yield element
            element.clear()


def _unescape(text: str) -> str:
    """Excel escapes control characters in text as _xHHHH_ (a tab is _x0009_)."""
    if "_x" not in text:
        return text
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), text)


def _join(base: str, target: str) -> str:
    if target.startswith("/"):
        return target.lstrip("/")
    return posixpath.normpath(posixpath.join(base, target))


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target path) of a part."""
    folder, name = posixpath.split(part)
    rels_path = posixpath.join(folder, "_rels", f"{name}.rels")
    if rels_path not in archive.namelist():
        return {}
    found = {}
    with archive.open(rels_path) as source:
        for element in _xml_events(source, (f"{PACKAGE_REL}Relationship",)):
            found[element.get("Id", "")] = (
                element.get("Type", ""),
                _join(folder, element.get("Target", "")),
            )
    return found


def _text_of(element) -> str:
    """The text of a string item (<si> or <is>): its <t>, or its runs' <t>, without the
    phonetic guides (<rPh>) East Asian files carry."""
    direct = element.find(f"{MAIN}t")
    if direct is not None:
        return _unescape(direct.text or "")
    return _unescape("".join(run.findtext(f"{MAIN}t", "") for run in element.findall(f"{MAIN}r")))


class Workbook:
    """The parts of an xlsx package that rows need: sheets, shared strings, date styles."""

    def __init__(self, stream: BinaryIO) -> None:
        try:
            self.archive = zipfile.ZipFile(stream)
            self._read()
        except (*UNREADABLE, ValueError) as exc:
            raise FileProblem("file_unreadable") from exc

    def _read(self) -> None:
        package = _relationships(self.archive, "")
        workbook_path = next(
            (target for kind, target in package.values() if kind.endswith("/officeDocument")),
            "xl/workbook.xml",
        )
        parts = _relationships(self.archive, workbook_path)
        self.sheets: list[tuple[str, str]] = []
        self.epoch = CALENDAR_WINDOWS_1900
        with self.archive.open(workbook_path) as source:
            for element in _xml_events(source, (f"{MAIN}sheet", f"{MAIN}workbookPr")):
                if element.tag == f"{MAIN}workbookPr":
                    if element.get("date1904", "").lower() in {"1", "true"}:
                        self.epoch = CALENDAR_MAC_1904
                    continue
                kind, target = parts.get(element.get(f"{OFFICE_REL}id", ""), ("", ""))
                if kind.endswith("/worksheet") and target in self.archive.namelist():
                    self.sheets.append((element.get("name", ""), target))
        self.strings: list[str] = []
        self.date_styles: set[int] = set()
        for kind, target in parts.values():
            if kind.endswith("/sharedStrings"):
                with self.archive.open(target) as source:
                    self.strings = [
                        _text_of(element) for element in _xml_events(source, (f"{MAIN}si",))
                    ]
            elif kind.endswith("/styles"):
                self.date_styles = self._date_styles(target)

    def _date_styles(self, path: str) -> set[int]:
        custom: dict[int, str] = {}
        styles: list[int] = []
        with self.archive.open(path) as source:
            for element in _xml_events(source, (f"{MAIN}numFmt", f"{MAIN}cellXfs")):
                if element.tag == f"{MAIN}numFmt":
                    custom[int(element.get("numFmtId", "0"))] = element.get("formatCode", "")
                else:
                    styles = [int(xf.get("numFmtId", "0")) for xf in element.findall(f"{MAIN}xf")]
        found = set()
        for index, format_id in enumerate(styles):
            code = custom.get(format_id, BUILTIN_FORMATS.get(format_id))
            if (code is None and format_id in DATE_FORMAT_IDS) or (
                code is not None and is_date_format(code)
            ):
                found.add(index)
        return found

    def rows(self, path: str, *, counter: "_Counting | None" = None) -> Generator[Row, None, None]:
        with self.archive.open(path) as part:
            source = counter.wrap(part) if counter is not None else part
            number = 0
            for element in _xml_events(source, (f"{MAIN}row",)):
                number = int(element.get("r") or number + 1)
                yield number, self._cells(element)

    def size(self, path: str) -> int:
        return self.archive.getinfo(path).file_size

    def _cells(self, row) -> list[Cell]:
        cells: list[Cell] = []
        value = self._value
        for cell in row:
            reference = cell.get("r")
            if reference is not None:
                index = _column_index(reference)
                if index > len(cells):
                    cells.extend([None] * (index - len(cells)))
            cells.append(value(cell))
        return cells

    def _value(self, cell) -> Cell:
        kind = cell.get("t", "n")
        if kind == "inlineStr":
            found = cell.find(_IS)
            return _text_of(found) if found is not None else None
        found = cell.find(_V)
        raw = found.text if found is not None else None
        if not raw:
            return None
        if kind == "s":
            return self.strings[int(raw)]
        if kind == "n":
            style = cell.get("s")
            if style is not None and int(style) in self.date_styles:
                moment = from_excel(float(raw), self.epoch)
                return moment.date() if isinstance(moment, dt.datetime) else moment
            return _number_text(raw)
        if kind == "d":
            with contextlib.suppress(ValueError):
                return dt.date.fromisoformat(raw[:10])
            return raw
        return _unescape(raw)  # str (a formula's text), b (1/0), e (#N/A and the like)


_COLUMNS: dict[str, int] = {}


def _column_index(reference: str) -> int:
    """0-based column of a cell reference: A1 -> 0, AB12 -> 27."""
    letters = reference.rstrip("0123456789")
    found = _COLUMNS.get(letters)
    if found is None:
        found = -1
        for char in letters.upper():
            found = (found + 1) * 26 + (ord(char) - 65)
        if len(_COLUMNS) < 20_000:
            _COLUMNS[letters] = found
    return found


def _number_text(raw: str) -> str:
    """A number cell as the text a person typed: 5 not 5.0, 78.5 as is."""
    if "E" in raw or "e" in raw:
        try:
            value = float(raw)
        except ValueError:
            return raw
        return str(int(value)) if value.is_integer() else repr(value)
    if raw.endswith(".0"):
        return raw[:-2]
    return raw


def _xlsx_table(stream: BinaryIO, score: Scorer) -> Table:
    book = Workbook(stream)
    if not book.sheets:
        raise FileProblem("file_unreadable")
    best: tuple[tuple[int, int, list[str]], str, str] | None = None
    for name, path in book.sheets:
        found = _find_header(book.rows(path), score)
        if best is None or found[0] > best[0][0]:
            best = (found, name, path)
        if len(book.sheets) == 1:
            break
    assert best is not None  # the loop ran: there is a sheet
    (_score, header_row, headers), name, path = best
    if not header_row:
        raise FileProblem("file_empty")
    counter = _Counting(book.size(path))
    return Table(
        headers=headers,
        header_row=header_row,
        rows=_data_rows(book.rows(path, counter=counter), header_row),
        sheet=name,
        done=counter.done,
    )


class _Counting:
    """A sheet's stream that counts the bytes read from it, for progress."""

    def __init__(self, size: int) -> None:
        self.size = max(1, size)
        self.bytes_read = 0
        self.source: IO[bytes] | None = None

    def wrap(self, source: IO[bytes]) -> "_Counting":
        self.source = source
        return self

    def read(self, size: int = -1) -> bytes:
        assert self.source is not None, "wrap() a stream first"
        data = self.source.read(size)
        self.bytes_read += len(data)
        return data

    def done(self) -> float:
        return min(1.0, self.bytes_read / self.size)
