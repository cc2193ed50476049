"""Record imports, the student roster and the file itself: formats, encodings, dates,
checks, all-or-nothing writes, idempotence.

The files (built with openpyxl and the csv module, with valid national IDs) come from
tests/builders/imports.py, which the other import tests use too.
"""

import datetime as dt
import io

import pytest
from django.utils import translation

from portfolio.crypto import keyed_hash
from portfolio.lib import national_id
from portfolio.models import AuditLog, Term
from records.imports.messages import MESSAGES, describe
from records.models import SchoolClass, Student
from records.services.imports import import_preview
from tests.builders.imports import (
    STUDENT_HEADER,
    bad_checksum,
    csv_bytes,
    nid,
    problems,
    roster,
    run,
    student_row,
    xlsx_bytes,
)


@pytest.fixture
def term(school, current_roc_year) -> Term:
    return Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)


# The roster ----------------------------------------------------------------------------


def test_preview_lists_what_would_be_added_and_writes_nothing(school):
    result = run("students", xlsx_bytes(roster(3)), school)
    assert result["clean"] and not result["written"]
    assert result["counts"] == {
        "rows": 3,
        "added": 3,
        "changed": 0,
        "unchanged": 0,
        "errors": 0,
        "bad_rows": 0,
    }
    assert [entry["row"] for entry in result["added"]] == [2, 3, 4]
    first = result["added"][0]
    assert first["key"] == "S0001" and first["label"] == "學生1"
    assert ["身分證號", national_id.mask(nid(1))] in first["details"]
    assert not Student.objects.exists() and not SchoolClass.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="import.").exists()


def test_import_writes_students_and_classes_then_again_changes_nothing(school, current_roc_year):
    rows = roster(2) + [
        student_row(3, class_name="201", seat=1),
        student_row(4, class_name="3年2班"),
    ]
    data = xlsx_bytes(rows)
    result = run("students", data, school, apply=True)
    assert result["written"] and result["counts"]["added"] == 4
    assert result["created"] == {"classes": ["101", "201", "3年2班"]}
    classes = {c.name: c for c in SchoolClass.objects.filter(school=school)}
    assert {name: c.grade for name, c in classes.items()} == {"101": 10, "201": 11, "3年2班": 12}
    assert all(c.school_year.roc_year == current_roc_year for c in classes.values())
    student = Student.objects.get(school=school, student_number="S0003")
    assert student.national_id == nid(3)
    assert student.national_id_hash == keyed_hash(nid(3))
    assert student.birth_date == dt.date(2009, 3, 21)
    assert student.gender == "1" and student.seat_number == 1
    assert student.school_class == classes["201"]
    # Encrypted at rest: the database never holds the plain ID.
    raw = Student.objects.filter(pk=student.pk).values_list("national_id", flat=True)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id FROM records_student WHERE id = %s", [student.pk])
        stored = cursor.fetchone()[0]
    assert nid(3) not in stored and list(raw) == [nid(3)]
    audits = AuditLog.objects.filter(action="import.students")
    assert audits.count() == 1
    assert audits.get().changes["added"] == 4 and audits.get().changes["rows"] == 4

    again = run("students", data, school, apply=True)
    assert again["written"]
    assert again["counts"]["added"] == 0 and again["counts"]["changed"] == 0
    assert again["counts"]["unchanged"] == 4
    assert again["created"] == {}
    assert Student.objects.count() == 4 and SchoolClass.objects.count() == 3


