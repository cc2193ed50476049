"""The import of diverse performances the school enters: preview with row problems, apply
all or nothing, the same file twice adds nothing, the template."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.acting import ActingContext
from accounts.models import Role
from portfolio.lib import roc
from portfolio.models import AuditLog
from records.imports import kinds_for
from records.imports.messages import describe
from records.models import Student
from submissions.models import Performance, PerformanceSource, PerformanceState
from tests.builders.imports import csv_bytes, problems, roster, run, xlsx_bytes
from tests.builders.people import client_for

HEADER = [
    "學號",
    "類別",
    "名稱",
    "內容簡述",
    "開始日期",
    "結束日期",
    "結果公布日期",
    "單位名稱",
    "幹部等級",
    "競賽等級代碼",
    "獎項",
    "團體參與代碼",
    "服務單位",
    "時數",
    "來源",
]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def students(school):
    result = run("students", xlsx_bytes(roster(4)), school, apply=True)
    assert result["written"], result["errors"]
    return {s.student_number: s for s in Student.objects.filter(school=school)}


@pytest.fixture
def affairs(school, make_member):
    membership = make_member(school, Role.STUDENT_AFFAIRS, username="sally")
    return ActingContext(user=membership.user, membership=membership)


def ago(days: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=days)


def line(**cells) -> list:
    return [cells.get(column, "") for column in HEADER]


def good_rows() -> list[list]:
    return [
        HEADER,
        line(
            學號="S0001",
            類別="1",
            名稱="班長",
            內容簡述="擔任班長，帶領班會。",
            開始日期=roc.to_roc_date(ago(60)),
            單位名稱="101",
            幹部等級="2",
        ),
        line(
            學號="S0002",
            類別="競賽參與",
            名稱="全國科學展覽會",
            內容簡述="物理科，研究單擺。",
            結果公布日期=ago(5).isoformat(),
            競賽等級代碼="3",
            獎項="佳作",
            團體參與代碼="1",
        ),
        line(
            學號="S0003",
            類別="服務學習",
            名稱="校慶志工",
            內容簡述="協助校慶接待。",
            開始日期=ago(30).isoformat(),
            結束日期=ago(29).isoformat(),
            服務單位="學務處",
            時數="4.5",
        ),
        line(
            學號="S0004",
            類別="10",
            名稱="市長獎",
            內容簡述="獲頒市長獎。",
            開始日期=ago(10).isoformat(),
            來源="校外",
        ),
    ]


def test_preview_lists_every_bad_row_and_writes_nothing(school, students):
    rows = [
        *good_rows(),
        line(學號="S0001", 類別="11", 名稱="x", 內容簡述="y"),
        line(
            學號="S0002",
            類別="1",
            名稱="副班長",
            內容簡述="y",
            開始日期=ago(3).isoformat(),
            單位名稱="101",
            幹部等級="9",
        ),
        line(
            學號="S0003",
            類別="2",
            名稱="市賽",
            內容簡述="y",
            結果公布日期=(timezone.localdate() + dt.timedelta(days=3)).isoformat(),
            競賽等級代碼="2",
            獎項="第一名",
            團體參與代碼="1",
        ),
        line(學號="S9999", 類別="8", 名稱="作品", 內容簡述="y", 開始日期=ago(1).isoformat()),
        line(
            學號="S0004",
            類別="10",
            名稱="市長獎",
            內容簡述="重複",
            開始日期=ago(10).isoformat(),
        ),
        line(
            學號="S0001", 類別="4", 名稱="志工", 內容簡述="y", 開始日期=ago(2).isoformat(), 時數="x"
        ),
    ]
    result = run("performances", xlsx_bytes(rows, title="多元表現"), school)
    assert not result["clean"] and not result["written"]
    assert problems(result) == {
        (6, "類別", "performance_category"),
        (7, "幹部等級", "performance_choice"),
        (8, "結果公布日期", "performance_future_date"),
        (9, "學號", "student_unknown"),
        (10, "名稱", "duplicate"),
        (11, "服務單位", "required"),
        (11, "時數", "number"),
    }
    assert result["counts"]["added"] == 4  # the good rows, as the corrected file would add
    choice = next(e for e in result["errors"] if e["code"] == "performance_choice")
    assert describe(choice["code"], choice["params"]) == "Write one of the codes 1, 2, 3, 4, 5."
    assert Performance.objects.count() == 0
    assert not run("performances", xlsx_bytes(rows), school, apply=True)["written"]
    assert Performance.objects.count() == 0


def test_apply_writes_every_row_and_a_second_run_adds_nothing(school, students, affairs):
    data = xlsx_bytes(good_rows(), title="多元表現")
    result = run("performances", data, school, apply=True, by=affairs)
    assert result["written"], result["errors"]
    assert result["counts"]["added"] == 4
    items = {p.student.student_number: p for p in Performance.objects.select_related("student")}
    cadre = items["S0001"]
    assert cadre.category == "cadre" and cadre.name == "班長"
    assert cadre.starts_on == ago(60) and cadre.details == {"organiser": "101", "cadre_level": "2"}
    assert items["S0002"].starts_on == ago(5)
    assert items["S0002"].details == {
        "competition_level": "3",
        "award": "佳作",
        "participation": "1",
    }
    assert items["S0003"].details == {"organiser": "學務處", "hours": "4.5"}
    assert items["S0004"].source == PerformanceSource.OUTSIDE
    assert {p.source for p in items.values() if p.pk != items["S0004"].pk} == {"school"}
    assert all(p.state == PerformanceState.SAVED for p in items.values())
    assert all(p.entered_by == affairs.user for p in items.values())
    log = AuditLog.objects.get(action="import.performances")
    assert log.changes["added"] == 4

    again = run("performances", data, school, apply=True, by=affairs)
    assert again["written"]
    assert again["counts"]["added"] == 0 and again["counts"]["unchanged"] == 4
    assert Performance.objects.count() == 4


def test_a_changed_row_is_updated(school, students):
    run("performances", xlsx_bytes(good_rows()), school, apply=True)
    rows = good_rows()
    rows[3][HEADER.index("時數")] = "6"
    rows[3][HEADER.index("內容簡述")] = "協助校慶接待與引導。"
    result = run("performances", csv_bytes(rows), school, apply=True, name="file.csv")
    assert result["written"]
    assert result["counts"]["changed"] == 1 and result["counts"]["unchanged"] == 3
    assert result["changed"][0]["changes"] == [
        ["內容簡述", "協助校慶接待。", "協助校慶接待與引導。"],
        ["時數", "4.5", "6"],
    ]
    item = Performance.objects.get(category="service")
    assert item.details["hours"] == "6" and item.description == "協助校慶接待與引導。"
    assert Performance.objects.count() == 4


def test_a_students_own_item_is_not_the_schools(school, students):
    student = students["S0004"]
    Performance.objects.create(
        school=school,
        student=student,
        school_year=student.school_class.school_year,
        category="other",
        name="市長獎",
        description="我自己上傳的。",
        starts_on=ago(10),
    )
    result = run("performances", xlsx_bytes(good_rows()), school, apply=True)
    assert result["counts"]["added"] == 4
    assert Performance.objects.filter(student=student).count() == 2


def test_description_longer_than_the_schools_limit(school, students):
    rows = good_rows()
    rows[1][HEADER.index("內容簡述")] = "長" * 101
    result = run("performances", xlsx_bytes(rows), school)
    assert problems(result) == {(2, "內容簡述", "too_long")}


def test_which_offices_import_and_the_template(school, make_member):
    assert "performances" in [k.name for k in kinds_for(Role.STUDENT_AFFAIRS)]
    assert "performances" in [k.name for k in kinds_for(Role.REGISTRY)]
    assert "performances" not in [k.name for k in kinds_for(Role.TEACHER)]
    client = client_for(make_member(school, Role.STUDENT_AFFAIRS))
    client.cookies["django_language"] = "en"
    index = client.get(reverse("imports:index")).content.decode()
    assert 'value="performances"' in index
    assert "Used by 4 服務學習: Hours; 7 職場學習: Hours; 10 其他: Hours." in index
    assert "Used by 1 幹部經歷暨事蹟: Cadre level (1 School, 2 Class," in index
    response = client.get(reverse("imports:template", args=["performances"]))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    headers = next(book.active.iter_rows(values_only=True))
    assert book.active.title == "多元表現"
    assert headers[:4] == ("學號", "身分證號", "出生日期", "類別")
    assert {"名稱", "內容簡述", "幹部等級", "競賽等級代碼", "證照代碼", "總時數", "來源"} <= set(
        headers
    )
    assert len(headers) == len(set(headers))


def test_another_offices_import_does_not_touch_these_items(school, students, affairs, make_member):
    data = xlsx_bytes(good_rows(), title="多元表現")
    assert run("performances", data, school, apply=True, by=affairs)["written"]
    assert set(Performance.objects.values_list("entered_by_office", flat=True)) == {
        Role.STUDENT_AFFAIRS
    }
    membership = make_member(school, Role.REGISTRY, username="rita")
    registry = ActingContext(user=membership.user, membership=membership)
    result = run("performances", data, school, apply=True, by=registry)
    assert result["written"] and result["counts"]["added"] == 4  # its own, alongside
    assert Performance.objects.filter(entered_by_office=Role.REGISTRY).count() == 4
    assert Performance.objects.filter(entered_by_office=Role.STUDENT_AFFAIRS).count() == 4
