"""Term grades (學期成績): the grade fields of each student's course enrolment.

A grade row for a student not yet enrolled in the course enrols them. Optional grade
columns the file does not have are left as they are; an empty cell in a column the
file has clears the value.
"""

import dataclasses
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from records.imports import values
from records.imports.base import Column, Context, Progress, Report, Row, update_changed
from records.imports.enrolments import (
    BATCH,
    COURSE_COLUMNS,
    STUDENT_COLUMNS,
    Directory,
    EnrolmentsImport,
)
from records.models import CourseEnrolment

GRADE_FIELDS = ("score", "passed", "makeup_score", "makeup_passed", "counts_credit", "description")


@dataclasses.dataclass
class GradePlan:
    create: list[tuple[int, int, dict[str, Any]]] = dataclasses.field(default_factory=list)
    update: list[tuple[int, dict[str, Any]]] = dataclasses.field(default_factory=list)


class GradesImport(EnrolmentsImport):
    name = "grades"
    label = _("Term grades (學期成績)")
    roles = frozenset({Role.REGISTRY})
    template_name = "學期成績匯入範本"
    columns = (
        *STUDENT_COLUMNS,
        Column(
            "出生日期",
            "birth_date",
            values.date,
            _("Optional: checked against the student's record."),
            empty=None,
        ),
        *COURSE_COLUMNS,
        Column(
            "學期學業成績",
            "score",
            values.score,
            _("Term score, 0 to 100, at most 2 decimals."),
            required=True,
            aliases=("學期成績",),
        ),
        Column(
            "及格",
            "passed",
            values.flag,
            _("1 or 0 (是/否, Y/N)."),
            required=True,
            aliases=("成績及格",),
        ),
        Column(
            "補考成績",
            "makeup_score",
            values.makeup_score,
            _("Optional: make-up score; -1 or empty for none."),
            empty=None,
        ),
        Column(
            "補考及格",
            "makeup_passed",
            values.flag,
            _("Optional: 1 or 0; empty for none."),
            empty=None,
        ),
        Column(
            "是否採計學分",
            "counts_credit",
            values.counts_credit,
            _("Optional: 1, 2 or 3, as the central database codes it."),
            aliases=("是否計算學分",),
        ),
        Column(
            "質性文字描述",
            "description",
            values.limited(500),
            _("Optional: qualitative description, at most 500 characters."),
            aliases=("質性描述",),
            multiline=True,
        ),
    )

    # Grades share the student and course columns of enrolments, not their plan.
    def plan(  # type: ignore[override]
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> GradePlan:
        directory = Directory(context)
        present = [field for field in GRADE_FIELDS if field in columns]
        existing = {
            (student, course): (pk, dict(zip(GRADE_FIELDS, grades, strict=True)))
            for pk, student, course, *grades in CourseEnrolment.objects.filter(
                course__term=context.term
            ).values_list("pk", "student_id", "course_id", *GRADE_FIELDS)
        }
        plan = GradePlan()
        for row, student, course in self.resolve(rows, columns, directory, report):
            data = {field: row.values[field] for field in present}
            key, label = directory.label(student, course)
            found = existing.get((student, course))
            if found is None:
                plan.create.append((student, course, data))
                report.added(
                    row.number,
                    key,
                    label,
                    [(columns[field], data[field]) for field in ("score", "passed")],
                )
                continue
            pk, old = found
            changes = [
                (columns[field], old[field], new)
                for field, new in data.items()
                if old[field] != new
            ]
            if changes:
                plan.update.append((pk, {f: new for f, new in data.items() if old[f] != new}))
                report.changed(row.number, key, label, changes)
            else:
                report.unchanged(row.number, key, label)
        return plan

    def write(  # type: ignore[override]
        self, plan: GradePlan, context: Context, report: Report, progress: Progress
    ) -> None:
        total = max(1, len(plan.create) + len(plan.update))
        done = 0
        for start in range(0, len(plan.create), BATCH):
            batch = plan.create[start : start + BATCH]
            CourseEnrolment.objects.bulk_create(
                [
                    CourseEnrolment(
                        school_id=context.school.pk, student_id=student, course_id=course, **data
                    )
                    for student, course, data in batch
                ],
                batch_size=BATCH,
            )
            done += len(batch)
            progress(done / total)
        update_changed(CourseEnrolment, plan.update, batch=BATCH)
        progress(1.0)
