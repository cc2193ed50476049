"""Student affairs' records of a term: cadre posts (幹部經歷, roster 24), club memberships
(社團) and attendance summaries (缺勤).

Students are named by 學號 or 身分證號 (checked against 出生日期 when the file has it),
as for enrolments and grades. The cadre post rules are those of the cadre form's
service (``records.services.staff._cadre_data``), restated here with message codes: the
service raises translated sentences for one post, an import reports codes row by row.
"""

import dataclasses
import datetime as dt
from typing import Any

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from portfolio.lib import roc
from records.imports import values
from records.imports.base import (
    LIST_LIMIT,
    Column,
    Context,
    ImportKind,
    Progress,
    Report,
    Row,
    update_changed,
)
from records.imports.enrolments import BATCH, STUDENT_COLUMNS, StudentDirectory
from records.imports.values import Cell, CellError
from records.models import (
    AttendanceSummary,
    CadreLevel,
    CadrePost,
    Club,
    ClubMembership,
)
from records.services.staff import ATTENDANCE_MAX_PERIODS

BIRTH_DATE_COLUMN = Column(
    "出生日期",
    "birth_date",
    values.date,
    _("Optional: checked against the student's record."),
    empty=None,
)


def _student_column(columns: dict[str, str]) -> str:
    return columns.get("student_number") or columns.get("national_id", "")


# Cadre posts ---------------------------------------------------------------------------


def cadre_level(value: Cell) -> str:
    raw = values.text(value)
    if raw.endswith(".0"):
        raw = raw[:-2]
    if raw not in CadreLevel.values:
        raise CellError("cadre_level")
    return raw


CADRE_FIELDS = {"level": "幹部等級", "ends_on": "結束日期"}


@dataclasses.dataclass
class CadrePlan:
    create: list[CadrePost] = dataclasses.field(default_factory=list)
    update: list[tuple[int, dict[str, Any]]] = dataclasses.field(default_factory=list)


