"""Diverse performances (多元表現) the school enters for students, from one file.

One row per item: the student (學號 or 身分證號), the category (類別: its number 1 to 10
on roster 25, or its Chinese name), 名稱, 內容簡述, the dates, and the category's own
columns under their roster 25 names (幹部等級, 競賽等級代碼, 時數, ...); a column that
the row's category does not have is ignored for that row. The rules are the performance
services' (``submissions.services.performances`` and ``submissions.performance_categories``),
reported here as message codes row by row.

Items land in the school year of the chosen term (the current school year when none is
chosen), entered by the school (來源 校內, the default) or for an outside body (校外). An
item is the same item when the student, the category, 名稱 and the (first) date agree:
importing a file again changes what differs and adds nothing twice.
"""

import dataclasses
import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from records.imports import values
from records.imports.affairs import BIRTH_DATE_COLUMN
from records.imports.base import Column, Context, ImportKind, Progress, Report, Row
from records.imports.enrolments import BATCH, STUDENT_COLUMNS, StudentDirectory
from records.imports.values import Cell, CellError
from submissions import performance_categories as categories
from submissions.models import Performance, PerformanceSource, PerformanceState
from submissions.services.performances import NAME_MAX, STAFF_SOURCES, video_url_problem
from submissions.services.windows import policy_for_year

# The message codes of this kind, registered with the import engine's own.
MESSAGES = {
    "performance_category": _(
        "Not a category: write its number from 1 to 10 or its name (幹部經歷暨事蹟, 競賽參與, "
        "檢定證照, 服務學習, 彈性學習時間, 團體活動時間, 職場學習, 作品成果, "
        "大學及技專校院先修課程, 其他)."
    ),
    "performance_source": _("Write 校內 (held by the school) or 校外 (an outside body)."),
    "performance_choice": _("Write one of the codes %(value)s."),
    "performance_digits": _("Digits only: the code from the central database's code table."),
    "performance_future_date": _("The date cannot be in the future."),
    "performance_end_before_start": _("The end cannot be before the start (開始日期)."),
    "performance_video_url": _(
        "Only web links starting with https:// or http:// are accepted as video links."
    ),
}
WHAT = {"performance": _("item (student, 類別, 名稱 and date)")}

# Codes of ``performance_categories`` that the import engine already words its own way.
DETAIL_CODES = {
    "required": "required",
    "too_long": "too_long",
    "integer": "integer",
    "number": "number",
    "decimals": "decimals",
    "out_of_range": "out_of_range",
    "date": "date_shape",
    "digits": "performance_digits",
    "choice": "performance_choice",
}
SOURCES = {
    "校內": PerformanceSource.SCHOOL,
    "學校": PerformanceSource.SCHOOL,
    "1": PerformanceSource.SCHOOL,
    "school": PerformanceSource.SCHOOL,
    "校外": PerformanceSource.OUTSIDE,
    "2": PerformanceSource.OUTSIDE,
    "outside": PerformanceSource.OUTSIDE,
}
# The fields kept per item besides its key (student, category, name, first date), with the
# column that shows a change; a change of details shows under each detail's own column.
COMPARED = {
    "description": "內容簡述",
    "ends_on": "結束日期",
    "details": "",
    "video_url": "外部影音連結",
    "source": "來源",
}


def category_value(value: Cell) -> str:
    found = categories.find(values.text(value))
    if found is None:
        raise CellError("performance_category")
    return found.code


def source_value(value: Cell) -> str:
    raw = values.text(value)
    found = SOURCES.get((raw[:-2] if raw.endswith(".0") else raw).lower())
    if found is None:
        raise CellError("performance_source")
    return found


def raw_cell(value: Cell) -> Cell:
    """Kept as it came; the row's category decides how it is read."""
    return value


def _column_help(column: str) -> str:
    """Which categories use a detail column, with their codes."""
    uses = []
    for category in categories.CATEGORY_LIST:
        field = next((f for f in category.fields if f.column == column), None)
        if field is None:
            continue
        text = f"{category.number} {category.chinese}: {field.label}"
        if field.choices:
            text += " (" + ", ".join(f"{code} {label}" for code, label in field.choices) + ")"
        uses.append(text)
    return gettext("Used by %(uses)s.") % {"uses": "; ".join(uses)}


