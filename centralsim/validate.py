"""The simulated central database's check of a received roster file (CENTRAL-FORMAT.md
sections 1-9) and of the files zip that goes beside rosters 25 and 26/28.

Pure functions over a file object: no database, no models. A workbook is read with
openpyxl in read-only mode, one row at a time, so a roster of 50,000 rows is never held
whole; a zip's members are hashed in chunks.

What the workbook must be (``validate_workbook``):

- the first sheet ``封面`` with 學校代碼, 學年度, 學期, 名冊別 in row 1 and the values in
  row 2, matching what the upload's FileInfo claimed (``Expected``); 學期 is 0 for the
  yearly rosters (25, 26, 28 and grade 12's batch codes) and 1 or 2 for the others;
- a roster code the year's specification knows (``submissions.central``), and then exactly
  the data sheets the platform writes for it, in order, each with its header row (the key
  身分證號, 出生日期 first); a sheet missing, extra or with another header is reported and
  its rows are not read;
- per data row: a national-ID (or resident-certificate) number with a good check digit, a
  7-digit ROC birth date that exists, every other ``…日期`` a 7-digit ROC date when filled,
  a 23-character course code, 實際修課學期 as year and term (1141, not after the cover's
  year), 幹部等級 1 to 3, scores from 0 to 100 (a make-up score may be -1, absent), and no
  row twice (``Sheet.unique``).

The real central database's rules are not public (section 12): these are the ones the
public sources show, and the messages imitate its answers (data, not interface text).
Problems stop at ``limit``; one more says that the rest were not listed.
"""

import codecs
import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal, InvalidOperation
from types import ModuleType
from typing import Any, BinaryIO
from xml.etree.ElementTree import ParseError

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from portfolio.lib import course_code, national_id
from portfolio.lib.roc import parse_roc_date
from submissions.central import spec_for
from submissions.services.packages import MANIFEST_COLUMNS, MANIFEST_NAME

VALUE_CHARS = 100
HASH_CHUNK = 64 * 1024

ID_COLUMN = "身分證號"
BIRTH_COLUMN = "出生日期"
COURSE_CODE_COLUMN = "課程代碼"
TERM_TAKEN_COLUMN = "實際修課學期"
CADRE_LEVEL_COLUMN = "幹部等級"
DATE_SUFFIX = "日期"
# Scores from 0 to 100; a make-up score may also be the absent mark -1 (section 4).
SCORE_COLUMNS = ("學期學業成績", "學年學業成績")
MAKEUP_SCORE_COLUMNS = ("補考成績",)
ABSENT_SCORE = Decimal(-1)
# Filled on every row of a sheet that has the column.
REQUIRED_COLUMNS = (ID_COLUMN, BIRTH_COLUMN, COURSE_CODE_COLUMN, TERM_TAKEN_COLUMN,
                    CADRE_LEVEL_COLUMN)  # fmt: skip

