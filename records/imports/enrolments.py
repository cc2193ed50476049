"""Course enrolments (修課名單): which student takes which course of the term."""

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import ClassVar

from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from portfolio.crypto import keyed_hash
from records.imports import values
from records.imports.base import Column, Context, ImportKind, Progress, Report, Row
from records.models import Course, CourseEnrolment, Student

BATCH = 1000
STUDENT_COLUMNS = (
    Column(
        "學號",
        "student_number",
        values.limited(20),
        _("Student number; or fill in 身分證號 instead."),
    ),
    Column(
        "身分證號",
        "national_id",
        values.national_id_value,
        _("National ID; or fill in 學號 instead."),
        aliases=("身分證統一編號", "身分證字號"),
    ),
)
COURSE_COLUMNS = (
    Column(
        "課程代碼",
        "code",
        values.course_code,
        _("The 23-character course code of a course of the term."),
        required=True,
    ),
    Column(
        "開課班級",
        "section",
        values.limited(30),
        _("Optional: needed when the term has several courses with the code."),
    ),
)


class StudentDirectory:
    """The school's students, keyed as import files name them."""

    def __init__(self, context: Context) -> None:
        self.term = context.term  # None for kinds without a term (performances)
        self.students: dict[int, tuple[str, str, dt.date | None]] = {}
        self.by_number: dict[str, int] = {}
        self.by_hash: dict[str, int] = {}
        for pk, number, name, digest, birth in Student.objects.filter(
            school=context.school
        ).values_list("pk", "student_number", "name", "national_id_hash", "birth_date"):
            self.students[pk] = (number, name, birth)
            self.by_number[number] = pk
            if digest:
                self.by_hash[digest] = pk

    def student(self, row: Row, columns: dict[str, str], report: Report) -> int | None:
        """The row's student by 學號 or 身分證號 (both must agree), checked against
        出生日期 when the file has it; None after reporting why not."""
        found = {}
        for field, what in (("student_number", "student_number"), ("national_id", "national_id")):
            value = row.values.get(field)
            if not value:
                continue
            pk = (
                self.by_number.get(value)
                if field == "student_number"
                else self.by_hash.get(keyed_hash(value))
            )
            if pk is None:
                report.problem(row.number, columns[field], "student_unknown", what=what)
                return None
            found[field] = pk
        if len(set(found.values())) > 1:
            report.problem(row.number, columns["national_id"], "student_mismatch")
            return None
        pk = next(iter(found.values()))
        born = row.values.get("birth_date")
        recorded = self.students[pk][2]
        if born and recorded and born != recorded:
            report.problem(row.number, columns["birth_date"], "birth_date_mismatch")
            return None
        return pk


class Directory(StudentDirectory):
    """The school's students and the term's courses, keyed as import files name them."""

    def __init__(self, context: Context) -> None:
        super().__init__(context)
        self.course_term = context.required_term
        self.courses: dict[int, tuple[str, str, str]] = {}
        self.by_key: dict[tuple[str, str], int] = {}
        self.by_code: dict[str, list[int]] = defaultdict(list)
        for pk, code, section, name in Course.objects.filter(term=context.term).values_list(
            "pk", "code", "section", "name"
        ):
            self.courses[pk] = (code, section, name)
            self.by_key[(code, section)] = pk
            self.by_code[code].append(pk)

    def course(self, row: Row, columns: dict[str, str], report: Report) -> int | None:
        """The row's course of the term: by code and 開課班級, or by code alone when only
        one course of the term has it."""
        code = row.values["code"]
        section = row.values.get("section", "")
        pk = self.by_key.get((code, section))
        if pk is None and not section:
            options = self.by_code.get(code, [])
            if len(options) == 1:
                pk = options[0]
            elif options:
                sections = "、".join(sorted(self.courses[o][1] or "-" for o in options))
                report.problem(
                    row.number,
                    columns["code"],
                    "course_ambiguous",
                    term=self.course_term.label,
                    sections=sections,
                )
                return None
        if pk is None:
            report.problem(
                row.number,
                columns["code"],
                "course_unknown",
                term=self.course_term.label,
                course=f"{code} {section}".strip(),
            )
        return pk

    def label(self, student: int, course: int) -> tuple[str, str]:
        number, name, _birth = self.students[student]
        code, section, course_name = self.courses[course]
        return number, f"{name} · {course_name} ({code}{' ' + section if section else ''})"


@dataclasses.dataclass
class EnrolmentPlan:
    create: list[tuple[int, int]] = dataclasses.field(default_factory=list)


class EnrolmentsImport(ImportKind):
    name = "enrolments"
    label = _("Course enrolments (修課名單)")
    roles = frozenset({Role.CURRICULUM})
    template_name = "修課名單匯入範本"
    student_columns = ("學號", "身分證號")
    columns: ClassVar[tuple[Column, ...]] = (*STUDENT_COLUMNS, *COURSE_COLUMNS)

    def resolve(
        self, rows: list[Row], columns: dict[str, str], directory: Directory, report: Report
    ):
        """(row, student, course) of each row whose student and course are found and
        which repeats no earlier row."""
        first_row: dict[tuple[int, int], int] = {}
        for row in rows:
            student = directory.student(row, columns, report)
            course = directory.course(row, columns, report)
            if student is None or course is None:
                continue
            seen = first_row.setdefault((student, course), row.number)
            if seen != row.number:
                report.problem(
                    row.number, columns["code"], "duplicate", first=seen, what="student_course"
                )
                continue
            yield row, student, course

    def plan(
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> EnrolmentPlan:
        directory = Directory(context)
        existing = set(
            CourseEnrolment.objects.filter(course__term=context.term).values_list(
                "student_id", "course_id"
            )
        )
        plan = EnrolmentPlan()
        for row, student, course in self.resolve(rows, columns, directory, report):
            key, label = directory.label(student, course)
            if (student, course) in existing:
                report.unchanged(row.number, key, label)
            else:
                plan.create.append((student, course))
                report.added(row.number, key, label, [])
        return plan

    def write(
        self, plan: EnrolmentPlan, context: Context, report: Report, progress: Progress
    ) -> None:
        CourseEnrolment.objects.bulk_create(
            [
                CourseEnrolment(school_id=context.school.pk, student_id=student, course_id=course)
                for student, course in plan.create
            ],
            batch_size=BATCH,
        )
        progress(1.0)
