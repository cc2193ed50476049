"""The ten categories of diverse performances (多元表現) as one table of data.

Each category is a sheet of roster 25 (學生自填多元表現名冊), in the roster's order. Every
performance has the shared columns (name, short description, dates, files, video link);
what a category adds lives in ``Performance.details`` under the keys listed here, each with
its English label (translated), its Chinese column name on the roster (``column``), its
type, whether it is required and, for coded columns, the code table.

Stored values are JSON-ready: text, whole numbers as ``int``, decimals as text ("1.5", so
no float rounding), dates as ISO text, codes as text.

Code tables: 幹部等級, 競賽等級代碼, 團體參與代碼 and 註1 follow CENTRAL-FORMAT.md section 7.
The codes of 彈性學習時間類別, 團體活動時間類別 and 職場學習類別 were not found in public
sources (*verify*): they number the kinds that the 108 curriculum guidelines (總綱) list,
in the guidelines' order, and live only here, so a corrected table is one edit.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portfolio.lib.numbers import whole_number
from records.models import CadreLevel
from submissions.models import PerformanceCategory

TEXT, INT, DECIMAL, DATE, CHOICE = "text", "int", "decimal", "date", "choice"

# How a category uses the shared dates: a period (starts_on, ends_on), one day (starts_on,
# shown under the category's own label), or none (flexible and group activity time carry
# a school year and term instead).
RANGE, SINGLE, NO_DATES = "range", "single", "none"


@dataclasses.dataclass(frozen=True)
class DetailField:
    """One column a category adds to the shared ones."""

    key: str
    label: str | Promise
    column: str
    type: str = TEXT
    required: bool = False
    choices: tuple[tuple[str, str | Promise], ...] = ()
    max_length: int = 100
    min_value: int | Decimal | None = None
    max_value: int | Decimal | None = None
    decimal_places: int = 0
    digits_only: bool = False
    help_text: str | Promise = ""

    def choice_label(self, code: str) -> str:
        return str(dict(self.choices).get(code, ""))


@dataclasses.dataclass(frozen=True)
class Category:
    code: str
    number: int  # 1 to 10: the sheet's place on roster 25
    chinese: str
    sheet: str
    name_label: str | Promise
    name_column: str  # the roster column that the shared ``name`` fills
    dates: str
    fields: tuple[DetailField, ...]
    name_help: str | Promise = ""
    date_label: str | Promise = ""  # SINGLE: what the one date is
    date_column: str = ""  # SINGLE: its roster column

    @property
    def label(self) -> str:
        return str(PerformanceCategory(self.code).label)

    @property
    def field_map(self) -> dict[str, DetailField]:
        return {field.key: field for field in self.fields}

    @property
    def result_date(self) -> bool:
        """A single date that records a result (announced, obtained, made): never ahead."""
        return self.dates == SINGLE


# --- code tables ----------------------------------------------------------------------------

CADRE_LEVELS = tuple((value, label) for value, label in CadreLevel.choices)
COMPETITION_LEVELS = (
    ("1", pgettext_lazy("competition level", "School")),  # 校級
    ("2", _("County or city")),  # 縣市級
    ("3", _("National")),  # 全國
    ("4", _("International")),  # 國際
)
PARTICIPATION = (("1", _("Individual")), ("2", _("Team")))  # 個人 / 團體
CERTIFICATE_KINDS = (
    ("1", _("Language test")),  # 語文能力測驗
    ("2", _("Technician certificate")),  # 技術士證照
    ("3", _("Other")),  # 其他
)
FLEXIBLE_KINDS = (
    ("1", _("Self-directed learning")),  # 自主學習
    ("2", _("Training for competitions")),  # 選手培訓
    ("3", _("Enrichment teaching")),  # 充實(增廣)性教學
    ("4", _("Remedial teaching")),  # 補強性教學
    ("5", _("School's own activities")),  # 學校特色活動
)
GROUP_ACTIVITY_KINDS = (
    ("1", _("Class activities")),  # 班級活動
    ("2", _("Club activities")),  # 社團活動
    ("3", _("Student council activities")),  # 學生自治會活動
    ("4", _("Service-learning activities")),  # 學生服務學習活動
    ("5", _("Assemblies and talks")),  # 週會或講座
)
WORKPLACE_KINDS = (
    ("1", _("Workplace visit")),  # 職場參觀
    ("2", _("Job shadowing")),  # 職場見習
    ("3", _("Internship")),  # 職場實習
    ("4", _("Other")),  # 其他
)
TERMS = (("1", _("Term 1")), ("2", _("Term 2")))


def _organiser(
    column: str, *, required: bool = False, help_text: str | Promise = ""
) -> DetailField:
    return DetailField("organiser", _("Organiser"), column, required=required, help_text=help_text)


def _hours(column: str = "時數", *, label: str | Promise = "") -> DetailField:
    return DetailField(
        "hours",
        label or _("Hours"),
        column,
        DECIMAL,
        min_value=Decimal("0"),
        max_value=Decimal("9999"),
        decimal_places=1,
    )


def _school_year(column: str) -> DetailField:
    return DetailField(
        "year",
        _("School year (ROC)"),
        column,
        INT,
        required=True,
        min_value=100,
        max_value=200,
        help_text=_("For example 114."),
    )


def _term(column: str) -> DetailField:
    return DetailField("term", _("Term"), column, CHOICE, required=True, choices=TERMS)


def _periods(key: str, label: str | Promise, column: str) -> DetailField:
    return DetailField(key, label, column, INT, min_value=0, max_value=999)


CATEGORY_LIST: tuple[Category, ...] = (
    Category(
        code=PerformanceCategory.CADRE,
        number=1,
        chinese="幹部經歷暨事蹟",
        sheet="幹部經歷暨事蹟紀錄",
        name_label=_("Post"),
        name_column="擔任職務",
        name_help=_("For example 班長 or 社長."),
        dates=RANGE,
        fields=(
            _organiser(
                "單位名稱", required=True, help_text=_("The class, club or body, such as 學生會.")
            ),
            DetailField("cadre_level", _("Cadre level"), "幹部等級", CHOICE, True, CADRE_LEVELS),
        ),
    ),
    Category(
        code=PerformanceCategory.COMPETITION,
        number=2,
        chinese="競賽參與",
        sheet="競賽參與紀錄",
        name_label=_("Competition"),
        name_column="競賽名稱",
        dates=SINGLE,
        date_label=_("Result announced on"),
        date_column="結果公布日期",
        fields=(
            DetailField("item", _("Event"), "項目", help_text=_("The event or category entered.")),
            DetailField(
                "competition_level",
                _("Competition level"),
                "競賽等級代碼",
                CHOICE,
                True,
                COMPETITION_LEVELS,
            ),
            DetailField(
                "award",
                _("Award"),
                "獎項",
                required=True,
                help_text=_("For example 第一名, 佳作 or 未得獎."),
            ),
            DetailField(
                "participation", _("Took part"), "團體參與代碼", CHOICE, True, PARTICIPATION
            ),
        ),
    ),
    Category(
        code=PerformanceCategory.CERTIFICATE,
        number=3,
        chinese="檢定證照",
        sheet="檢定證照紀錄",
        name_label=_("Certificate"),
        name_column="證照名稱",
        name_help=_("The name of the test or certificate, such as 全民英檢中級."),
        dates=SINGLE,
        date_label=_("Obtained on"),
        date_column="取得證照日期",
        fields=(
            DetailField(
                "certificate_code",
                _("Certificate code"),
                "證照代碼",
                required=True,
                max_length=20,
                digits_only=True,
                help_text=_("The number from the central database's certificate code table."),
            ),
            DetailField("certificate_kind", _("Kind"), "註1", CHOICE, True, CERTIFICATE_KINDS),
            DetailField(
                "score",
                _("Score"),
                "分數",
                DECIMAL,
                min_value=Decimal("0"),
                max_value=Decimal("99999"),
                decimal_places=2,
            ),
            DetailField(
                "sub_results",
                _("Results by part"),
                "分項結果",
                max_length=200,
                help_text=_("Parts separated by commas, such as 觀念題80,實作題340."),
            ),
            DetailField("certificate_number", _("Certificate number"), "證照字號", max_length=50),
            DetailField("exam_group", _("Test group"), "檢定組別"),
        ),
    ),
    Category(
        code=PerformanceCategory.SERVICE,
        number=4,
        chinese="服務學習",
        sheet="服務學習紀錄",
        name_label=_("Service"),
        name_column="服務名稱",
        dates=RANGE,
        fields=(_organiser("服務單位", required=True), _hours()),
    ),
    Category(
        code=PerformanceCategory.FLEXIBLE,
        number=5,
        chinese="彈性學習時間",
        sheet="彈性學習時間紀錄",
        name_label=_("Title of the offering"),
        name_column="內容開設名稱",
        dates=NO_DATES,
        fields=(
            DetailField(
                "kind", _("Kind"), "彈性學習時間類別種類代碼", CHOICE, True, FLEXIBLE_KINDS
            ),
            _organiser("開設單位"),
            _school_year("開設學年度"),
            _term("開設學期"),
            _periods("periods_per_week", _("Periods per week"), "每週節數"),
            _periods("weeks", _("Weeks"), "開設週數"),
        ),
    ),
    Category(
        code=PerformanceCategory.GROUP_ACTIVITY,
        number=6,
        chinese="團體活動時間",
        sheet="團體活動時間紀錄",
        name_label=_("Activity"),
        name_column="團體活動內容名稱",
        dates=NO_DATES,
        fields=(
            DetailField(
                "kind", _("Kind"), "團體活動時間類別代碼", CHOICE, True, GROUP_ACTIVITY_KINDS
            ),
            _organiser("辦理單位"),
            _school_year("活動學年度"),
            _term("活動學期"),
            _periods("periods", _("Periods"), "節數"),
        ),
    ),
    Category(
        code=PerformanceCategory.WORKPLACE,
        number=7,
        chinese="職場學習",
        sheet="職場學習紀錄",
        name_label=_("Position"),
        name_column="職場學習職稱",
        name_help=_("Your title at the workplace, such as 實習生."),
        dates=RANGE,
        fields=(
            DetailField("kind", _("Kind"), "職場學習類別代碼", CHOICE, True, WORKPLACE_KINDS),
            _organiser("職場學習單位", required=True),
            _hours(),
        ),
    ),
    Category(
        code=PerformanceCategory.WORK,
        number=8,
        chinese="作品成果",
        sheet="作品成果紀錄",
        name_label=_("Title of the work"),
        name_column="名稱",
        dates=SINGLE,
        date_label=_("Date"),
        date_column="日期",
        fields=(),
    ),
    Category(
        code=PerformanceCategory.PREPARATORY,
        number=9,
        chinese="大學及技專校院先修課程",
        sheet="大學及技專校院先修課程紀錄",
        name_label=_("Course"),
        name_column="課程名稱",
        dates=RANGE,
        fields=(
            DetailField("project", _("Programme"), "計畫專案"),
            _organiser("開設單位", required=True, help_text=_("The university or college.")),
            DetailField(
                "credits",
                _("Credits"),
                "學分數",
                DECIMAL,
                min_value=Decimal("0"),
                max_value=Decimal("99"),
                decimal_places=1,
            ),
            _hours("總時數", label=_("Total hours")),
        ),
    ),
    Category(
        code=PerformanceCategory.OTHER,
        number=10,
        chinese="其他",
        sheet="其他多元表現紀錄",
        name_label=_("Name"),
        name_column="名稱",
        dates=RANGE,
        fields=(_organiser("主辦單位"), _hours()),
    ),
)
CATEGORIES: dict[str, Category] = {category.code: category for category in CATEGORY_LIST}


def get(code: str) -> Category:
    """The category with this code; KeyError for an unknown one."""
    return CATEGORIES[code]


def find(text: str) -> Category | None:
    """A category as people write it in a file: its code (cadre), its number on roster
    25 (1 to 10), its Chinese name (幹部經歷暨事蹟) or sheet name (幹部經歷暨事蹟紀錄)."""
    raw = (text or "").strip()
    if raw.endswith(".0"):
        raw = raw[:-2]
    for category in CATEGORY_LIST:
        if raw in (category.code, str(category.number), category.chinese, category.sheet):
            return category
    return None


# --- one value --------------------------------------------------------------------------------


class DetailError(Exception):
    """A value that does not fit its field: a stable code and its parameters."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


