"""The simulated central database's check of a roster workbook and its files zip: files
written as the platform writes them pass; every kind of problem is found at its row, column
and code; problems stop at the limit; the zip's manifest must name every member with its size
and sha256. No database: the workbooks are built here from the v108 constants and row helpers
(the platform's real writer needs one)."""

import csv
import dataclasses
import datetime as dt
import hashlib
import io
import re
import zipfile
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from centralsim import validate
from centralsim.validate import Expected
from portfolio.exports import add_sheet
from portfolio.lib import national_id
from portfolio.models import SchoolYear, Term
from records.models import Course, CourseEnrolment
from submissions import performance_categories as categories
from submissions.central import v108
from submissions.models import CourseOutcome, Performance
from submissions.services.packages import MANIFEST_COLUMNS, MANIFEST_NAME, FilesZip
from tests.builders.rosters import valid_id

SCHOOL, YEAR = "123456", 115
BIRTH = v108.roc_date(dt.date(2009, 5, 1))  # "0980501": the leading zero kept
STARTS, ENDS = dt.date(2026, 9, 1), dt.date(2027, 1, 20)
OUTCOMES = v108.OUTCOME_SHEET


def course_code(n: int = 1, category: str = "1") -> str:
    return f"{YEAR}{SCHOOL}H110100{category}0101{n:02d}"


def key(n: int) -> list[str]:
    return [valid_id(n), BIRTH]


def roster_file(roster: int, term: int, sheets, *, cover=None) -> io.BytesIO:
    """A roster workbook written as ``packages.write_package`` writes one: the cover, then
    each (title, columns after the key, rows) sheet."""
    book = Workbook(write_only=True)
    cover = cover or v108.cover_row(SCHOOL, YEAR, term, roster)
    add_sheet(book, title=v108.COVER_SHEET, headers=v108.COVER_COLUMNS, rows=[cover], bold=False)
    for title, columns, rows in sheets:
        add_sheet(book, title=title, headers=(*v108.KEY_COLUMNS, *columns), rows=rows, bold=False)
    file = io.BytesIO()
    book.save(file)
    file.seek(0)
    return file


def check(file, roster: int, term: int, **kw) -> list[validate.Problem]:
    return validate.validate_workbook(file, Expected(SCHOOL, YEAR, term, roster), **kw)


def found(problems) -> list[tuple]:
    return [(p.row, p.sheet, p.field, p.code) for p in problems]


# --- rows as the platform writes them ----------------------------------------------------------


def student_sheets(division="day"):
    rows = [
        [*key(n), *v108.student_row(gender="1", department_code="101", division=division,
                                    grade=10, class_name="101", seat=n, changed_on=None)]
        for n in (1, 2)
    ]  # fmt: skip
    return [(v108.STUDENT_SHEET, v108.STUDENT_COLUMNS, rows)]


def grade_values(code: str, division="day", score=Decimal("85.5")) -> list:
    return v108.grade_row(code, "國語文", 10, 4, division, score=score, passed=True,
                          makeup_score=None, makeup_passed=None, counts_credit="1",
                          description="")  # fmt: skip


def grade_sheets(division="day"):
    rows = [[*key(1), *grade_values(course_code(n), division)] for n in (1, 2)]
    rows.append([*key(2), *grade_values(course_code(1), division, score=Decimal(0))])
    return [(v108.GRADE_SHEET, v108.GRADE_COLUMNS[division], rows)]


def cadre_sheets(division="day"):
    rows = [[*key(1), *v108.cadre_row("學生會", "會長", "1", STARTS, ENDS)]]
    return [(v108.CADRE_SHEET, v108.CADRE_COLUMNS, rows)]


def _detail(field) -> str:
    if field.choices:
        return str(field.choices[0][0])
    return {categories.DATE: "2026-10-01", categories.INT: "2"}.get(field.type, "1")


def performance_sheets(division="day"):
    """One performance of every category, through ``v108.performance_row``."""
    sheets = []
    for name, columns in v108.PERFORMANCE_SHEETS.items():
        rows = []
        for category in categories.CATEGORY_LIST:
            if category.sheet != name:
                continue
            performance = Performance(
                category=category.code, name="表現", description="簡述", starts_on=STARTS,
                ends_on=ENDS, details={f.key: _detail(f) for f in category.fields},
            )  # fmt: skip
            rows.append([*key(1), *v108.performance_row(performance).values()])
        sheets.append((name, columns, rows))
    return sheets