def test_changes_are_listed_old_to_new_and_written(school):
    run("students", xlsx_bytes(roster(3)), school, apply=True)
    rows = roster(3)
    rows[1][2] = "王小明"  # name
    rows[2][6] = 30  # seat
    rows[2][5] = "102"  # class
    rows[3][1] = nid(99)  # national ID
    result = run("students", xlsx_bytes(rows), school)
    assert result["counts"]["changed"] == 3 and result["counts"]["unchanged"] == 0
    changes = {entry["key"]: entry["changes"] for entry in result["changed"]}
    assert changes["S0001"] == [["姓名", "學生1", "王小明"]]
    assert ["座號", "2", "30"] in changes["S0002"]
    assert ["班級", "101", "102"] in changes["S0002"]
    assert changes["S0003"] == [["身分證號", national_id.mask(nid(3)), national_id.mask(nid(99))]]
    assert Student.objects.get(student_number="S0001").name == "學生1"  # a preview writes nothing

    applied = run("students", xlsx_bytes(rows), school, apply=True)
    assert applied["counts"]["changed"] == 3
    moved = Student.objects.select_related("school_class").get(student_number="S0002")
    assert moved.seat_number == 30 and moved.school_class.name == "102"
    assert Student.objects.with_national_id(nid(99)).get().student_number == "S0003"
    assert not Student.objects.with_national_id(nid(3)).exists()


def test_every_bad_row_is_reported_with_its_column_and_nothing_is_written(school):
    rows = roster(2)
    rows += [
        ["S0003", bad_checksum(nid(3)), "甲", "1", "0980321", "101", 3],
        ["S0004", "A12345", "乙", "男", "1140230", "101", 4],
        ["S0005", nid(5, "2"), "丙", "3", "2009-02-29", "101", 0],
        ["S0006", nid(6), "", "F", "0981301", "101", 100],
        ["S0001", nid(7), "丁", "女", "2009/03/21", "101", 7],
        ["S0008", nid(1), "戊", "2", "98/3/21", "101", 8],
        ["S0009", nid(9), "己", "1", "not a date", "忠班", 9],
    ]
    result = run("students", xlsx_bytes(rows), school, apply=True)
    assert not result["written"] and not result["clean"]
    assert problems(result) == {
        (4, "身分證號", "national_id_checksum"),
        (5, "身分證號", "national_id_shape"),
        (5, "出生日期", "date_invalid"),
        (6, "性別", "gender"),
        (6, "出生日期", "date_invalid"),
        (6, "座號", "out_of_range"),
        (7, "姓名", "required"),
        (7, "出生日期", "date_invalid"),
        (7, "座號", "out_of_range"),
        (8, "學號", "duplicate"),
        (9, "身分證號", "duplicate"),
        (10, "出生日期", "date_shape"),
    }
    assert result["counts"]["bad_rows"] == 7
    duplicate = next(p for p in result["errors"] if p["row"] == 8)
    assert duplicate["params"] == {"first": 2, "what": "student_number"}
    with translation.override("en"):
        assert "row 2" in describe(duplicate["code"], duplicate["params"])
    assert not Student.objects.exists() and not SchoolClass.objects.exists()
    assert not AuditLog.objects.filter(action__startswith="import.").exists()


def test_a_preview_with_bad_rows_still_sorts_the_good_ones(school):
    rows = roster(3)
    rows[2][1] = bad_checksum(rows[2][1])
    result = run("students", xlsx_bytes(rows), school)
    assert result["counts"]["added"] == 2 and result["counts"]["bad_rows"] == 1


def test_a_class_whose_grade_cannot_be_told_needs_the_grade_column(school):
    rows = roster(1) + [student_row(2, class_name="忠班")]
    result = run("students", xlsx_bytes(rows), school)
    assert problems(result) == {(3, "班級", "class_grade_unknown")}
    with_grade = [[*STUDENT_HEADER, "年級"], [*student_row(2, class_name="忠班"), "2"]]
    result = run("students", xlsx_bytes(with_grade), school, apply=True)
    assert result["written"]
    assert SchoolClass.objects.get(name="忠班").grade == 11


def test_the_grade_column_must_agree_with_an_existing_class(school):
    run("students", xlsx_bytes(roster(1)), school, apply=True)
    rows = [
        [*STUDENT_HEADER, "年級"],
        [*student_row(2), "11"],
        [*student_row(3, class_name="忠"), 10],
        [*student_row(4, class_name="忠"), 12],
    ]
    result = run("students", xlsx_bytes(rows), school)
    assert problems(result) == {
        (2, "年級", "class_grade_mismatch"),
        (4, "年級", "class_grade_mismatch"),
    }