MESSAGES = {
    "required": _("Fill in this field."),
    "too_long": _("At most %(max)s characters; this has %(length)s."),
    "digits": _("Digits only."),
    "integer": _("Write a whole number."),
    "number": _("Write a number."),
    "decimals": _("At most %(places)s decimal places."),
    "out_of_range": _("Must be between %(min)s and %(max)s."),
    "date": _("Write a date such as 2025-09-01."),
    "choice": _("Choose one of: %(choices)s."),
}


def message(error: DetailError) -> str:
    return str(MESSAGES[error.code]) % error.params if error.params else str(MESSAGES[error.code])


def _text(raw: Any) -> str:
    text = raw if isinstance(raw, str) else str(raw)
    text = text.replace("\u3000", " ").strip()
    return text


def _whole(text: str) -> str:
    """A number cell a spreadsheet wrote as 3.0 is the whole number 3."""
    return text[:-2] if re.fullmatch(r"[+-]?\d+\.0", text) else text


def _parse_int(field: DetailField, raw: Any) -> int:
    if isinstance(raw, bool):
        raise DetailError("integer")
    number = whole_number(_whole(_text(raw)), signed=True)
    if number is None:
        raise DetailError("integer")
    return _bounded(field, number)


def _parse_decimal(field: DetailField, raw: Any) -> str:
    if isinstance(raw, bool):
        raise DetailError("number")
    try:
        number = Decimal(_text(raw))
    except InvalidOperation as exc:
        raise DetailError("number") from exc
    if not number.is_finite():
        raise DetailError("number")
    number = _bounded(field, number)
    step = Decimal(1).scaleb(-field.decimal_places)
    rounded = number.quantize(step)
    # Spreadsheets store 1.55 as 1.5499999999999998: that is still two decimals.
    if abs(number - rounded) > Decimal("1e-9"):
        raise DetailError("decimals", places=field.decimal_places)
    text = f"{rounded:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _bounded(field: DetailField, number):
    low, high = field.min_value, field.max_value
    if (low is not None and number < low) or (high is not None and number > high):
        raise DetailError("out_of_range", min=low, max=high)
    return number


