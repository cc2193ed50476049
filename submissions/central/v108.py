"""Rosters of the 108 curriculum (CENTRAL-FORMAT.md sections 1, 4, 7, 8 and 9).

Every workbook starts with the sheet 封面 (學校代碼, 學年度, 學期, 名冊別 in row 1, the
values in row 2) and is named ``{學校代碼}_{學年度}_{學期}_{名冊別}_{yyyyMMdd_HH_mm_ss}.xlsx``.

Each data row starts with 身分證號 and 出生日期 (``KEY_COLUMNS``); what follows is per sheet.
Roster 26 (學生課程學習成果名冊) and roster 25 (學生自填多元表現名冊) are yearly: the cover
says term 0, and the rows carry the term or the dates themselves. Dates are 7-digit ROC
dates. Outcomes of ordinary courses go to the sheet 學期課程學習成果 (the platform has no
make-up, retake or transfer outcomes yet).
"""

import datetime as dt
from decimal import Decimal
from typing import Any

from portfolio.lib.roc import to_roc_date
from submissions import performance_categories as categories
from submissions.models import CourseOutcome, Performance

VERSION = "108"
KEY_COLUMNS = ("身分證號", "出生日期")

# Grade 12's batches (梯次) send their own codes for 24/25/26/28 (section 2).
BATCH_ROSTERS = {
    1: {24: 34, 25: 35, 26: 36, 28: 38},
    2: {24: 74, 25: 75, 26: 76, 28: 78},
}
STUDENTS_ROSTER = 1
GRADES_ROSTER = 2
CADRES_ROSTER = 24
PERFORMANCES_ROSTER = 25
OUTCOMES_ROSTER = 26
# The continuing-education division's course-outcome roster: roster 26's sheets, with 修課節數
# where 26 has 修課學分 (section 8).
CONTINUING_OUTCOMES_ROSTER = 28
# The grade pre-check file (預檢成績名冊): day and continuing-education division.
PRECHECK_ROSTERS = {"day": 41, "continuing": 42}

COVER_SHEET = "封面"
COVER_COLUMNS = ("學校代碼", "學年度", "學期", "名冊別")

# The grade roster's term sheet (section 4); the continuing-education division counts
# periods (節數) and hours (學時) where the day division counts credits.
GRADE_SHEET = "學期成績"
GRADE_COLUMNS = {
    "day": (
        "課程代碼", "科目名稱", "開課年級", "修課學分", "學期學業成績", "成績及格", "補考成績",
        "補考及格", "是否採計學分", "質性文字描述",
    ),
    "continuing": (
        "課程代碼", "科目名稱", "開課年級", "修課節數", "學期學業成績", "成績及格",
        "學年學業成績", "學年及格", "是否採計學時", "質性文字描述",
    ),
}  # fmt: skip
# What the pre-check file fills (section 9): the course's columns; the grades stay blank.
PRECHECK_FILLED = 4

OUTCOME_SHEET = "學期課程學習成果"
OUTCOME_COLUMNS = ("實際修課學期", "課程代碼", "科目名稱", "開課年級", "修課學分", "成果簡述")
CONTINUING_OUTCOME_COLUMNS = (
    "實際修課學期", "課程代碼", "科目名稱", "開課年級", "修課節數", "成果簡述",
)  # fmt: skip

# Roster 1 (section 3): the upload columns of the 108 sheet 學生資料 that the platform keeps.
# The indigenous-language and experimental-class columns of the 108 extract look like the
# central database's own enrichment and are not sent.
STUDENT_SHEET = "學生資料"
STUDENT_COLUMNS = (
    "性別代碼", "群別代碼", "科班學程別代碼", "部別代碼", "班別", "年級", "班級名稱", "座號",
    "特殊身分別", "學籍狀態", "學籍異動日期",
)  # fmt: skip
# 部別 (104 codes, the 108 data keeps them): 1 日間部, 5 進修部(學校); 班別: 1 日間部(一般班),
# 01 進修部 核定班.
DIVISION_CODES = {"day": "1", "continuing": "5"}
CLASS_TYPE_CODES = {"day": "1", "continuing": "01"}
# 特殊身分別: 0 一般生 (the platform records no special status yet).
ORDINARY_STUDENT = "0"
ENROLLED_TEXT = "在學"

# Roster 24 (section 6): per term, no file link (the school vouches for it); the central
# database takes the levels 1 to 3 only.
CADRE_SHEET = "幹部經歷紀錄"
CADRE_COLUMNS = ("單位名稱", "開始日期", "結束日期", "擔任職務", "幹部等級")
CADRE_LEVELS = ("1", "2", "3")

# Grade rows (section 4): pass flags 1 or 0; an absent make-up score is -1.
ABSENT_SCORE = -1