# Read errors of a file that is not a workbook, or a damaged one.
UNREADABLE = (
    zipfile.BadZipFile, zipfile.LargeZipFile, InvalidFileException, KeyError, OSError,
    ValueError, TypeError, EOFError, ParseError, zlib.error,
)  # fmt: skip
_ROC_DATE = re.compile(r"^\d{7}$")
_TERM_TAKEN = re.compile(r"^(\d{2,3})([12])$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_DRIVE = re.compile(r"^[A-Za-z]:")

COURSE_CODE_MESSAGES = {
    "length": "課程代碼應為23碼",
    "shape": "課程代碼格式錯誤",
    "category": "課程代碼之課程類別代碼不存在",
    "attribute": "課程代碼之科目屬性代碼不存在",
}


@dataclasses.dataclass(frozen=True)
class Problem:
    roster: int | str  # 名冊別 as read ("" when the cover is unreadable)
    row: int | None  # 1-based worksheet row (header row 1); None for the whole file
    sheet: str  # "" for the whole file
    field: str  # the column, "" if none
    value: str  # the offending value as text, at most VALUE_CHARS characters
    message: str  # as the central database would say it
    code: str  # our short code, such as E_ID_CHECKSUM


@dataclasses.dataclass(frozen=True)
class Expected:
    """What the upload's FileInfo claimed."""

    school_code: str
    roc_year: int
    term: int
    roster: int


@dataclasses.dataclass(frozen=True)
class Sheet:
    """A data sheet of a roster: its name, the header rows accepted (key included) and the
    columns that identify a row (none: rows may repeat)."""

    name: str
    headers: tuple[tuple[str, ...], ...]
    unique: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Layout:
    """What a roster code's workbook holds."""

    sheets: tuple[Sheet, ...]
    yearly: bool  # the cover's 學期 is 0


def roster_layout(spec: ModuleType, roster: int) -> Layout | None:
    """The sheets the platform writes for ``roster`` under ``spec`` (None: not a roster the
    specification knows). Grade 12's batch codes (34, 35, ...) are their roster's sheets."""
    ordinary = {
        batch_code: code
        for codes in spec.BATCH_ROSTERS.values()
        for code, batch_code in codes.items()
    }
    base = ordinary.get(roster, roster)

    def sheet(name: str, *column_sets: tuple[str, ...], unique: tuple[str, ...] = ()) -> Sheet:
        return Sheet(name, tuple((*spec.KEY_COLUMNS, *columns) for columns in column_sets), unique)

    # The grade roster accepts the day or the continuing-education division's columns.
    grades = sheet(spec.GRADE_SHEET, *spec.GRADE_COLUMNS.values(),
                   unique=(ID_COLUMN, COURSE_CODE_COLUMN))  # fmt: skip
    # A student may send more than one outcome of a course (each is a row of its own), so
    # the outcome sheets have no duplicate rule; the grades sheet has one row per course.
    outcome_unique: tuple[str, ...] = ()
    sheets = {
        spec.STUDENTS_ROSTER: (sheet(spec.STUDENT_SHEET, spec.STUDENT_COLUMNS),),
        spec.GRADES_ROSTER: (grades,),
        spec.CADRES_ROSTER: (sheet(spec.CADRE_SHEET, spec.CADRE_COLUMNS),),
        spec.PERFORMANCES_ROSTER: tuple(
            sheet(name, columns) for name, columns in spec.PERFORMANCE_SHEETS.items()
        ),
        spec.OUTCOMES_ROSTER: (
            sheet(spec.OUTCOME_SHEET, spec.OUTCOME_COLUMNS, unique=outcome_unique),
        ),
        spec.CONTINUING_OUTCOMES_ROSTER: (
            sheet(spec.OUTCOME_SHEET, spec.CONTINUING_OUTCOME_COLUMNS, unique=outcome_unique),
        ),
    }.get(base)
    if sheets is None:
        return None
    per_term = {spec.STUDENTS_ROSTER, spec.GRADES_ROSTER, spec.CADRES_ROSTER}
    return Layout(sheets, yearly=roster in ordinary or base not in per_term)


# --- collecting problems ----------------------------------------------------------------------


class _TooMany(Exception):
    """The limit is reached: the check stops."""


class _Problems:
    def __init__(self, limit: int, roster: int | str) -> None:
        self.found: list[Problem] = []
        self.limit = max(limit, 0)
        self.roster = roster

    def add(
        self,
        code: str,
        message: str,
        *,
        row: int | None = None,
        sheet: str = "",
        field: str = "",
        value: Any = "",
        roster: int | str | None = None,
    ) -> None:
        if len(self.found) >= self.limit:
            self.found.append(
                Problem(self.roster, None, "", "", "",
                        f"錯誤超過{self.limit}筆，其餘錯誤未列出", "E_TOO_MANY")
            )  # fmt: skip
            raise _TooMany
        self.found.append(
            Problem(
                self.roster if roster is None else roster,
                row,
                sheet,
                field,
                _text(value)[:VALUE_CHARS],
                message,
                code,
            )
        )


def _text(value: Any) -> str:
    """A cell's value as the central database would read its text ("" for no value)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _as_read(text: str) -> int | str:
    """A code as read: a number when it is one, else the text."""
    return int(text) if text.strip().isdigit() else text


def _header(cells: Iterable[Any]) -> tuple[str, ...]:
    texts = [_text(cell) for cell in cells]
    while texts and not texts[-1]:
        texts.pop()
    return tuple(texts)


# --- checks of one value: (code, message) or None ----------------------------------------------

Finding = tuple[str, str] | None


def id_problem(text: str) -> Finding:
    kind = national_id.problem(text)
    if kind == "checksum":
        return "E_ID_CHECKSUM", "身分證號檢查碼錯誤"
    if kind is not None or text != national_id.normalize(text):
        return "E_ID_FORMAT", "身分證號格式錯誤（英文字母大寫，不含空白）"
    return None


def date_problem(text: str) -> Finding:
    if not _ROC_DATE.match(text):
        return "E_DATE", "日期格式錯誤，應為7碼民國年月日（如0980501）"
    try:
        parse_roc_date(text)
    except ValueError:
        return "E_DATE", "日期不存在"
    if int(text[:3]) == 0:
        return "E_DATE", "日期不存在"
    return None


def course_code_problem(text: str) -> Finding:
    # Shape only: the code's school may be another school's (courses taken elsewhere).
    kinds = ["shape"] if text != course_code.normalize(text) else course_code.problems(text)
    if not kinds:
        return None
    return "E_COURSE_CODE", "；".join(COURSE_CODE_MESSAGES[kind] for kind in kinds)


def _term_problem_for(roc_year: int) -> Callable[[str], Finding]:
    def term_problem(text: str) -> Finding:
        match = _TERM_TAKEN.match(text)
        if not match or int(match.group(1)) == 0:
            return "E_TERM", "實際修課學期格式錯誤，應為學年度加學期（如1141）"
        if int(match.group(1)) > roc_year:
            return "E_TERM", "實際修課學期晚於名冊之學年度"
        return None

    return term_problem


def _levels_problem(levels: Sequence[str]) -> Callable[[str], Finding]:
    def level_problem(text: str) -> Finding:
        if text not in levels:
            return "E_CADRE_LEVEL", f"幹部等級應為{levels[0]}至{levels[-1]}"
        return None

    return level_problem


def _score_problem(*, absent_allowed: bool) -> Callable[[str], Finding]:
    def score_problem(text: str) -> Finding:
        try:
            score = Decimal(text.strip())
        except InvalidOperation:
            score = Decimal("NaN")
        if absent_allowed and score == ABSENT_SCORE:
            return None
        if not score.is_finite() or not 0 <= score <= 100:
            absent = "（未參加為-1）" if absent_allowed else ""
            return "E_SCORE", f"成績應為0至100之數值{absent}"
        return None

    return score_problem


# --- the workbook ---------------------------------------------------------------------------------


def validate_workbook(file: BinaryIO, expected: Expected, *, limit: int = 1000) -> list[Problem]:
    """What is wrong with the roster workbook ``file``, as the central database would say it
    (empty: accepted)."""
    problems = _Problems(limit, "")
    try:
        book = load_workbook(file, read_only=True, data_only=True)
    except UNREADABLE:
        problems.add("E_NOT_XLSX", "檔案無法開啟，非有效之Excel（.xlsx）檔案")
        return problems.found
    try:
        _check_workbook(book, expected, problems)
    except _TooMany:
        pass
    except (zipfile.BadZipFile, EOFError, OSError, ParseError, zlib.error):
        # A part of the file is damaged: what was found so far stands.
        problems.found.append(
            Problem(problems.roster, None, "", "", "", "檔案內容損毀，無法讀取", "E_NOT_XLSX")
        )
    finally:
        book.close()
    return problems.found


def _check_workbook(book: Any, expected: Expected, problems: _Problems) -> None:
    spec = spec_for(expected.roc_year)
    checked = _check_cover(book, spec, expected, problems)
    if checked is None:
        return
    layout, roc_year = checked
    names = list(book.sheetnames[1:])
    wanted = [sheet.name for sheet in layout.sheets]
    for name in wanted:
        if name not in names:
            problems.add("E_SHEET", f"缺少工作表「{name}」", sheet=name)
    for name in names:
        if name not in wanted:
            problems.add("E_SHEET", f"工作表「{name}」名稱錯誤或不屬於此名冊", sheet=name)
    present = [name for name in wanted if name in names]
    if [name for name in names if name in wanted] != present:
        problems.add("E_SHEET", f"工作表順序錯誤，應為：{'、'.join(present)}")
    for sheet in layout.sheets:
        if sheet.name in names:
            _check_sheet(book[sheet.name], sheet, spec, roc_year, problems)


def _check_cover(
    book: Any, spec: ModuleType, expected: Expected, problems: _Problems
) -> tuple[Layout, int] | None:
    """The cover's problems; when the sheets can be checked, the roster's layout and the
    school year the rows belong to (the cover's, else the one claimed)."""
    cover_name = spec.COVER_SHEET
    columns = tuple(spec.COVER_COLUMNS)
    first = book.sheetnames[0] if book.sheetnames else ""
    if first != cover_name:
        problems.add("E_COVER_SHEET", f"第一個工作表應為「{cover_name}」", value=first)
        return None
    cover = book[cover_name]
    cover.reset_dimensions()  # the stored size may be wrong: read to the real end
    rows = cover.iter_rows(min_row=1, max_row=2, values_only=True)
    header = _header(next(rows, ()))
    if header != columns:
        problems.add("E_COVER_HEADER", f"封面欄位應為：{'、'.join(columns)}", row=1,
                     sheet=cover_name, value="、".join(header))  # fmt: skip
        return None
    cells = [_text(cell) for cell in next(rows, ())]
    values = dict(zip(columns, [*cells, "", "", "", ""], strict=False))
    if not any(values.values()):
        problems.add("E_COVER_EMPTY", "封面缺少學校代碼、學年度、學期、名冊別資料", row=2,
                     sheet=cover_name)  # fmt: skip
        return None
    school, year, term, roster_text = (values[column] for column in columns)
    problems.roster = _as_read(roster_text)

    def cover_problem(code: str, message: str, column: str, value: str) -> None:
        problems.add(code, message, row=2, sheet=cover_name, field=column, value=value)

    if school != expected.school_code:
        cover_problem("E_COVER_SCHOOL", "封面學校代碼與上傳單位不符", columns[0], school)
    if _as_read(year) != expected.roc_year:
        cover_problem("E_COVER_YEAR", "封面學年度與上傳資料不符", columns[1], year)
    roster = problems.roster
    layout = roster_layout(spec, roster) if isinstance(roster, int) else None
    if _as_read(term) != expected.term:
        cover_problem("E_COVER_TERM", "封面學期與上傳資料不符", columns[2], term)
    elif layout is not None and (_as_read(term) == 0) != layout.yearly:
        message = "學年名冊之學期應為0" if layout.yearly else "學期名冊之學期應為1或2"
        cover_problem("E_COVER_TERM", message, columns[2], term)
    elif layout is None and _as_read(term) not in (0, 1, 2):
        cover_problem("E_COVER_TERM", "學期應為0、1或2", columns[2], term)
    if layout is None:
        cover_problem("E_ROSTER", "名冊別代碼錯誤", columns[3], roster_text)
    elif roster != expected.roster:
        cover_problem("E_COVER_ROSTER", "封面名冊別與上傳資料不符", columns[3], roster_text)
    if layout is None:
        return None
    read_year = _as_read(year)
    return layout, read_year if isinstance(read_year, int) else expected.roc_year


def _value_checks(
    columns: tuple[str, ...], spec: ModuleType, roc_year: int, sheet_name: str = ""
) -> list[tuple[int, str, Callable[[str], Finding]]]:
    """(position, column, check) for every column of a sheet that has a rule."""
    checks: list[tuple[int, str, Callable[[str], Finding]]] = []
    for index, column in enumerate(columns):
        check: Callable[[str], Finding] | None = None
        if column == ID_COLUMN:
            check = id_problem
        elif column.endswith(DATE_SUFFIX):
            check = date_problem
        elif column == COURSE_CODE_COLUMN:
            check = course_code_problem
        elif column == TERM_TAKEN_COLUMN:
            check = _term_problem_for(roc_year)
        elif column == CADRE_LEVEL_COLUMN and sheet_name == spec.CADRE_SHEET:
            # Roster 24's levels are 1 to 3 in the 108 data; what roster 25's cadre sheet
            # takes is not known, so its levels (1 to 5 on the platform) are not checked.
            check = _levels_problem(spec.CADRE_LEVELS)
        elif column in SCORE_COLUMNS:
            check = _score_problem(absent_allowed=False)
        elif column in MAKEUP_SCORE_COLUMNS:
            check = _score_problem(absent_allowed=True)
        if check is not None:
            checks.append((index, column, check))
    return checks


def _check_sheet(
    worksheet: Any, sheet: Sheet, spec: ModuleType, roc_year: int, problems: _Problems
) -> None:
    worksheet.reset_dimensions()  # the stored size may be wrong: read to the real end
    rows: Iterator[tuple[Any, ...]] = worksheet.iter_rows(values_only=True)
    header = _header(next(rows, ()))
    if header not in sheet.headers:
        _header_problem(sheet, header, problems)
        return
    width = len(header)
    required = [(i, column) for i, column in enumerate(header) if column in REQUIRED_COLUMNS]
    checks = _value_checks(header, spec, roc_year, sheet.name)
    unique = [header.index(column) for column in sheet.unique]
    seen: dict[tuple[str, ...], int] = {}
    for number, cells in enumerate(rows, start=2):
        texts = [_text(cell) for cell in cells[:width]]
        if not any(text.strip() for text in texts):
            continue  # an empty row is no row
        texts += [""] * (width - len(texts))
        for index, column in required:
            if not texts[index].strip():
                problems.add(
                    "E_REQUIRED", f"{column}為必填", row=number, sheet=sheet.name, field=column
                )
        for index, column, check in checks:
            text = texts[index]
            found = check(text) if text.strip() else None
            if found is not None:
                problems.add(*found, row=number, sheet=sheet.name, field=column, value=text)
        if unique:
            key = tuple(texts[i].strip().upper() for i in unique)
            if all(key):
                first = seen.setdefault(key, number)
                if first != number:
                    problems.add(
                        "E_DUPLICATE",
                        f"資料重複：{'、'.join(sheet.unique)}與第{first}列相同",
                        field=sheet.unique[-1],
                        row=number,
                        sheet=sheet.name,
                        value="、".join(texts[i] for i in unique),
                    )


def _header_problem(sheet: Sheet, header: tuple[str, ...], problems: _Problems) -> None:
    """The first column where ``header`` parts from the nearest accepted header."""
    wanted = max(sheet.headers, key=lambda h: sum(a == b for a, b in zip(h, header, strict=False)))
    position = next(
        (i for i, (a, b) in enumerate(zip(wanted, header, strict=False)) if a != b),
        min(len(wanted), len(header)),
    )
    field = wanted[position] if position < len(wanted) else ""
    value = header[position] if position < len(header) else ""
    choices = "；或".join("、".join(h) for h in sheet.headers)
    problems.add("E_HEADER", f"工作表「{sheet.name}」欄位名稱或順序錯誤，應為：{choices}",
                 row=1, sheet=sheet.name, field=field, value=value)  # fmt: skip


# --- the files zip ------------------------------------------------------------------------------


def validate_files_zip(file: BinaryIO, expected: Expected, *, limit: int = 1000) -> list[Problem]:
    """What is wrong with the files zip sent beside roster 25 or 26/28: its manifest.csv
    must name every member, with its size and sha256 (empty: accepted)."""
    problems = _Problems(limit, expected.roster)
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        problems.add("E_NOT_ZIP", "檔案無法開啟，非有效之zip壓縮檔")
        return problems.found
    try:
        with archive:
            _check_zip(archive, expected, problems)
    except _TooMany:
        pass
    return problems.found


def unsafe_path(name: str) -> bool:
    """A member name that could land outside the folder it is extracted to."""
    return (
        not name
        or name.startswith(("/", "\\"))
        or bool(_DRIVE.match(name))
        or "\\" in name
        or ".." in name.split("/")
    )


def _check_zip(archive: zipfile.ZipFile, expected: Expected, problems: _Problems) -> None:
    members = Counter(info.filename for info in archive.infolist())
    for name, count in members.items():
        if unsafe_path(name):
            problems.add("E_ZIP_PATH", "壓縮檔內之檔案路徑不得為絕對路徑或含有「..」", value=name)
        if count > 1:
            problems.add("E_DUPLICATE", "壓縮檔內有重複之檔名", value=name)
    if MANIFEST_NAME not in members:
        problems.add("E_MANIFEST_MISSING", f"壓縮檔內缺少{MANIFEST_NAME}")
        return
    spec = spec_for(expected.roc_year)
    layout = roster_layout(spec, expected.roster)
    sheets = {sheet.name for sheet in layout.sheets} if layout else set()
    named: set[str] = set()
    try:
        with archive.open(MANIFEST_NAME) as raw:
            has_bom = raw.read(len(codecs.BOM_UTF8)) == codecs.BOM_UTF8
        if not has_bom:
            problems.add("E_MANIFEST_ENCODING", f"{MANIFEST_NAME}應為含BOM之UTF-8編碼",
                         sheet=MANIFEST_NAME)  # fmt: skip
        # Closing the text wrapper closes the member.
        manifest = archive.open(MANIFEST_NAME)
        with io.TextIOWrapper(manifest, encoding="utf-8-sig", newline="") as text:
            lines = csv.reader(text)
            header = next(lines, [])
            if tuple(header) != MANIFEST_COLUMNS:
                problems.add("E_MANIFEST_HEADER",
                             f"{MANIFEST_NAME}欄位應為：{'、'.join(MANIFEST_COLUMNS)}",
                             row=1, sheet=MANIFEST_NAME, value="、".join(header))  # fmt: skip
                return
            start = lines.line_num + 1
            for line in lines:
                if line:
                    _check_line(archive, members, line, start, expected, sheets, named,
                                problems)  # fmt: skip
                start = lines.line_num + 1
    except UnicodeDecodeError:
        problems.add("E_MANIFEST_ENCODING", f"{MANIFEST_NAME}應為含BOM之UTF-8編碼",
                     sheet=MANIFEST_NAME)  # fmt: skip
        return
    except (csv.Error, zipfile.BadZipFile, EOFError, OSError, zlib.error):
        problems.add("E_MANIFEST_FORMAT", f"{MANIFEST_NAME}內容損毀或格式錯誤", sheet=MANIFEST_NAME)
        return
    for name in members:
        if name != MANIFEST_NAME and name not in named and not unsafe_path(name):
            problems.add("E_FILE_EXTRA", f"壓縮檔內之檔案未列於{MANIFEST_NAME}", value=name)


def _check_line(
    archive: zipfile.ZipFile,
    members: Counter[str],
    line: list[str],
    number: int,
    expected: Expected,
    sheets: set[str],
    named: set[str],
    problems: _Problems,
) -> None:
    """One manifest line: its fields, then the file it names (hashed in chunks)."""
    if len(line) != len(MANIFEST_COLUMNS):
        problems.add("E_MANIFEST_ROW", f"欄位數應為{len(MANIFEST_COLUMNS)}", row=number,
                     sheet=MANIFEST_NAME, value=",".join(line))  # fmt: skip
        return
    fields = dict(zip(MANIFEST_COLUMNS, line, strict=True))
    path, sha256, size, roster, sheet, nid, birth, _item = line
    path_column, sha_column, size_column, roster_column, sheet_column = MANIFEST_COLUMNS[:5]
    read_roster = _as_read(roster)

    def add(code: str, message: str, column: str) -> None:
        problems.add(code, message, row=number, sheet=MANIFEST_NAME, field=column,
                     value=fields[column], roster=read_roster)  # fmt: skip

    if read_roster != expected.roster:
        add("E_MANIFEST_ROSTER", "名冊別與上傳資料不符", roster_column)
    if sheet not in sheets:
        add("E_MANIFEST_SHEET", "工作表不屬於此名冊", sheet_column)
    for column, check in ((ID_COLUMN, id_problem), (BIRTH_COLUMN, date_problem)):
        if not fields[column].strip():
            add("E_REQUIRED", f"{column}為必填", column)
        elif (found := check(fields[column])) is not None:
            add(*found, column)
    if unsafe_path(path):
        add("E_ZIP_PATH", "檔案路徑不得為絕對路徑或含有「..」", path_column)
        return
    if path in named:
        add("E_DUPLICATE", f"{MANIFEST_NAME}重複列出同一檔案", path_column)
        return
    named.add(path)
    if path == MANIFEST_NAME or path not in members:
        add("E_FILE_MISSING", "壓縮檔內找不到此檔案", path_column)
        return
    info = archive.getinfo(path)
    if not size.isdigit():
        add("E_FILE_SIZE", "位元組應為整數", size_column)
    elif int(size) != info.file_size:
        add("E_FILE_SIZE", f"檔案大小不符（實際{info.file_size}位元組）", size_column)
    if not _SHA256.match(sha256):
        add("E_FILE_SHA", "sha256格式錯誤，應為64位十六進位", sha_column)
        return
    try:
        actual = _sha256_of(archive, info)
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError,
            zlib.error):  # fmt: skip
        add("E_FILE_UNREADABLE", "檔案損毀或無法讀取", path_column)
        return
    if actual != sha256.lower():
        add("E_FILE_SHA", "檔案sha256不符", sha_column)


def _sha256_of(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> str:
    digest = hashlib.sha256()
    with archive.open(info) as member:
        while block := member.read(HASH_CHUNK):
            digest.update(block)
    return digest.hexdigest()