def test_a_national_id_of_another_student_is_refused_but_two_may_swap(school):
    run("students", xlsx_bytes(roster(3)), school, apply=True)
    taken = [STUDENT_HEADER, student_row(9)]
    taken[1][1] = nid(2)
    result = run("students", xlsx_bytes(taken), school)
    assert problems(result) == {(2, "身分證號", "national_id_taken")}
    assert result["errors"][0]["params"] == {"student": "S0002"}

    swapped = roster(3)
    swapped[1][1], swapped[2][1] = nid(2), nid(1)
    result = run("students", xlsx_bytes(swapped), school, apply=True)
    assert result["written"] and result["counts"]["changed"] == 2
    assert Student.objects.with_national_id(nid(2)).get().student_number == "S0001"
    assert Student.objects.with_national_id(nid(1)).get().student_number == "S0002"


def test_optional_department_code_is_set_and_left_alone_when_the_column_is_absent(school):
    rows = [[*STUDENT_HEADER, "科/班/學程別代碼"], [*student_row(1), "301"]]
    run("students", xlsx_bytes(rows), school, apply=True)
    assert Student.objects.get().department_code == "301"
    result = run("students", xlsx_bytes(roster(1)), school, apply=True)
    assert result["counts"]["unchanged"] == 1
    assert Student.objects.get().department_code == "301"


def test_all_or_nothing_when_writing_fails_half_way(school, monkeypatch):
    run("students", xlsx_bytes(roster(2)), school, apply=True)
    rows = roster(4)
    rows[1][2] = "改名"

    from records.imports import students as students_kind

    written = students_kind.update_changed

    def broken(*args, **kwargs):
        written(*args, **kwargs)  # half the work is done, then the disk fills
        raise RuntimeError("disk full")

    monkeypatch.setattr(students_kind, "update_changed", broken)
    with pytest.raises(RuntimeError):
        run("students", xlsx_bytes(rows), school, apply=True)
    assert Student.objects.count() == 2  # the two new students were not kept
    assert Student.objects.get(student_number="S0001").name == "學生1"
    assert AuditLog.objects.filter(action="import.students").count() == 1


# The file ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "cp950"])
def test_csv_in_utf8_with_or_without_bom_and_in_big5(school, encoding):
    rows = roster(2, name="陳怡君")
    result = run("students", csv_bytes(rows, encoding), school, apply=True, name="roster.csv")
    assert result["written"], result["errors"]
    assert (
        result["encoding"]
        == {"utf-8-sig": "utf-8-sig", "utf-8": "utf-8-sig", "cp950": "cp950"}[encoding]
    )
    assert set(Student.objects.values_list("name", flat=True)) == {"陳怡君"}


def test_big5_csv_with_characters_outside_cp950_falls_back_to_hkscs(school):
    rows = roster(1, name="陳𡃁")  # a Hong Kong supplementary character
    data = csv_bytes(rows, "big5hkscs")
    result = run("students", data, school, apply=True, name="roster.csv")
    assert result["encoding"] == "big5hkscs"
    assert Student.objects.get().name == "陳𡃁"


def test_unreadable_characters_are_reported_per_cell(school):
    data = csv_bytes(roster(1), "cp950") + b"S0002," + b"\xff\xfe" + b",x\r\n"
    result = run("students", data, school, name="roster.csv")
    assert result["encoding"] == "cp950"
    assert (3, "身分證號", "encoding") in problems(result)


def test_dates_in_every_accepted_form(school):
    rows = [STUDENT_HEADER]
    forms = [
        "0980321",
        "980321",
        "98/3/21",
        "2009-03-21",
        "2009/3/21",
        dt.date(2009, 3, 21),
        980321,
    ]
    for i, born in enumerate(forms, start=1):
        rows.append(student_row(i, born=born))
    result = run("students", xlsx_bytes(rows), school, apply=True)
    assert result["written"], result["errors"]
    assert set(Student.objects.values_list("birth_date", flat=True)) == {dt.date(2009, 3, 21)}