def outcome(code: str, number: int = 1, description="成果") -> CourseOutcome:
    """An unsaved outcome whose course and term ``v108.outcome_row`` reads."""
    term = Term(school_year=SchoolYear(roc_year=YEAR), number=number)
    course = Course(term=term, code=code, name="國語文", grade=10, credits=4)
    return CourseOutcome(enrolment=CourseEnrolment(course=course), description=description)


def outcome_values(code: str, division="day", number: int = 1) -> list:
    return list(v108.outcome_row(outcome(code, number), division).values())


def outcome_sheets(division="day"):
    columns = v108.CONTINUING_OUTCOME_COLUMNS if division == "continuing" else v108.OUTCOME_COLUMNS
    rows = [
        [*key(1), *outcome_values(course_code(1), division)],
        [*key(1), *outcome_values(course_code(1), division, number=2)],
        [*key(2), *outcome_values(course_code(1), division)],
    ]
    return [(OUTCOMES, columns, rows)]


VALID = [
    (1, 1, student_sheets, "day"),
    (2, 1, grade_sheets, "day"),
    (2, 2, grade_sheets, "continuing"),
    (24, 1, cadre_sheets, "day"),
    (25, 0, performance_sheets, "day"),
    (26, 0, outcome_sheets, "day"),
    (28, 0, outcome_sheets, "continuing"),
    (34, 0, cadre_sheets, "day"),
    (35, 0, performance_sheets, "day"),
    (76, 0, outcome_sheets, "day"),
    (78, 0, outcome_sheets, "continuing"),
]


@pytest.mark.parametrize(("roster", "term", "sheets", "division"), VALID)
def test_a_roster_written_as_the_platform_writes_it_passes(roster, term, sheets, division):
    file = roster_file(roster, term, sheets(division))
    assert check(file, roster, term) == []


def test_the_valid_rosters_hold_what_the_checks_read():
    """The fixtures above are no empty shells: dates keep their leading zero, scores are
    numbers, and roster 25 has a row on every sheet."""
    grades = grade_sheets()[0][2]
    assert grades[0][1] == "0980501" and isinstance(grades[0][6], Decimal)
    assert all(rows for _name, _columns, rows in performance_sheets())
    assert outcome_sheets()[0][2][1][2] == f"{YEAR}2"


def test_a_resident_certificate_number_passes():
    new = next(f"A8{n:07d}{d}" for n in range(100) for d in range(10)
               if national_id.is_valid(f"A8{n:07d}{d}"))  # fmt: skip
    old = next(f"AB{n:07d}{d}" for n in range(100) for d in range(10)
               if national_id.is_valid(f"AB{n:07d}{d}"))  # fmt: skip
    rows = [[nid, BIRTH, *outcome_values(course_code(1))] for nid in (new, old)]
    file = roster_file(26, 0, [(OUTCOMES, v108.OUTCOME_COLUMNS, rows)])
    assert check(file, 26, 0) == []


def test_a_workbook_saved_again_by_a_spreadsheet_program_is_read_the_same():
    """Edited and saved by openpyxl's ordinary writer (shared strings, a stored size):
    only the edited cell is wrong."""
    book = load_workbook(roster_file(26, 0, outcome_sheets()))
    book[OUTCOMES]["A3"] = "A123456788"
    saved = io.BytesIO()
    book.save(saved)
    saved.seek(0)
    assert found(check(saved, 26, 0)) == [(3, OUTCOMES, "身分證號", "E_ID_CHECKSUM")]