def _parse_date(raw: Any) -> str:
    if isinstance(raw, dt.datetime):
        return raw.date().isoformat()
    if isinstance(raw, dt.date):
        return raw.isoformat()
    try:
        return dt.date.fromisoformat(_text(raw)).isoformat()
    except ValueError as exc:
        raise DetailError("date") from exc


def _parse_choice(field: DetailField, raw: Any) -> str:
    code = _whole(_text(raw))
    if code not in dict(field.choices):
        shown = ", ".join(f"{value} {label}" for value, label in field.choices)
        raise DetailError("choice", choices=shown)
    return code


def _parse_text(field: DetailField, raw: Any) -> str:
    text = _text(raw)
    if field.digits_only:
        text = _whole(text)
        if not text.isascii() or not text.isdigit():
            raise DetailError("digits")
    if len(text) > field.max_length:
        raise DetailError("too_long", max=field.max_length, length=len(text))
    return text


def is_empty(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not _text(raw))


def parse_value(field: DetailField, raw: Any) -> Any:
    """``raw`` (typed by a form, read from a file, or stored) as the JSON-ready value to
    keep; None when empty (the caller decides whether that is allowed)."""
    if is_empty(raw):
        return None
    if field.type == INT:
        return _parse_int(field, raw)
    if field.type == DECIMAL:
        return _parse_decimal(field, raw)
    if field.type == DATE:
        return _parse_date(raw)
    if field.type == CHOICE:
        return _parse_choice(field, raw)
    return _parse_text(field, raw)