def test_a_birth_date_in_the_future_is_out_of_range(school):
    rows = [STUDENT_HEADER, student_row(1, born="2999-01-01")]
    assert problems(run("students", xlsx_bytes(rows), school)) == {(2, "出生日期", "date_future")}


def test_header_aliases_spaces_title_rows_and_a_cover_sheet(school):
    header = [" 學號", "身分證統一編號", "姓 名", "性別代碼", "出生日期", "班級", "座號", "備註"]
    rows = [["114學年度 學生名冊"], header, [*student_row(1), "轉入生"]]
    cover = {"封面": [["學校代碼", "學年度", "學期", "名冊別"], ["123456", 114, 1, 1]]}
    result = run("students", xlsx_bytes(rows, sheets=cover), school, apply=True)
    assert result["written"], result["errors"]
    assert result["sheet"] == "學生資料"
    assert result["ignored_columns"] == ["備註"]
    assert Student.objects.get().name == "學生1"


def test_a_missing_column_is_named(school):
    header = [h for h in STUDENT_HEADER if h != "出生日期"]
    result = run("students", xlsx_bytes([header, ["S1", nid(1), "甲", "1", "101", 1]]), school)
    assert problems(result) == {(1, "出生日期", "missing_column")}
    assert "出生日期" in describe("missing_column", result["errors"][0]["params"])


def test_a_file_with_a_header_but_no_rows(school):
    assert problems(run("students", xlsx_bytes([STUDENT_HEADER]), school)) == {(1, "", "no_rows")}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "file_xls"),
        (b"PK\x03\x04 not really a zip", "file_unreadable"),
        (b"", "file_empty"),
    ],
)
def test_files_that_are_no_table(school, data, code):
    assert problems(run("students", data, school)) == {(0, "", code)}


def test_empty_lines_are_skipped_and_row_numbers_are_the_spreadsheets(school):
    rows = [STUDENT_HEADER, student_row(1), [None] * 7, student_row(2)]
    rows[3][1] = "bad"
    result = run("students", xlsx_bytes(rows), school)
    assert problems(result) == {(4, "身分證號", "national_id_shape")}
    assert result["counts"]["rows"] == 2


def test_every_message_has_a_sentence_in_english_and_fills_its_parameters():
    with translation.override("en"):
        for code in MESSAGES:
            text = describe(
                code,
                {
                    "column": "學號",
                    "max": 5,
                    "length": 6,
                    "value": "x",
                    "first": 2,
                    "what": "course",
                    "student": "S1",
                    "min": 0,
                    "earliest": "1900-01-01",
                    "class": "101",
                    "existing": 10,
                    "given": 11,
                    "term": "114-1",
                    "course": "X",
                    "sections": "A、B",
                    "name": "王",
                    "year": 114,
                    "found": "1",
                    "code": "U+001B",
                },
            )
            assert "%(" not in text and text.strip()


@pytest.mark.parametrize(("build", "name"), [(xlsx_bytes, "r.xlsx"), (csv_bytes, "r.csv")])
def test_progress_follows_the_file(school, build, name):
    seen = []
    import_preview(
        kind="students",
        stream=io.BytesIO(build(roster(2000))),
        file_name=name,
        school=school,
        term=None,
        progress=seen.append,
    )
    reading = [f for f in seen if f < 0.8]
    assert len(reading) >= 3 and reading == sorted(reading)
    assert 0 < reading[0] < reading[-1] <= 0.8
    assert seen[-1] == 1.0


def test_a_workbook_damaged_half_way_is_unreadable_and_nothing_is_written(school):
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx_bytes(roster(50))))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = data[: len(data) * 2 // 3]  # cut off in the middle of the rows
            target.writestr(item, data)
    result = run("students", damaged.getvalue(), school, apply=True)
    assert problems(result) == {(0, "", "file_unreadable")}
    assert not Student.objects.exists()