def _detail_columns() -> tuple[Column, ...]:
    """One column per roster 25 column name any category adds, in the categories' order."""
    seen: dict[str, Column] = {}
    for category in categories.CATEGORY_LIST:
        if category.dates == categories.SINGLE and category.date_column not in seen:
            seen[category.date_column] = Column(
                category.date_column,
                category.date_column,
                values.date,
                _("The date, for categories with one date (競賽參與, 檢定證照, 作品成果)."),
                empty=None,
            )
        for field in category.fields:
            if field.column not in seen:
                seen[field.column] = Column(
                    field.column, field.column, raw_cell, lazy(_column_help, str)(field.column)
                )
    return tuple(seen.values())


NAME_ALIASES = tuple({c.name_column for c in categories.CATEGORY_LIST if c.name_column != "名稱"})


@dataclasses.dataclass
class PerformancePlan:
    create: list[Performance] = dataclasses.field(default_factory=list)
    update: list[Performance] = dataclasses.field(default_factory=list)


class PerformancesImport(ImportKind):
    name = "performances"
    label = _("Diverse performances entered by the school (多元表現)")
    roles = frozenset({Role.STUDENT_AFFAIRS, Role.REGISTRY, Role.CURRICULUM})
    needs_term = False
    template_name = "多元表現匯入範本"
    student_columns = ("學號", "身分證號")
    columns = (
        *STUDENT_COLUMNS,
        BIRTH_DATE_COLUMN,
        Column(
            "類別",
            "category",
            category_value,
            _(
                "The category: its number on roster 25 or its name: 1 幹部經歷暨事蹟, "
                "2 競賽參與, 3 檢定證照, 4 服務學習, 5 彈性學習時間, 6 團體活動時間, "
                "7 職場學習, 8 作品成果, 9 大學及技專校院先修課程, 10 其他."
            ),
            required=True,
            aliases=("多元表現類別",),
        ),
        Column(
            "名稱",
            "name",
            values.limited(NAME_MAX),
            _(
                "What it is: the post (擔任職務), the competition (競賽名稱), the "
                "certificate, the service, the course... At most 100 characters."
            ),
            required=True,
            aliases=tuple(sorted(NAME_ALIASES)),
        ),
        Column(
            "內容簡述",
            "description",
            values.limited(500),
            _("The short description; at most the school's limit (100 characters nationally)."),
            required=True,
            multiline=True,
        ),
        Column(
            "開始日期",
            "starts_on",
            values.date,
            _("First day, for categories with a period: ROC date (1140901) or 2025-09-01."),
            empty=None,
        ),
        Column(
            "結束日期",
            "ends_on",
            values.date,
            _("Last day, optional; not before the first."),
            empty=None,
        ),
        *_detail_columns(),
        Column(
            "外部影音連結",
            "video_url",
            values.limited(500),
            _("Optional: a link to a video, starting with https://."),
        ),
        Column(
            "來源",
            "source",
            source_value,
            _("校內 (held by the school, the default) or 校外 (reported by an outside body)."),
            empty=PerformanceSource.SCHOOL,
        ),
    )

    def plan(
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> PerformancePlan:
        directory = StudentDirectory(context)
        policy = policy_for_year(context.school, context.school_year)
        today = timezone.localdate()
        existing: dict[tuple, Performance] = {
            (p.student_id, p.category, p.name, p.starts_on): p
            for p in Performance.objects.filter(
                school=context.school,
                school_year=context.school_year,
                source__in=STAFF_SOURCES,
                # Another office's items are theirs: a row like one of them is a new item.
                entered_by_office__in=["", context.by.role if context.by else ""],
            ).only("pk", "student_id", "category", "name", "starts_on", *COMPARED)
        }
        plan = PerformancePlan()
        first_row: dict[tuple, int] = {}
        for row in rows:
            student = directory.student(row, columns, report)
            fields = self._fields(row, columns, policy, today, report)
            if student is None or fields is None:
                continue
            key = (student, fields["category"], fields["name"], fields["starts_on"])
            seen = first_row.setdefault(key, row.number)
            if seen != row.number:
                report.problem(
                    row.number, columns["name"], "duplicate", first=seen, what="performance"
                )
                continue
            number, student_name, _birth = directory.students[student]
            category = categories.get(fields["category"])
            label = f"{student_name} · {category.chinese} · {fields['name']}"
            found = existing.get(key)
            if found is None:
                plan.create.append(self._new(student, fields, context))
                report.added(row.number, number, label, self._shown(category, fields))
                continue
            changes = self._changes(category, found, fields)
            if not changes:
                report.unchanged(row.number, number, label)
                continue
            for f in COMPARED:
                setattr(found, f, fields[f])
            plan.update.append(found)
            report.changed(row.number, number, label, changes)
        return plan

    @staticmethod
    def _shown(category: categories.Category, fields: dict[str, Any]) -> list[tuple[str, Any]]:
        """What an added row lists: its dates and details under their roster columns."""
        date_column = category.date_column if category.dates == categories.SINGLE else "開始日期"
        shown: list[tuple[str, Any]] = [("類別", category.chinese)]
        if fields["starts_on"]:
            shown.append((date_column, fields["starts_on"]))
        if fields["ends_on"]:
            shown.append(("結束日期", fields["ends_on"]))
        details = fields["details"]
        shown += [(f.column, details[f.key]) for f in category.fields if f.key in details]
        return shown

    @staticmethod
    def _changes(
        category: categories.Category, found: Performance, fields: dict[str, Any]
    ) -> list[tuple[str, Any, Any]]:
        changes = [
            (column, getattr(found, f), fields[f])
            for f, column in COMPARED.items()
            if f != "details" and getattr(found, f) != fields[f]
        ]
        old, new = found.details or {}, fields["details"]
        changes += [
            (f.column, old.get(f.key), new.get(f.key))
            for f in category.fields
            if old.get(f.key) != new.get(f.key)
        ]
        return changes

    def _fields(
        self, row: Row, columns: dict[str, str], policy, today: dt.date, report: Report
    ) -> dict[str, Any] | None:
        """The item's fields as the services keep them; None after reporting a problem."""
        v = row.values
        category = categories.get(v["category"])
        before = report.problem_count
        if len(v["description"]) > policy.short_description_max:
            report.problem(
                row.number,
                columns["description"],
                "too_long",
                max=policy.short_description_max,
                length=len(v["description"]),
            )
        starts_on, ends_on = self._dates(row, columns, category, today, report)
        details = {}
        for field in category.fields:
            try:
                value = categories.parse_value(field, v.get(field.column))
                if value is None and field.required:
                    raise categories.DetailError("required")
            except categories.DetailError as error:
                params = dict(error.params)
                if error.code == "choice":
                    params = {"value": ", ".join(code for code, _label in field.choices)}
                report.problem(
                    row.number,
                    columns.get(field.column, field.column),
                    DETAIL_CODES[error.code],
                    **{k: str(p) for k, p in params.items()},
                )
                continue
            if value is not None:
                details[field.key] = value
        video_url = v.get("video_url", "")
        if video_url_problem(video_url):
            report.problem(row.number, columns["video_url"], "performance_video_url")
        if report.problem_count != before:
            return None
        return {
            "category": category.code,
            "name": v["name"],
            "description": v["description"],
            "starts_on": starts_on,
            "ends_on": ends_on,
            "details": details,
            "video_url": video_url,
            "source": v.get("source") or PerformanceSource.SCHOOL,
        }

    def _dates(
        self,
        row: Row,
        columns: dict[str, str],
        category: categories.Category,
        today: dt.date,
        report: Report,
    ) -> tuple[dt.date | None, dt.date | None]:
        """A period (開始日期, 結束日期), one day (the category's date column, or 開始日期),
        or none."""
        v = row.values
        if category.dates == categories.NO_DATES:
            return None, None
        if category.dates == categories.SINGLE:
            own = v.get(category.date_column)
            field = category.date_column if own is not None else "starts_on"
            starts_on, ends_on = own or v.get("starts_on"), None
            header = columns.get(field) or category.date_column
        else:
            starts_on, ends_on = v.get("starts_on"), v.get("ends_on")
            header = columns.get("starts_on") or "開始日期"
        if starts_on is None:
            report.problem(row.number, header, "required")
        elif starts_on > today:
            report.problem(row.number, header, "performance_future_date")
        elif ends_on is not None and ends_on < starts_on:
            report.problem(row.number, columns["ends_on"], "performance_end_before_start")
        return starts_on, ends_on

    @staticmethod
    def _new(student: int, fields: dict[str, Any], context: Context) -> Performance:
        return Performance(
            school=context.school,
            student_id=student,
            school_year=context.school_year,
            state=PerformanceState.SAVED,
            entered_by=context.by.user if context.by else None,
            entered_by_office=context.by.role if context.by else "",
            **fields,
        )

    def write(
        self, plan: PerformancePlan, context: Context, report: Report, progress: Progress
    ) -> None:
        Performance.objects.bulk_create(plan.create, batch_size=BATCH)
        progress(0.7)
        now = timezone.now()
        for item in plan.update:
            item.updated_at = now
        Performance.objects.bulk_update(plan.update, [*COMPARED, "updated_at"], batch_size=BATCH)
        progress(1.0)
