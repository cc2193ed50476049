"""The term's courses (開設課程): matched by (term, 課程代碼, 開課班級), with teachers."""

import dataclasses
from collections import defaultdict
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Role, User
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
from records.models import Course

BATCH = 500
Teachers = Course.teachers.through


@dataclasses.dataclass
class CoursePlan:
    create: list[tuple[dict[str, Any], set[int] | None]] = dataclasses.field(default_factory=list)
    update: list[tuple[int, dict[str, Any]]] = dataclasses.field(default_factory=list)
    teachers_added: list[tuple[int, int]] = dataclasses.field(default_factory=list)
    teachers_removed: list[int] = dataclasses.field(default_factory=list)  # through-row ids


class TeacherDirectory:
    """The school's active teachers, found by username (any case) or by full name."""

    def __init__(self, context: Context) -> None:
        rows = (
            Membership.objects.active()
            .filter(school=context.school, role=Role.TEACHER, user__is_active=True)
            .values_list("user_id", "user__username", "user__name")
            .distinct()
        )
        self.by_username: dict[str, int] = {}
        self.by_name: dict[str, set[int]] = defaultdict(set)
        self.shown: dict[int, str] = {}
        for user_id, username, name in rows:
            self.by_username[username.casefold()] = user_id
            if name:
                self.by_name[name].add(user_id)
            self.shown[user_id] = f"{name} ({username})" if name else username

    def find(self, token: str) -> tuple[int | None, str]:
        """(user id, "") or (None, message code)."""
        found = self.by_username.get(token.casefold())
        if found is not None:
            return found, ""
        named = self.by_name.get(token, set())
        if len(named) == 1:
            return next(iter(named)), ""
        return None, "teacher_ambiguous" if named else "teacher_unknown"

    def names(self, ids: set[int], extra: dict[int, str] | None = None) -> str:
        shown = {**self.shown, **(extra or {})}
        return "、".join(sorted(shown.get(i, str(i)) for i in ids))


class CoursesImport(ImportKind):
    name = "courses"
    label = _("Courses (開設課程)")
    roles = frozenset({Role.CURRICULUM})
    template_name = "開設課程匯入範本"
    columns = (
        Column(
            "課程代碼",
            "code",
            values.course_code,
            _("The 23-character course code."),
            required=True,
        ),
        Column("科目名稱", "name", values.limited(100), _("Subject name."), required=True),
        Column("開課年級", "grade", values.grade, _("10, 11 or 12 (or 1, 2, 3)."), required=True),
        Column(
            "修課學分",
            "credits",
            values.bounded_integer(0, 30),
            _("Credits, 0 to 30."),
            required=True,
        ),
        Column(
            "開課班級",
            "section",
            values.limited(30),
            _("Optional: the class or group, when one code is offered several times."),
        ),
        Column(
            "授課教師",
            "teachers",
            values.split_names,
            _("Optional: teachers' usernames or names, separated by 、 or a comma."),
            empty=[],
        ),
    )

    def plan(
        self, rows: list[Row], columns: dict[str, str], context: Context, report: Report
    ) -> CoursePlan:
        plan = CoursePlan()
        existing = {
            (code, section): (pk, {"name": name, "grade": grade, "credits": credits})
            for pk, code, section, name, grade, credits in Course.objects.filter(
                term=context.term
            ).values_list("pk", "code", "section", "name", "grade", "credits")
        }
        links: dict[int, dict[int, int]] = defaultdict(dict)  # course -> {user: through id}
        for link_id, course_id, user_id in Teachers.objects.filter(
            course__term=context.term
        ).values_list("pk", "course_id", "user_id"):
            links[course_id][user_id] = link_id
        directory = TeacherDirectory(context) if "teachers" in columns else None
        former = self._former_teachers(links, directory)
        first_row: dict[tuple[str, str], int] = {}
        for row in rows:
            v = row.values
            key = (v["code"], v.get("section", ""))
            seen = first_row.setdefault(key, row.number)
            if seen != row.number:
                report.problem(row.number, columns["code"], "duplicate", first=seen, what="course")
                continue
            teachers = self._teachers(row, columns, directory, report)
            if row.number in report.bad_rows:
                continue
            data = {"name": v["name"], "grade": v["grade"], "credits": v["credits"]}
            shown_key = f"{key[0]} {key[1]}".strip()
            found = existing.get(key)
            if found is None:
                plan.create.append(({**data, "code": key[0], "section": key[1]}, teachers))
                details = [("開課年級", data["grade"]), ("修課學分", data["credits"])]
                if teachers and directory is not None:
                    details.append(("授課教師", directory.names(teachers)))
                report.added(row.number, shown_key, data["name"], details)
                continue
            pk, old = found
            changed = {field: new for field, new in data.items() if old[field] != new}
            changes = [(columns[field], old[field], new) for field, new in changed.items()]
            if teachers is not None and directory is not None:
                current = set(links[pk])
                if current != teachers:
                    changes.append(
                        (
                            columns["teachers"],
                            directory.names(current, former),
                            directory.names(teachers),
                        )
                    )
                    plan.teachers_added += [(pk, user) for user in sorted(teachers - current)]
                    plan.teachers_removed += [links[pk][user] for user in current - teachers]
            if changes:
                plan.update.append((pk, changed))
                report.changed(row.number, shown_key, data["name"], changes)
            else:
                report.unchanged(row.number, shown_key, data["name"])
        return plan

    def _former_teachers(
        self, links: dict[int, dict[int, int]], directory: TeacherDirectory | None
    ) -> dict[int, str]:
        """Names of teachers linked to courses who are no longer active teachers."""
        if directory is None:
            return {}
        gone = {u for users in links.values() for u in users} - set(directory.shown)
        return {
            pk: f"{name} ({username})" if name else username
            for pk, username, name in User.objects.filter(pk__in=gone).values_list(
                "pk", "username", "name"
            )
        }

    def _teachers(
        self,
        row: Row,
        columns: dict[str, str],
        directory: TeacherDirectory | None,
        report: Report,
    ) -> set[int] | None:
        """The row's teachers as user ids; None when the file has no teacher column."""
        if directory is None:
            return None
        found = set()
        for token in row.values["teachers"]:
            user, problem = directory.find(token)
            if user is None:
                report.problem(row.number, columns["teachers"], problem, name=token)
            else:
                found.add(user)
        return found

    def write(self, plan: CoursePlan, context: Context, report: Report, progress: Progress) -> None:
        created = [
            Course(school=context.school, term=context.term, **data) for data, _t in plan.create
        ]
        Course.objects.bulk_create(created, batch_size=BATCH)
        links = [
            Teachers(course_id=course.pk, user_id=user)
            for course, (_data, teachers) in zip(created, plan.create, strict=True)
            for user in sorted(teachers or ())
        ]
        links += [Teachers(course_id=course, user_id=user) for course, user in plan.teachers_added]
        progress(0.4)
        now = timezone.now()
        update_changed(
            Course, [(pk, {**changed, "changed_at": now}) for pk, changed in plan.update]
        )
        for start in range(0, len(plan.teachers_removed), BATCH):
            Teachers.objects.filter(pk__in=plan.teachers_removed[start : start + BATCH]).delete()
        Teachers.objects.bulk_create(links, batch_size=BATCH)
        progress(1.0)