def test_a_wrong_stored_size_does_not_hide_rows():
    """Some programs store a sheet's size (its dimension) wrong; every row is read anyway."""
    rows = outcome_sheets()[0][2]
    rows[-1][2] = "1153"  # row 4, column C
    book = load_workbook(roster_file(26, 0, [(OUTCOMES, v108.OUTCOME_COLUMNS, rows)]))
    saved = io.BytesIO()
    book.save(saved)
    shrunk = io.BytesIO()
    with zipfile.ZipFile(saved) as source, zipfile.ZipFile(shrunk, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', data)
            target.writestr(info, data)
    shrunk.seek(0)
    assert found(check(shrunk, 26, 0)) == [(4, OUTCOMES, "實際修課學期", "E_TERM")]


# --- problems in the rows -----------------------------------------------------------------------


def test_bad_values_of_roster_26_are_found_at_their_row_and_column():
    good = outcome_values(course_code(1))
    short = outcome_values(course_code(2))
    short[1] = course_code(2)[:-1]
    rows = [
        [*key(1), *good],  # 2: fine
        ["A123456788", BIRTH, *outcome_values(course_code(3))],  # 3: check digit
        [valid_id(4).lower(), BIRTH, *outcome_values(course_code(4))],  # 4: lower case
        [None, BIRTH, *outcome_values(course_code(5))],  # 5: no ID
        [valid_id(6), "980501", *outcome_values(course_code(6))],  # 6: leading zero lost
        [valid_id(7), "1150230", *outcome_values(course_code(7))],  # 7: no such day
        [*key(8), *short],  # 8: 22 characters
        [*key(9), "1143", *outcome_values(course_code(9))[1:]],  # 9: term 3
        [*key(1), *good],  # 10: row 2 again: a second outcome of a course is a row of its own
        [None, None, None],  # 11: an empty row is skipped
        [*key(12), "1161", *outcome_values(course_code(12))[1:]],  # 12: after the year
    ]
    problems = check(roster_file(26, 0, [(OUTCOMES, v108.OUTCOME_COLUMNS, rows)]), 26, 0)
    assert found(problems) == [
        (3, OUTCOMES, "身分證號", "E_ID_CHECKSUM"),
        (4, OUTCOMES, "身分證號", "E_ID_FORMAT"),
        (5, OUTCOMES, "身分證號", "E_REQUIRED"),
        (6, OUTCOMES, "出生日期", "E_DATE"),
        (7, OUTCOMES, "出生日期", "E_DATE"),
        (8, OUTCOMES, "課程代碼", "E_COURSE_CODE"),
        (9, OUTCOMES, "實際修課學期", "E_TERM"),
        (12, OUTCOMES, "實際修課學期", "E_TERM"),
    ]
    by_row = {p.row: p for p in problems}
    assert by_row[3].message == "身分證號檢查碼錯誤" and by_row[3].value == "A123456788"
    assert by_row[6].value == "980501" and by_row[8].value == course_code(2)[:-1]
    assert {p.roster for p in problems} == {26}


def test_a_course_code_of_another_school_passes_but_not_a_bad_category():
    other = course_code(1).replace(SCHOOL, "654321")
    bad_category = course_code(1, category="G")
    rows = [[*key(1), *outcome_values(code)] for code in (other, bad_category)]
    problems = check(roster_file(26, 0, [(OUTCOMES, v108.OUTCOME_COLUMNS, rows)]), 26, 0)
    assert found(problems) == [(3, OUTCOMES, "課程代碼", "E_COURSE_CODE")]
    assert "課程類別" in problems[0].message


def test_bad_grades_and_the_same_course_twice():
    sheet = v108.GRADE_SHEET
    makeup_missing = grade_values(course_code(4))
    makeup_missing[6] = -2  # 補考成績: -1 is absent, -2 nothing
    rows = [
        [*key(1), *grade_values(course_code(1))],  # 2
        [*key(1), *grade_values(course_code(2), score=101)],  # 3
        [*key(1), *grade_values(course_code(3), score="甲")],  # 4
        [*key(1), *makeup_missing],  # 5
        [*key(1), *grade_values(course_code(1), score=60)],  # 6: course 1 again
        [*key(2), *grade_values(course_code(1), score=None)],  # 7: no score is allowed
    ]
    problems = check(roster_file(2, 1, [(sheet, v108.GRADE_COLUMNS["day"], rows)]), 2, 1)
    assert found(problems) == [
        (3, sheet, "學期學業成績", "E_SCORE"),
        (4, sheet, "學期學業成績", "E_SCORE"),
        (5, sheet, "補考成績", "E_SCORE"),
        (6, sheet, "課程代碼", "E_DUPLICATE"),
    ]
    assert problems[0].value == "101" and problems[2].value == "-2"


def test_bad_cadre_rows():
    sheet = v108.CADRE_SHEET
    rows = [
        [*key(1), "學生會", "1150901", "1160120", "會長", "4"],  # 2: level 4
        [*key(2), "學生會", "2026-09-01", "1160120", "會長", 1],  # 3: an ISO date
        [*key(3), "學生會", "", "", "會長", None],  # 4: dates may be blank, the level not
    ]
    problems = check(roster_file(24, 1, [(sheet, v108.CADRE_COLUMNS, rows)]), 24, 1)
    assert found(problems) == [
        (2, sheet, "幹部等級", "E_CADRE_LEVEL"),
        (3, sheet, "開始日期", "E_DATE"),
        (4, sheet, "幹部等級", "E_REQUIRED"),
    ]


def test_every_date_column_is_checked_in_roster_25():
    sheets = performance_sheets()
    works = next(i for i, (name, _c, _r) in enumerate(sheets) if name == "作品成果紀錄")
    name, columns, rows = sheets[works]
    rows = [list(rows[0])]
    rows[0][2 + columns.index("日期")] = "1151301"  # month 13
    sheets[works] = (name, columns, rows)
    problems = check(roster_file(25, 0, sheets), 25, 0)
    assert found(problems) == [(2, "作品成果紀錄", "日期", "E_DATE")]
    assert problems[0].message == "日期不存在"


# --- the cover and the sheets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claimed", "code", "field"),
    [
        ({"school_code": "654321"}, "E_COVER_SCHOOL", "學校代碼"),
        ({"roc_year": 114}, "E_COVER_YEAR", "學年度"),
        ({"term": 1}, "E_COVER_TERM", "學期"),
        ({"roster": 28}, "E_COVER_ROSTER", "名冊別"),
    ],
)
def test_the_cover_must_match_the_file_info(claimed, code, field):
    file = roster_file(26, 0, outcome_sheets())
    expected = dataclasses.replace(Expected(SCHOOL, YEAR, 0, 26), **claimed)
    problems = validate.validate_workbook(file, expected)
    assert found(problems) == [(2, "封面", field, code)]
    assert problems[0].roster == 26