# Roster 25's sheets in order, each with its columns after the key (section 7).
PERFORMANCE_SHEETS: dict[str, tuple[str, ...]] = {
    "幹部經歷暨事蹟紀錄": ("單位名稱", "開始日期", "結束日期", "擔任職務", "內容簡述", "幹部等級"),
    "競賽參與紀錄": (
        "競賽名稱", "項目", "競賽等級代碼", "獎項", "結果公布日期", "內容簡述", "團體參與代碼",
    ),
    "檢定證照紀錄": (
        "證照代碼", "註1", "分數", "分項結果", "取得證照日期", "證照字號", "檢定組別", "內容簡述",
    ),
    "服務學習紀錄": ("服務名稱", "服務單位", "開始日期", "結束日期", "時數", "內容簡述"),
    "彈性學習時間紀錄": (
        "彈性學習時間類別種類代碼", "內容開設名稱", "開設單位", "開設學年度", "開設學期",
        "每週節數", "開設週數", "內容簡述",
    ),
    "團體活動時間紀錄": (
        "團體活動時間類別代碼", "辦理單位", "團體活動內容名稱", "活動學年度", "活動學期", "節數",
        "內容簡述",
    ),
    "職場學習紀錄": (
        "職場學習類別代碼", "職場學習單位", "職場學習職稱", "開始日期", "結束日期", "時數",
        "內容簡述",
    ),
    "作品成果紀錄": ("名稱", "日期", "內容簡述"),
    "大學及技專校院先修課程紀錄": (
        "計畫專案", "開設單位", "課程名稱", "開始日期", "結束日期", "學分數", "總時數", "內容簡述",
    ),
    "其他多元表現紀錄": ("名稱", "主辦單位", "開始日期", "結束日期", "時數", "內容簡述"),
}  # fmt: skip


def roc_date(day: dt.date | str | None) -> str:
    if not day:
        return ""
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    return to_roc_date(day)


def outcome_row(outcome: CourseOutcome, division: str = "day") -> dict[str, Any]:
    """The columns of ``outcome`` on roster 26 (28 for the continuing-education division)
    after the key (course and term loaded)."""
    course = outcome.enrolment.course
    term = course.term
    return dict(
        zip(
            CONTINUING_OUTCOME_COLUMNS if division == "continuing" else OUTCOME_COLUMNS,
            (
                f"{term.school_year.roc_year}{term.number}",
                course.code,
                course.name,
                course.grade,
                course.credits,
                outcome.description,
            ),
            strict=True,
        )
    )


def performance_sheet(performance: Performance) -> str:
    return categories.get(performance.category).sheet


def performance_row(performance: Performance) -> dict[str, Any]:
    """The columns of ``performance`` on its roster-25 sheet after the key, in order."""
    category = categories.get(performance.category)
    values: dict[str, Any] = {
        category.name_column: performance.name,
        "內容簡述": performance.description,
    }
    if category.dates == categories.RANGE:
        values["開始日期"] = roc_date(performance.starts_on)
        values["結束日期"] = roc_date(performance.ends_on)
    elif category.dates == categories.SINGLE:
        values[category.date_column] = roc_date(performance.starts_on)
    details = performance.details or {}
    for field in category.fields:
        raw = details.get(field.key, "")
        if field.type == categories.DATE:
            raw = roc_date(raw)
        elif field.type == categories.DECIMAL and raw not in ("", None):
            raw = Decimal(str(raw))
        values[field.column] = "" if raw is None else raw
    return {column: values.get(column, "") for column in PERFORMANCE_SHEETS[category.sheet]}


def file_name(school_code: str, roc_year: int, term: int, roster: int, moment: dt.datetime) -> str:
    """The roster file's name as the central database expects it (``moment`` local time)."""
    return f"{school_code}_{roc_year}_{term}_{roster}_{moment:%Y%m%d_%H_%M_%S}.xlsx"


def cover_row(school_code: str, roc_year: int, term: int, roster: int) -> tuple:
    return (school_code, roc_year, term, roster)


def precheck_row(code: str, name: str, grade: int, credits: int, division: str) -> list[Any]:
    """A row of the pre-check file after the key: the course filled, the grades blank
    (None: no cell written)."""
    filled = [code, name, grade, credits]
    return filled + [None] * (len(GRADE_COLUMNS[division]) - PRECHECK_FILLED)


def outcomes_roster(division: str) -> int:
    return CONTINUING_OUTCOMES_ROSTER if division == "continuing" else OUTCOMES_ROSTER


def student_row(
    *,
    gender: str,
    department_code: str,
    division: str,
    grade: int | None,
    class_name: str,
    seat: int | None,
    changed_on: dt.date | None,
) -> list[Any]:
    """Roster 1's columns after the key, for an enrolled student."""
    return [
        gender,
        "",  # 群別代碼: not recorded by the platform
        department_code,
        DIVISION_CODES[division],
        CLASS_TYPE_CODES[division],
        grade,
        class_name,
        seat,
        ORDINARY_STUDENT,
        ENROLLED_TEXT,
        roc_date(changed_on),
    ]


def cadre_row(unit: str, title: str, level: str, starts_on: dt.date, ends_on: dt.date) -> list:
    """Roster 24's columns after the key."""
    return [unit, roc_date(starts_on), roc_date(ends_on), title, level]


def _flag(value: bool | None) -> int | None:
    return None if value is None else (1 if value else 0)


def grade_row(
    code: str,
    name: str,
    grade: int,
    credits: int,
    division: str,
    *,
    score: Decimal | None,
    passed: bool | None,
    makeup_score: Decimal | None,
    makeup_passed: bool | None,
    counts_credit: str,
    description: str,
) -> list[Any]:
    """A row of the grade roster's 學期成績 sheet after the key."""
    if division == "continuing":
        # The yearly score and pass columns are the second term's business; the platform
        # keeps term scores only, so they stay blank.
        return [code, name, grade, credits, score, _flag(passed), None, None, counts_credit,
                description]  # fmt: skip
    makeup = ABSENT_SCORE if makeup_score is None else makeup_score
    return [code, name, grade, credits, score, _flag(passed), makeup, _flag(makeup_passed),
            counts_credit, description]  # fmt: skip


def batch_roster(roster: int, batch: int) -> int:
    """The code of ``roster`` in grade 12's ``batch`` (0: the roster itself)."""
    return BATCH_ROSTERS[batch][roster] if batch else roster