# --- a category's details ------------------------------------------------------------------


def clean_details(
    code: str, details: Mapping[str, Any] | None
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The category's details as they are kept, and the problems by key (messages in the
    active language). Keys the category does not have are dropped; empty values are left
    out."""
    category = get(code)
    details = details or {}
    cleaned: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    for field in category.fields:
        try:
            value = parse_value(field, details.get(field.key))
            if value is None and field.required:
                raise DetailError("required")
        except DetailError as error:
            problems[field.key] = [message(error)]
            continue
        if value is not None:
            cleaned[field.key] = value
    return cleaned, problems


def validate_details(code: str, details: Mapping[str, Any] | None) -> dict[str, list[str]]:
    """What is wrong with ``details`` for the category: {key: [messages]}, empty if nothing."""
    return clean_details(code, details)[1]


def details_from_form(code: str, cleaned_data: Mapping[str, Any]) -> dict[str, Any]:
    """A form's cleaned data (ints, Decimals, dates, codes) as the category's details."""
    details = {}
    for field in get(code).fields:
        value = cleaned_data.get(field.key)
        if is_empty(value):
            continue
        if isinstance(value, Decimal):
            value = f"{value:f}"
        elif isinstance(value, dt.date):
            value = value.isoformat()
        details[field.key] = value
    return details


def shown_details(code: str, details: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """(label, value) of each filled detail, codes with their meaning, for pages and lists."""
    rows = []
    details = details or {}
    for field in get(code).fields:
        value = details.get(field.key)
        if is_empty(value):
            continue
        text = str(value)
        if field.type == CHOICE and field.choice_label(text):
            text = f"{text} {field.choice_label(text)}"
        rows.append((str(field.label), text))
    return rows