def test_a_yearly_roster_says_term_0_and_a_term_roster_1_or_2():
    yearly = roster_file(26, 1, outcome_sheets())
    assert found(check(yearly, 26, 1)) == [(2, "封面", "學期", "E_COVER_TERM")]
    per_term = roster_file(24, 0, cadre_sheets())
    assert found(check(per_term, 24, 0)) == [(2, "封面", "學期", "E_COVER_TERM")]


@pytest.mark.parametrize("roster", [3, 41, 99])
def test_an_unknown_roster_code_stops_the_check(roster):
    rows = [["A123456788", BIRTH, *outcome_values(course_code(1))]]  # never read
    file = roster_file(roster, 0, [(OUTCOMES, v108.OUTCOME_COLUMNS, rows)])
    problems = check(file, roster, 0)
    assert found(problems) == [(2, "封面", "名冊別", "E_ROSTER")]
    assert problems[0].roster == roster


def test_the_cover_as_read_keeps_a_code_that_is_not_a_number():
    problems = check(roster_file(26, 0, outcome_sheets(), cover=(SCHOOL, YEAR, 0, "X")), 26, 0)
    assert [(p.code, p.roster) for p in problems] == [("E_ROSTER", "X")]


def test_the_first_sheet_must_be_the_cover():
    book = Workbook(write_only=True)
    add_sheet(book, title=OUTCOMES, headers=v108.COVER_COLUMNS, rows=[(SCHOOL, YEAR, 0, 26)])
    file = io.BytesIO()
    book.save(file)
    file.seek(0)
    problems = check(file, 26, 0)
    assert [(p.code, p.roster, p.row, p.value) for p in problems] == [
        ("E_COVER_SHEET", "", None, OUTCOMES)
    ]


