"""The student roster (學生資料): students matched by 學號 within the school."""

import dataclasses
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from portfolio.crypto import keyed_hash
from portfolio.lib import national_id
from records.imports import values
from records.imports.base import (
    Column,
    Context,
    ImportKind,
    Progress,
    Report,
    Row,
    update_changed,
)
from records.models import SchoolClass, Student

BATCH = 500
# Field -> the column it comes from, for the preview's "old -> new".
FIELDS = {
    "name": "姓名",
    "national_id": "身分證號",
    "gender": "性別",
    "birth_date": "出生日期",
    "school_class": "班級",
    "seat_number": "座號",
    "department_code": "科/班/學程別代碼",
}


@dataclasses.dataclass
class StudentPlan:
    new_classes: dict[str, int] = dataclasses.field(default_factory=dict)  # name -> grade
    classes: dict[str, SchoolClass] = dataclasses.field(default_factory=dict)
    create: list[tuple[dict[str, Any], str]] = dataclasses.field(default_factory=list)
    # (student id, changed fields, the class moved to or None)
    update: list[tuple[int, dict[str, Any], str | None]] = dataclasses.field(default_factory=list)


class StudentsImport(ImportKind):
    name = "students"
    label = _("Students (學生資料)")
    roles = frozenset({Role.REGISTRY})
    needs_term = False
    template_name = "學生資料匯入範本"
    columns = (
        Column(
            "學號",
            "student_number",
            values.limited(20),
            _("Student number: how the student is matched."),
            required=True,
        ),
        Column(
            "身分證號",
            "national_id",
            values.national_id_value,
            _("National ID or resident certificate number, checked by its check digit."),
            required=True,
            aliases=("身分證統一編號", "身分證字號"),
        ),
        Column("姓名", "name", values.limited(100), _("Name."), required=True),
        Column(
            "性別",
            "gender",
            values.gender,
            _("1 or 男 (male), 2 or 女 (female)."),
            required=True,
            aliases=("性別代碼",),
        ),
        Column(
            "出生日期",
            "birth_date",
            values.birth_date,
            _("ROC date (0980321) or 2009-03-21."),
            required=True,
        ),
        Column(
            "班級",
            "class_name",
            values.limited(20),
            _("Class name, such as 101; created for the school year when missing."),
            required=True,
            aliases=("班級名稱",),
        ),
        Column(
            "座號",
            "seat_number",
            values.bounded_integer(1, 99),
            _("Seat number, 1 to 99."),
            required=True,
        ),
        Column(
            "科/班/學程別代碼",
            "department_code",
            values.limited(10),
            _("Optional: department, class or program code."),
            aliases=("科/班/學程別", "科班學程別代碼", "科別代碼"),
        ),
        Column(
            "年級",
            "grade",
            values.grade,
            _(
                "Optional: grade of a new class (10, 11, 12); otherwise told by the class "
                "name's first digit."
            ),
            empty=None,
        ),
    )

    def plan(
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> StudentPlan:
        plan = StudentPlan()
        plan.classes = {
            c.name: c
            for c in SchoolClass.objects.filter(
                school=context.school, school_year=context.school_year, division=context.division
            )
        }
        existing = {s.student_number: s for s in Student.objects.filter(school=context.school)}
        owner_of = {s.national_id_hash: s for s in existing.values() if s.national_id_hash}
        class_names = {c.pk: c.name for c in plan.classes.values()}
        class_names.update(
            SchoolClass.objects.filter(
                pk__in={s.school_class_id for s in existing.values() if s.school_class_id}
            )
            .exclude(pk__in=class_names)
            .values_list("pk", "name")
        )

        # First pass: duplicates in the file, and each student number's new ID.
        first_row: dict[tuple[str, str], int] = {}
        file_hash: dict[str, str] = {}
        kept: list[tuple[Row, str]] = []
        for row in rows:
            v = row.values
            digest = keyed_hash(v["national_id"])
            clash = False
            for what, key, field in (
                ("student_number", v["student_number"], "student_number"),
                ("national_id", digest, "national_id"),
            ):
                seen = first_row.setdefault((what, key), row.number)
                if seen != row.number:
                    report.problem(row.number, columns[field], "duplicate", first=seen, what=what)
                    clash = True
            if not clash:
                file_hash[v["student_number"]] = digest
                kept.append((row, digest))

        for row, digest in kept:
            v = row.values
            school_class = self._class_for(row, columns, plan, report)
            owner = owner_of.get(digest)
            if (
                owner is not None
                and owner.student_number != v["student_number"]
                and file_hash.get(owner.student_number, digest) == digest
            ):
                report.problem(
                    row.number,
                    columns["national_id"],
                    "national_id_taken",
                    student=owner.student_number,
                )
            if row.number in report.bad_rows:
                continue
            data = {
                "name": v["name"],
                "national_id": v["national_id"],
                "gender": v["gender"],
                "birth_date": v["birth_date"],
                "seat_number": v["seat_number"],
            }
            if "department_code" in v:
                data["department_code"] = v["department_code"]
            class_name = v["class_name"]
            student = existing.get(v["student_number"])
            label = v["name"]
            if student is None:
                plan.create.append(({**data, "student_number": v["student_number"]}, class_name))
                report.added(
                    row.number,
                    v["student_number"],
                    label,
                    [
                        ("班級", class_name),
                        ("座號", v["seat_number"]),
                        ("身分證號", national_id.mask(v["national_id"])),
                    ],
                )
                continue
            changes = []
            changed: dict[str, Any] = {}
            for field, new in data.items():
                old = getattr(student, field)
                if field == "national_id":
                    if student.national_id_hash != digest:
                        changed.update(national_id=new, national_id_hash=digest)
                        changes.append(
                            (FIELDS[field], national_id.mask(old or ""), national_id.mask(new))
                        )
                elif old != new:
                    changed[field] = new
                    changes.append((FIELDS[field], old, new))
            moved = school_class is None or student.school_class_id != school_class.pk
            if moved:
                old_class = class_names.get(student.school_class_id, "")
                changes.append((FIELDS["school_class"], old_class, class_name))
            if changes:
                plan.update.append((student.pk, changed, class_name if moved else None))
                report.changed(row.number, v["student_number"], label, changes)
            else:
                report.unchanged(row.number, v["student_number"], label)
        return plan

    def _class_for(
        self, row: Row, columns: dict[str, str], plan: StudentPlan, report: Report
    ) -> SchoolClass | None:
        """The existing class of the row, or None when it is to be created (noted in
        ``plan.new_classes``); problems reported."""
        name = row.values["class_name"]
        given = row.values.get("grade")
        found = plan.classes.get(name)
        if found is not None:
            if given is not None and given != found.grade:
                report.problem(
                    row.number,
                    columns["grade"],
                    "class_grade_mismatch",
                    **{"class": name, "existing": found.grade, "given": given},
                )
            return found
        grade = given or values.class_grade(name)
        if grade is None:
            report.problem(
                row.number, columns["class_name"], "class_grade_unknown", **{"class": name}
            )
            return None
        earlier = plan.new_classes.setdefault(name, grade)
        if earlier != grade:
            report.problem(
                row.number,
                columns.get("grade", columns["class_name"]),
                "class_grade_mismatch",
                **{"class": name, "existing": earlier, "given": grade},
            )
        return None

    def write(
        self, plan: StudentPlan, context: Context, report: Report, progress: Progress
    ) -> None:
        needed = {name for _data, name in plan.create} | {name for _s, _d, name in plan.update}
        needed.discard(None)
        new_classes = [
            SchoolClass(
                school=context.school,
                school_year=context.school_year,
                name=name,
                grade=grade,
                division=context.division,
            )
            for name, grade in sorted(plan.new_classes.items())
            if name in needed
        ]
        SchoolClass.objects.bulk_create(new_classes)
        if new_classes:
            report.created["classes"] = [c.name for c in new_classes]
        classes = {**plan.classes, **{c.name: c for c in new_classes}}

        students = [
            Student(
                school=context.school,
                school_class=classes[class_name],
                national_id_hash=keyed_hash(data["national_id"]),
                **data,
            )
            for data, class_name in plan.create
        ]
        Student.objects.bulk_create(students, batch_size=BATCH)
        progress(0.5)

        # A national ID may move from one student to another in the same file: the old
        # holders let go of theirs first, so the unique constraint holds at every step.
        update_changed(
            Student,
            [(pk, {"national_id_hash": ""}) for pk, c, _n in plan.update if "national_id" in c],
            batch=BATCH,
        )
        update_changed(
            Student,
            [
                (pk, {**changed, **({"school_class_id": classes[name].pk} if name else {})})
                for pk, changed, name in plan.update
            ],
            batch=BATCH,
        )
        progress(1.0)