class CadrePostsImport(ImportKind):
    name = "cadre_posts"
    label = _("Cadre posts (幹部經歷)")
    roles = frozenset({Role.STUDENT_AFFAIRS})
    template_name = "幹部經歷匯入範本"
    student_columns = ("學號", "身分證號")
    columns = (
        *STUDENT_COLUMNS,
        BIRTH_DATE_COLUMN,
        Column(
            "單位名稱",
            "unit",
            values.limited(100),
            _("Unit, such as 學生會 or 101."),
            required=True,
        ),
        Column(
            "開始日期",
            "starts_on",
            values.date,
            _("First day of the post: ROC date (1140901) or 2025-09-01."),
            required=True,
        ),
        Column(
            "結束日期",
            "ends_on",
            values.date,
            _("Last day of the post; not before the first. The post must overlap the term."),
            required=True,
        ),
        Column(
            "擔任職務",
            "title",
            values.limited(100),
            _("Post, such as 班長 or 社長."),
            required=True,
            aliases=("職稱",),
        ),
        Column(
            "幹部等級",
            "level",
            cadre_level,
            _("1 校級 (school), 2 班級 (class), 3 社團 (club), 4 實習幹部 (practicum), 5 其他."),
            required=True,
        ),
    )

    def check(self, row: Row, columns: dict[str, str], context: Context, report: Report) -> None:
        """The cadre form's rules: the post ends on or after it starts, both dates fall
        in the term's school year, and the post is held during the term."""
        term = context.required_term
        starts_on: dt.date = row.values["starts_on"]
        ends_on: dt.date = row.values["ends_on"]
        if starts_on > ends_on:
            report.problem(row.number, columns["ends_on"], "cadre_end_before_start")
        first, last = roc.school_year_bounds(term.school_year.roc_year)
        for field, day in (("starts_on", starts_on), ("ends_on", ends_on)):
            if not first <= day <= last:
                report.problem(
                    row.number,
                    columns[field],
                    "cadre_outside_year",
                    year=term.school_year.roc_year,
                    min=first.isoformat(),
                    max=last.isoformat(),
                )
        if starts_on <= ends_on and (ends_on < term.starts_on or starts_on > term.ends_on):
            report.problem(
                row.number,
                columns["starts_on"],
                "cadre_outside_term",
                term=term.label,
                min=term.starts_on.isoformat(),
                max=term.ends_on.isoformat(),
            )

    def plan(
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> CadrePlan:
        directory = StudentDirectory(context)
        existing = {
            (student, unit, title, starts_on): (pk, {"level": level, "ends_on": ends_on})
            for pk, student, unit, title, starts_on, level, ends_on in CadrePost.objects.filter(
                school=context.school, term=context.term
            ).values_list("pk", "student_id", "unit", "title", "starts_on", "level", "ends_on")
        }
        plan = CadrePlan()
        first_row: dict[tuple, int] = {}
        for row in rows:
            student = directory.student(row, columns, report)
            if student is None:
                continue
            v = row.values
            key = (student, v["unit"], v["title"], v["starts_on"])
            seen = first_row.setdefault(key, row.number)
            if seen != row.number:
                report.problem(
                    row.number, columns["title"], "duplicate", first=seen, what="cadre_post"
                )
                continue
            number, name, _birth = directory.students[student]
            label = f"{name} · {v['unit']} {v['title']}"
            data = {"level": v["level"], "ends_on": v["ends_on"]}
            found = existing.get(key)
            if found is None:
                plan.create.append(
                    CadrePost(
                        school=context.school,
                        student_id=student,
                        term=context.term,
                        unit=v["unit"],
                        title=v["title"],
                        starts_on=v["starts_on"],
                        **data,
                    )
                )
                report.added(
                    row.number,
                    number,
                    label,
                    [
                        (columns["starts_on"], v["starts_on"]),
                        (columns["ends_on"], v["ends_on"]),
                        (columns["level"], v["level"]),
                    ],
                )
                continue
            pk, old = found
            changed = {field: new for field, new in data.items() if old[field] != new}
            if changed:
                plan.update.append((pk, changed))
                report.changed(
                    row.number,
                    number,
                    label,
                    [(columns[f], old[f], new) for f, new in changed.items()],
                )
            else:
                report.unchanged(row.number, number, label)
        return plan

    def write(self, plan: CadrePlan, context: Context, report: Report, progress: Progress) -> None:
        CadrePost.objects.bulk_create(plan.create, batch_size=BATCH)
        progress(0.7)
        update_changed(CadrePost, plan.update, batch=BATCH)
        progress(1.0)


# Clubs -----------------------------------------------------------------------------------


@dataclasses.dataclass
class ClubPlan:
    clubs: dict[str, int] = dataclasses.field(default_factory=dict)  # existing: name -> pk
    new_clubs: list[str] = dataclasses.field(default_factory=list)
    create: list[tuple[str, int]] = dataclasses.field(default_factory=list)  # (club, student)


class ClubsImport(ImportKind):
    name = "clubs"
    label = _("Club memberships (社團)")
    roles = frozenset({Role.STUDENT_AFFAIRS})
    template_name = "社團名單匯入範本"
    student_columns = ("學號", "身分證號")
    columns = (
        *STUDENT_COLUMNS,
        BIRTH_DATE_COLUMN,
        Column(
            "社團名稱",
            "club",
            values.limited(100),
            _("The club; created for the term's school year when missing."),
            required=True,
            aliases=("社團",),
        ),
    )

    def plan(
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> ClubPlan:
        directory = StudentDirectory(context)
        plan = ClubPlan()
        plan.clubs = dict(
            Club.objects.filter(school=context.school, school_year=context.school_year).values_list(
                "name", "pk"
            )
        )
        existing = set(
            ClubMembership.objects.filter(term=context.term).values_list("club_id", "student_id")
        )
        first_row: dict[tuple[str, int], int] = {}
        new_clubs: dict[str, None] = {}
        for row in rows:
            student = directory.student(row, columns, report)
            if student is None:
                continue
            club = row.values["club"]
            seen = first_row.setdefault((club, student), row.number)
            if seen != row.number:
                report.problem(
                    row.number, columns["club"], "duplicate", first=seen, what="club_member"
                )
                continue
            number, name, _birth = directory.students[student]
            label = f"{name} · {club}"
            pk = plan.clubs.get(club)
            if pk is not None and (pk, student) in existing:
                report.unchanged(row.number, number, label)
                continue
            if pk is None:
                new_clubs[club] = None
            plan.create.append((club, student))
            report.added(row.number, number, label, [])
        plan.new_clubs = list(new_clubs)
        if plan.new_clubs:
            report.info["new_clubs"] = plan.new_clubs[:LIST_LIMIT]
        return plan

    def write(self, plan: ClubPlan, context: Context, report: Report, progress: Progress) -> None:
        created = Club.objects.bulk_create(
            [
                Club(school=context.school, school_year=context.school_year, name=name)
                for name in plan.new_clubs
            ]
        )
        if created:
            report.created["clubs"] = [club.name for club in created]
        clubs = {**plan.clubs, **{club.name: club.pk for club in created}}
        progress(0.2)
        ClubMembership.objects.bulk_create(
            [
                ClubMembership(
                    school=context.school,
                    club_id=clubs[club],
                    student_id=student,
                    term=context.term,
                )
                for club, student in plan.create
            ],
            batch_size=BATCH,
        )
        progress(1.0)


# Attendance ------------------------------------------------------------------------------

KIND_NAMES = {
    "01": "公假",
    "02": "事假",
    "03": "病假",
    "04": "婚假",
    "05": "產前假",
    "06": "娩假",
    "07": "陪產假",
    "08": "流產假",
    "09": "育嬰假",
    "10": "生理假",
    "11": "喪假",
    "12": "曠課",
}
KIND_CODES = {name: code for code, name in KIND_NAMES.items()}


def absence_kind(value: Cell) -> str:
    """An absence kind as its code (01 to 12, also 1 to 12) or its Chinese name."""
    raw = values.text(value)
    if raw.endswith(".0"):
        raw = raw[:-2]
    if raw.isdigit() and len(raw) <= 2:
        raw = raw.zfill(2)
    found = raw if raw in KIND_NAMES else KIND_CODES.get(raw)
    if found is None:
        raise CellError("absence_kind")
    return found


periods = values.bounded_integer(0, ATTENDANCE_MAX_PERIODS)
KIND_COLUMN = Column(
    "缺勤種類代碼",
    "kind",
    absence_kind,
    _("Long layout: kind of absence, 01 to 12 or its name (公假, 事假, 病假, … 曠課)."),
    required=True,
    aliases=("缺勤種類", "假別"),
)
LONG_COLUMNS = (
    *STUDENT_COLUMNS,
    BIRTH_DATE_COLUMN,
    KIND_COLUMN,
    Column(
        "節數",
        "periods",
        periods,
        _("Long layout: periods of that kind in the term, 0 to 999; 0 clears the kind."),
        required=True,
        aliases=("缺勤節數",),
    ),
)
WIDE_KIND_COLUMNS = tuple(
    Column(
        name,
        f"kind_{code}",
        periods,
        format_lazy(
            _("Wide layout (one row per student): periods of {kind}; empty or 0 clears it."),
            kind=name,
        ),
        empty=0,
    )
    for code, name in KIND_NAMES.items()
)
WIDE_COLUMNS = (*STUDENT_COLUMNS, BIRTH_DATE_COLUMN, *WIDE_KIND_COLUMNS)


@dataclasses.dataclass
class AttendancePlan:
    create: list[tuple[int, str, int]] = dataclasses.field(default_factory=list)
    update: list[tuple[int, dict[str, Any]]] = dataclasses.field(default_factory=list)
    delete: list[int] = dataclasses.field(default_factory=list)


class AttendanceImport(ImportKind):
    """Periods of each kind of absence per student in the term, in either layout: one row
    per student and kind (缺勤種類代碼, 節數), or one row per student with a column per
    kind named in Chinese (公假, 事假, …); the header row tells which."""

    name = "attendance"
    label = _("Attendance (缺勤)")
    roles = frozenset({Role.STUDENT_AFFAIRS})
    template_name = "缺勤紀錄匯入範本"
    student_columns = ("學號", "身分證號")
    columns = (*LONG_COLUMNS, *WIDE_KIND_COLUMNS)

    def columns_for(self, headers: list[str]) -> tuple[Column, ...]:
        present = set(headers)
        wide = any(column.names & present for column in WIDE_KIND_COLUMNS)
        if wide and not KIND_COLUMN.names & present:
            return WIDE_COLUMNS
        return LONG_COLUMNS

    @property
    def template_headers(self) -> list[str]:
        return [column.header for column in LONG_COLUMNS]

    def plan(
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> AttendancePlan:
        directory = StudentDirectory(context)
        existing: dict[tuple[int, str], tuple[int, int]] = {
            (student, kind): (pk, count)
            for pk, student, kind, count in AttendanceSummary.objects.filter(
                school=context.school, term=context.term
            ).values_list("pk", "student_id", "kind", "periods")
        }
        plan = AttendancePlan()
        wide = "kind" not in columns
        kinds = [code for code in KIND_NAMES if f"kind_{code}" in columns]
        first_row: dict[Any, int] = {}
        for row in rows:
            student = directory.student(row, columns, report)
            if student is None:
                continue
            key: Any = student if wide else (student, row.values["kind"])
            seen = first_row.setdefault(key, row.number)
            if seen != row.number:
                column = _student_column(columns) if wide else columns["kind"]
                what = "student" if wide else "student_kind"
                report.problem(row.number, column, "duplicate", first=seen, what=what)
                continue
            number, name, _birth = directory.students[student]
            wanted = (
                {code: row.values[f"kind_{code}"] for code in kinds}
                if wide
                else {row.values["kind"]: row.values["periods"]}
            )
            changes = []
            for code, new in wanted.items():
                pk, old = existing.get((student, code), (None, 0))
                if old == new:
                    continue
                changes.append((KIND_NAMES[code], old, new))
                if pk is None:
                    plan.create.append((student, code, new))
                elif new:
                    plan.update.append((pk, {"periods": new}))
                else:
                    plan.delete.append(pk)
            label = name if wide else f"{name} · {KIND_NAMES[row.values['kind']]}"
            if not changes:
                report.unchanged(row.number, number, label)
            elif all(old == 0 for _kind, old, _new in changes):
                report.added(row.number, number, label, [(k, n) for k, _o, n in changes])
            else:
                report.changed(row.number, number, label, changes)
        return plan

    def write(
        self, plan: AttendancePlan, context: Context, report: Report, progress: Progress
    ) -> None:
        total = max(1, len(plan.create))
        for start in range(0, len(plan.create), BATCH):
            AttendanceSummary.objects.bulk_create(
                [
                    AttendanceSummary(
                        school_id=context.school.pk,
                        student_id=student,
                        term_id=context.required_term.pk,
                        kind=kind,
                        periods=count,
                    )
                    for student, kind, count in plan.create[start : start + BATCH]
                ]
            )
            progress(0.8 * min(1.0, (start + BATCH) / total))
        update_changed(AttendanceSummary, plan.update, batch=BATCH)
        for start in range(0, len(plan.delete), BATCH):
            AttendanceSummary.objects.filter(pk__in=plan.delete[start : start + BATCH]).delete()
        progress(1.0)