def test_the_cover_header_and_values():
    book = Workbook(write_only=True)
    add_sheet(book, title="封面", headers=("學校代碼", "學年度", "名冊別"), rows=[])
    file = io.BytesIO()
    book.save(file)
    file.seek(0)
    assert found(check(file, 26, 0)) == [(1, "封面", "", "E_COVER_HEADER")]
    empty = roster_file(26, 0, outcome_sheets(), cover=(None, None, None, None))
    assert found(check(empty, 26, 0)) == [(2, "封面", "", "E_COVER_EMPTY")]


def test_a_missing_an_extra_and_a_misplaced_sheet():
    sheets = performance_sheets()
    missing = sheets[1][0]
    problems = check(roster_file(25, 0, [s for s in sheets if s[0] != missing]), 25, 0)
    assert found(problems) == [(None, missing, "", "E_SHEET")]
    extra = [*outcome_sheets(), ("補修課程學習成果", v108.OUTCOME_COLUMNS, [])]
    assert found(check(roster_file(26, 0, extra), 26, 0)) == [
        (None, "補修課程學習成果", "", "E_SHEET")
    ]
    swapped = [sheets[1], sheets[0], *sheets[2:]]
    problems = check(roster_file(25, 0, swapped), 25, 0)
    assert found(problems) == [(None, "", "", "E_SHEET")] and "順序" in problems[0].message


def test_a_sheet_with_another_header_is_not_read_further():
    rows = [["A123456788", BIRTH, *outcome_values(course_code(1), "continuing")]]
    file = roster_file(26, 0, [(OUTCOMES, v108.CONTINUING_OUTCOME_COLUMNS, rows)])
    problems = check(file, 26, 0)
    assert found(problems) == [(1, OUTCOMES, "修課學分", "E_HEADER")]
    assert problems[0].value == "修課節數"


def test_the_grade_roster_takes_either_divisions_columns_but_not_a_mix():
    mixed = (*v108.GRADE_COLUMNS["day"][:4], *v108.GRADE_COLUMNS["continuing"][4:])
    rows = [[*key(1), *grade_values(course_code(1), "continuing")]]
    problems = check(roster_file(2, 1, [(v108.GRADE_SHEET, mixed, rows)]), 2, 1)
    assert found(problems) == [(1, v108.GRADE_SHEET, "修課節數", "E_HEADER")]


# --- the limit, a file that is no workbook, a large one ----------------------------------------


def test_problems_stop_at_the_limit():
    rows = [["A123456788", BIRTH, *outcome_values(course_code(n))] for n in range(1, 6)]
    file = roster_file(26, 0, [(OUTCOMES, v108.OUTCOME_COLUMNS, rows)])
    assert [p.code for p in check(file, 26, 0)] == ["E_ID_CHECKSUM"] * 5
    file.seek(0)
    limited = check(file, 26, 0, limit=3)
    assert [p.code for p in limited] == ["E_ID_CHECKSUM"] * 3 + ["E_TOO_MANY"]
    assert limited[-1].row is None and "3" in limited[-1].message


@pytest.mark.parametrize("content", [b"not a workbook", b"", b"PK\x03\x04broken"])
def test_a_file_that_is_no_workbook(content):
    problems = check(io.BytesIO(content), 26, 0)
    assert [(p.code, p.roster, p.row) for p in problems] == [("E_NOT_XLSX", "", None)]


def test_a_zip_that_is_no_workbook():
    problems = check(files_zip([entry("a.pdf", b"%PDF")]), 26, 0)
    assert [p.code for p in problems] == ["E_NOT_XLSX"]


def test_a_large_roster_is_read_row_by_row(monkeypatch):
    opened = []
    real_load = validate.load_workbook

    def spy(*args, **kwargs):
        opened.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(validate, "load_workbook", spy)
    count = 20_000
    values = outcome_values(course_code(1))

    def rows():
        for n in range(1, count):
            yield [valid_id(n), BIRTH, values[0], course_code(n % 100), *values[2:]]
        yield [valid_id(count), "9999999", *values]  # the last row is wrong

    problems = check(roster_file(26, 0, [(OUTCOMES, v108.OUTCOME_COLUMNS, rows())]), 26, 0)
    assert found(problems) == [(count + 1, OUTCOMES, "出生日期", "E_DATE")]
    assert opened and opened[0]["read_only"] is True


# --- the files zip ------------------------------------------------------------------------------


def entry(path: str, data: bytes, **line) -> dict:
    """A zip member and its manifest line (``line`` overrides fields by column name)."""
    fields = dict(
        zip(
            MANIFEST_COLUMNS,
            [path, hashlib.sha256(data or b"").hexdigest(), len(data or b""), 26, OUTCOMES, valid_id(1),
             BIRTH, f"{course_code(1)}|{YEAR}1|O1"],
            strict=True,
        )
    )  # fmt: skip
    fields.update(line)
    return {"path": path, "data": data, "line": [fields[c] for c in MANIFEST_COLUMNS]}


def files_zip(entries, *, unlisted=(), roster=26) -> io.BytesIO:
    """A files zip through the platform's own ``FilesZip`` (its manifest, BOM and all):
    each entry's member (none when its data is None) and line, and members not listed."""
    target = io.BytesIO()
    files = FilesZip(target, roster)
    for item in entries:
        if item["data"] is not None:
            files.archive.writestr(item["path"], item["data"])
        files.lines.writerow(item["line"])
    for path, data in unlisted:
        files.archive.writestr(path, data)
    files.close()
    target.seek(0)
    return target


def hand_zip(manifest: bytes, members=()) -> io.BytesIO:
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        for path, data in members:
            archive.writestr(path, data)
        archive.writestr(MANIFEST_NAME, manifest)
    target.seek(0)
    return target


def check_zip(file, roster=26, **kw) -> list[validate.Problem]:
    return validate.validate_files_zip(file, Expected(SCHOOL, YEAR, 0, roster), **kw)


def zip_found(problems) -> list[tuple]:
    return [(p.row, p.field, p.code) for p in problems]


DOCUMENT = b"%PDF-1.4 report" * 100
VIDEO = bytes(range(256)) * 1000  # several hash chunks


def test_a_whole_files_zip_passes():
    entries = [
        entry(f"{valid_id(1)}/{OUTCOMES}/a-document.pdf", DOCUMENT),
        entry(f"{valid_id(1)}/{OUTCOMES}/a-media.mp4", VIDEO),
    ]
    assert check_zip(files_zip(entries)) == []
    performance = entry(
        "p/競賽參與紀錄/P1-document.pdf", DOCUMENT, 名冊別=75, 工作表="競賽參與紀錄"
    )
    assert check_zip(files_zip([performance], roster=75), roster=75) == []


def test_members_are_hashed_in_chunks(monkeypatch):
    sizes = []
    read = zipfile.ZipExtFile.read

    def spy(self, n=-1):
        sizes.append(n)
        return read(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "read", spy)
    assert check_zip(files_zip([entry("a/b/c.mp4", VIDEO)])) == []
    assert sizes and all(0 < n <= validate.HASH_CHUNK for n in sizes)


def test_a_missing_member_a_wrong_sum_and_size_and_an_unlisted_member():
    entries = [
        entry("a/x/fine.pdf", DOCUMENT),  # line 2
        entry("a/x/gone.pdf", None, sha256="0" * 64, 位元組=3),  # line 3: not in the zip
        entry("a/x/sum.pdf", DOCUMENT, sha256=hashlib.sha256(b"other").hexdigest()),  # 4
        entry("a/x/size.pdf", DOCUMENT, 位元組=len(DOCUMENT) + 1),  # 5
    ]
    problems = check_zip(files_zip(entries, unlisted=[("a/x/extra.pdf", b"?")]))
    assert zip_found(problems) == [
        (3, "檔案", "E_FILE_MISSING"),
        (4, "sha256", "E_FILE_SHA"),
        (5, "位元組", "E_FILE_SIZE"),
        (None, "", "E_FILE_EXTRA"),
    ]
    assert problems[0].value == "a/x/gone.pdf" and problems[3].value == "a/x/extra.pdf"
    assert {p.sheet for p in problems[:3]} == {MANIFEST_NAME}


def test_paths_that_leave_the_folder():
    entries = [entry("../evil.pdf", DOCUMENT), entry("/etc/evil.pdf", DOCUMENT)]
    problems = check_zip(files_zip(entries, unlisted=[("a\\..\\..\\x.pdf", b"x")]))
    assert zip_found(problems) == [
        (None, "", "E_ZIP_PATH"),
        (None, "", "E_ZIP_PATH"),
        (None, "", "E_ZIP_PATH"),
        (2, "檔案", "E_ZIP_PATH"),
        (3, "檔案", "E_ZIP_PATH"),
    ]
    assert [p.value for p in problems[:3]] == ["../evil.pdf", "/etc/evil.pdf", "a\\..\\..\\x.pdf"]


def test_the_manifests_fields_are_checked():
    entries = [
        entry("a/1.pdf", DOCUMENT, 名冊別=25),
        entry("a/2.pdf", DOCUMENT, 身分證號="A123456788"),
        entry("a/3.pdf", DOCUMENT, 工作表="學期成績"),
        entry("a/4.pdf", DOCUMENT, 出生日期="980501"),
    ]
    problems = check_zip(files_zip(entries))
    assert zip_found(problems) == [
        (2, "名冊別", "E_MANIFEST_ROSTER"),
        (3, "身分證號", "E_ID_CHECKSUM"),
        (4, "工作表", "E_MANIFEST_SHEET"),
        (5, "出生日期", "E_DATE"),
    ]
    assert problems[0].roster == 25  # as the line says


def _manifest(header, lines=(), encoding="utf-8-sig") -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(lines)
    return text.getvalue().encode(encoding)


def test_a_bad_manifest():
    header = list(MANIFEST_COLUMNS)
    header[1] = "SHA256"
    problems = check_zip(hand_zip(_manifest(header), [("a/1.pdf", DOCUMENT)]))
    assert zip_found(problems) == [(1, "", "E_MANIFEST_HEADER")]
    line = entry("a/1.pdf", DOCUMENT)["line"]
    no_bom = check_zip(
        hand_zip(_manifest(MANIFEST_COLUMNS, [line], "utf-8"), [("a/1.pdf", DOCUMENT)])
    )
    assert [p.code for p in no_bom] == ["E_MANIFEST_ENCODING"]
    big5 = check_zip(hand_zip(_manifest(MANIFEST_COLUMNS, [line], "big5"), [("a/1.pdf", DOCUMENT)]))
    assert "E_MANIFEST_ENCODING" in [p.code for p in big5]
    short = check_zip(hand_zip(_manifest(MANIFEST_COLUMNS, [line[:5]]), [("a/1.pdf", DOCUMENT)]))
    assert zip_found(short) == [(2, "", "E_MANIFEST_ROW"), (None, "", "E_FILE_EXTRA")]


def test_no_manifest_and_no_zip():
    target = io.BytesIO()
    with zipfile.ZipFile(target, "w") as archive:
        archive.writestr("a/1.pdf", DOCUMENT)
    target.seek(0)
    assert [p.code for p in check_zip(target)] == ["E_MANIFEST_MISSING"]
    assert [(p.code, p.roster) for p in check_zip(io.BytesIO(b"no zip"))] == [("E_NOT_ZIP", 26)]


def test_zip_problems_stop_at_the_limit():
    entries = [entry(f"a/{n}.pdf", None) for n in range(5)]
    problems = check_zip(files_zip(entries), limit=2)
    assert [p.code for p in problems] == ["E_FILE_MISSING", "E_FILE_MISSING", "E_TOO_MANY"]


def test_roster_25s_cadre_sheet_takes_every_level_the_platform_has():
    """Roster 24's levels are 1 to 3; roster 25's cadre sheet is not known to limit them."""
    sheets = performance_sheets()
    index = next(i for i, (name, _c, _r) in enumerate(sheets) if name == "幹部經歷暨事蹟紀錄")
    name, columns, rows = sheets[index]
    level = list(columns).index("幹部等級") + 2
    rows[0][level] = "5"
    sheets[index] = (name, columns, rows)
    assert check(roster_file(25, 0, sheets), 25, 0) == []
