"""Courses of a term and the course-code check (課程代碼比對), as the curriculum office keeps them.

The check compares every course of a term with the rules of the 23-character course code
and, when one was uploaded, with the official list from the national course-plan platform.
It is fast (one query for the courses, whatever their number), so it runs in the request.

A finding is ``{course_id, code, name, section, problems: [keys], severity, fix}``; keys are
those of ``portfolio.lib.course_code.problems`` plus ``not_listed`` (not in the official
list) and ``no_grades`` (a warning: a category 8/9 course without attribute D sends no
grades). A run passes when it has no finding of severity ``error``; warnings inform only.
"""

import csv
import dataclasses
import datetime as dt
import io
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import Membership, Role, User
from portfolio.audit import audit_write, diff_fields, update_audited
from portfolio.lib import course_code
from portfolio.lib.text import without_forbidden
from portfolio.models import GRADE_CHOICES, AuditLog, School, Term
from portfolio.problems import raise_if
from records.models import CodeCheckState, Course, CourseCodeCheck, CourseCodeList

if TYPE_CHECKING:
    from accounts.acting import ActingContext

# The national rule: check within 4 weeks of the term's start, again after any change.
CHECK_DEADLINE_DAYS = 28
CODE_LIST_MAX_BYTES = 2 * 1024 * 1024
ERROR = "error"
WARNING = "warning"
NOT_LISTED = "not_listed"
NO_GRADES = "no_grades"
WARNING_KEYS = frozenset({NO_GRADES})
_HEADER_MARK = "課程代碼"
_CODE_TOKEN = re.compile(r"[0-9A-Za-z]{23}")


# --- Words for the problem keys ------------------------------------------------------------


def problem_messages(
    code: str, keys: Iterable[str], *, school_code: str, list_name: str = ""
) -> list[str]:
    """What is wrong with ``code`` and what to do, one sentence per key, in the active
    language. Used for form errors, the check report and its export alike."""
    value = course_code.normalize(code)
    parts = course_code.CourseCode(value) if len(value) == course_code.LENGTH else None
    messages = []
    for key in keys:
        if key == "length":
            messages.append(
                _(
                    "A course code has exactly 23 letters and digits; this one has %(n)s. "
                    "Copy it again from the course-plan platform."
                )
                % {"n": len(value)}
            )
        elif key == "shape":
            messages.append(
                _(
                    "A course code is 3 digits of entry year, the 6-digit school code, a capital "
                    "letter for the course type, then 13 capital letters or digits (for example "
                    "108041305H11101A1010101). Remove spaces and other signs."
                )
            )
        elif key == "category" and parts:
            messages.append(
                _(
                    "Position 17 (course category) is “%(found)s”, which is not a category. Use "
                    "1 to 9 or A to F, for example 1 部定必修, 2 校訂必修, 5 多元選修, "
                    "8 團體活動時間, 9 彈性學習時間."
                )
                % {"found": parts.category}
            )
        elif key == "attribute" and parts:
            messages.append(
                _(
                    "Position 19 (subject attribute) is “%(found)s”, which is not an attribute. "
                    "Use 0 to 6 or A to I, for example 1 一般科目, A 自主學習, D for "
                    "enrichment or remedial teaching that awards credits."
                )
                % {"found": parts.attribute}
            )
        elif key == "school" and parts:
            messages.append(
                _(
                    "Positions 4 to 9 (school code) read %(found)s, but this school's code is "
                    "%(school)s. Use the code of this school's own course plan."
                )
                % {"found": parts.school_code, "school": school_code}
            )
        elif key == NOT_LISTED:
            messages.append(
                _(
                    "This code is not in the official course-code list (%(file)s). Correct it "
                    "to the code shown on the course-plan platform, or add the course to the "
                    "course plan there and upload the list again."
                )
                % {"file": list_name or _("uploaded list")}
            )
        elif key == NO_GRADES and parts:
            messages.append(
                _(
                    "A group-activity or flexible-learning course (category %(category)s) with "
                    "subject attribute %(attribute)s sends no grades to the central database. "
                    "Nothing to fix unless it should award credits: then its attribute "
                    "(position 19) must be D."
                )
                % {"category": parts.category, "attribute": parts.attribute}
            )
    return messages


# --- Courses ------------------------------------------------------------------------------


def active_teachers(school: School):
    """Users with an active ``teacher`` membership in ``school``."""
    return User.objects.filter(
        pk__in=Membership.objects.active()
        .filter(school=school, role=Role.TEACHER)
        .values("user_id")
    )


def _course_problems(
    *,
    school: School,
    term: Term,
    code: str,
    section: str,
    name: str,
    grade: int,
    credits: int,
    teachers: list[User],
    exclude: Course | None = None,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if term.school_id != school.pk:
        problems["term"] = [_("Choose a term of this school.")]
    keys = course_code.problems(code, school_code=school.code)
    if keys:
        problems["code"] = problem_messages(code, keys, school_code=school.code)
    if not name.strip():
        problems["name"] = [_("Enter the subject name.")]
    if grade not in dict(GRADE_CHOICES):
        problems["grade"] = [_("Choose grade 10, 11 or 12.")]
    if not 0 <= credits <= 30:
        problems["credits"] = [_("Credits are a whole number from 0 to 30.")]
    strangers = []
    if teachers:
        allowed = set(
            active_teachers(school)
            .filter(pk__in=[t.pk for t in teachers])
            .values_list("pk", flat=True)
        )
        strangers = [t for t in teachers if t.pk not in allowed]
    if strangers:
        problems["teachers"] = [
            _(
                "%(names)s is not an active subject teacher of this school. Untick them, or ask "
                "the school administrator to give them the subject-teacher role."
            )
            % {"names": ", ".join(str(t) for t in strangers)}
        ]
    clash = Course.objects.filter(term=term, code=code, section=section)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if "code" not in problems and clash.exists():
        problems["section"] = [
            _(
                "This term already has a course with this code and section. Give each class "
                "or group that takes the same course its own section (for example 101)."
            )
        ]
    return problems


@transaction.atomic
def course_create(
    *,
    school: School,
    term: Term,
    code: str,
    name: str,
    grade: int,
    credits: int,
    section: str = "",
    teachers: Iterable[User] = (),
    by: "ActingContext | None",
) -> Course:
    code, name, section = course_code.normalize(code), name.strip(), section.strip()
    teachers = list(teachers)
    raise_if(
        _course_problems(
            school=school,
            term=term,
            code=code,
            section=section,
            name=name,
            grade=grade,
            credits=credits,
            teachers=teachers,
        )
    )
    course = Course.objects.create(
        school=school,
        term=term,
        code=code,
        section=section,
        name=name,
        grade=grade,
        credits=credits,
    )
    course.teachers.set(teachers)
    audit_write(
        school=school,
        by=by,
        action="course.create",
        target=course,
        changes={
            "term": term.pk,
            "code": code,
            "section": section,
            "name": name,
            "grade": grade,
            "credits": credits,
            "teachers": sorted(t.pk for t in teachers),
        },
    )
    return course


@transaction.atomic
def course_update(
    *,
    course: Course,
    code: str,
    name: str,
    grade: int,
    credits: int,
    section: str = "",
    teachers: Iterable[User] = (),
    by: "ActingContext | None",
) -> Course:
    """Save what changed; ``changed_at`` moves only when something did, so an unchanged
    save does not make the term's course-code check look out of date."""
    code, name, section = course_code.normalize(code), name.strip(), section.strip()
    teachers = list(teachers)
    raise_if(
        _course_problems(
            school=course.school,
            term=course.term,
            code=code,
            section=section,
            name=name,
            grade=grade,
            credits=credits,
            teachers=teachers,
            exclude=course,
        )
    )
    data = {"code": code, "section": section, "name": name, "grade": grade, "credits": credits}
    before = sorted(course.teachers.values_list("pk", flat=True))
    after = sorted({t.pk for t in teachers})
    teachers_changed = {"teachers": [before, after]} if before != after else {}
    if teachers_changed:
        course.teachers.set(teachers)
    if teachers_changed or diff_fields(course, data):
        update_audited(
            course,
            data,
            school=course.school,
            by=by,
            action="course.update",
            extra={**teachers_changed, "term": course.term_id},
        )
    return course


@transaction.atomic
def course_delete(*, course: Course, by: "ActingContext | None") -> None:
    """Remove a course and its enrolments; refused once any student has a grade in it."""
    graded = course.enrolments.filter(score__isnull=False).count()
    if graded:
        raise ValidationError(
            ngettext(
                "%(n)s student already has a grade in this course, so it cannot be removed. "
                "Correct its code or name instead.",
                "%(n)s students already have a grade in this course, so it cannot be removed. "
                "Correct its code or name instead.",
                graded,
            )
            % {"n": graded}
        )
    # The term is kept in the audit row: a removal changes the term's course plan too.
    audit_write(
        school=course.school,
        by=by,
        action="course.delete",
        target=course,
        changes={
            "term": course.term_id,
            "code": course.code,
            "section": course.section,
            "name": course.name,
            "enrolments": course.enrolments.count(),
        },
    )
    try:
        course.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _(
                "Other records (such as course outcomes) refer to this course, so it cannot be removed."
            )
        ) from exc


# --- The official course-code list ----------------------------------------------------------


@dataclasses.dataclass
class Rejected:
    line: int
    text: str
    problems: list[str]


@dataclasses.dataclass
class CodeListUpload:
    code_list: CourseCodeList
    rejected: list[Rejected]


def _decode(content: bytes) -> str:
    """UTF-8 (with or without BOM), else CP950 (Big5 as Windows writes it)."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp950")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            {
                "file": [
                    _(
                        "The file could not be read as text. Save it as CSV or TXT in UTF-8 or "
                        "Big5 (CP950) and upload it again."
                    )
                ]
            }
        ) from exc


def parse_code_list(content: bytes) -> list[tuple[int, str]]:
    """The candidate codes of a TXT or CSV file, with their line numbers.

    A row with a cell containing 課程代碼 is the header, and that column holds the codes
    (rows above it, such as a title, are skipped); without such a header each line holds
    one code (its first cell). Cells are stripped of spaces and of a leading ``'`` or
    ``=`` and quotes that spreadsheet programs add.
    """
    text = _decode(content)
    delimiter = "\t" if text.count("\t") > text.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        rows = list(reader)
    except csv.Error as exc:  # a cell past the csv module's limit of 131,072 characters
        raise ValidationError(
            {
                "file": [
                    _(
                        "Line %(line)s of the file holds a cell of more than %(max)s characters, "
                        "which no course-code list has (a quotation mark left open joins the "
                        "lines after it). Upload the list exported from the course-plan platform."
                    )
                    % {"line": reader.line_num, "max": csv.field_size_limit()}
                ]
            }
        ) from exc
    column, start = _header(rows)
    candidates = []
    for index in range(start, len(rows)):
        row = rows[index]
        if column is None:
            cells = [cell for cell in row if cell.strip()]
            cell = cells[0] if cells else ""
        else:
            cell = row[column] if column < len(row) else ""
        cell = _clean_cell(cell)
        if cell:
            candidates.append((index + 1, cell))
    return candidates


def _header(rows: list[list[str]]) -> tuple[int | None, int]:
    """(column, first data row) of the header cell naming 課程代碼; a title such as
    「114學年度課程代碼一覽」 above the header also names it, so the header is the first
    such row whose column holds a code in the rows below it."""
    headers = [
        (index, column)
        for index, row in enumerate(rows)
        for column, cell in enumerate(row)
        if _HEADER_MARK in cell
    ]
    for index, column in headers:
        below = rows[index + 1 : index + 51]
        if any(
            column < len(row) and _CODE_TOKEN.fullmatch(_clean_cell(row[column])) for row in below
        ):
            return column, index + 1
    if headers:
        return headers[0][1], headers[0][0] + 1
    return None, 0


def _clean_cell(cell: str) -> str:
    value = cell.strip().lstrip("'=").strip().strip('"').strip()
    # A code pasted with spaces or dashes between its parts is still the same code.
    squeezed = re.sub(r"[\s\-]", "", value)
    return squeezed if _CODE_TOKEN.fullmatch(squeezed) else value


@transaction.atomic
def code_list_upload(
    *, school: School, term: Term, file_name: str, content: bytes, by: "ActingContext | None"
) -> CodeListUpload:
    """Keep the official course-code list of ``term``; codes that are not good codes of
    this school are left out and returned as ``rejected``."""
    if term.school_id != school.pk:
        raise ValidationError({"file": [_("Choose a term of this school.")]})
    if len(content) > CODE_LIST_MAX_BYTES:
        raise ValidationError({"file": [_("The file is larger than 2 MB.")]})
    codes: list[str] = []
    seen: set[str] = set()
    rejected: list[Rejected] = []
    for line, text in parse_code_list(content):
        value = course_code.normalize(text)
        keys = course_code.problems(value, school_code=school.code)
        if keys:
            rejected.append(Rejected(line=line, text=without_forbidden(text[:60]), problems=keys))
        elif value not in seen:
            seen.add(value)
            codes.append(value)
    if not codes:
        raise ValidationError(
            {
                "file": [
                    _(
                        "No course code of this school (%(school)s) was found in the file. "
                        "Upload the list exported from the course-plan platform: one code per "
                        "line, or a CSV file with a column headed 課程代碼."
                    )
                    % {"school": school.code}
                ]
            }
        )
    code_list = CourseCodeList.objects.create(
        school=school,
        term=term,
        file_name=file_name[:200],
        codes=codes,
        uploaded_by=by.user if by else None,
    )
    audit_write(
        school=school,
        by=by,
        action="course_code_list.upload",
        target=code_list,
        changes={
            "term": term.pk,
            "file_name": code_list.file_name,
            "codes": len(codes),
            "rejected": len(rejected),
        },
    )
    return CodeListUpload(code_list=code_list, rejected=rejected)


# --- The check ------------------------------------------------------------------------------


def course_findings(
    *,
    school_code: str,
    course_id: int,
    code: str,
    name: str,
    section: str,
    listed: set[str] | None,
    list_name: str = "",
) -> dict[str, Any] | None:
    """The finding for one course, or None when its code is good."""
    keys = course_code.problems(code, school_code=school_code)
    if not keys:
        # Only a good code is looked up: one of the wrong shape or school cannot be on the
        # list, and its fix says what to change already.
        value = course_code.normalize(code)
        if listed is not None and value not in listed:
            keys.append(NOT_LISTED)
        if not course_code.CourseCode(value).submits_grades:
            keys.append(NO_GRADES)
    if not keys:
        return None
    return {
        "course_id": course_id,
        "code": code,
        "name": name,
        "section": section,
        "problems": keys,
        "severity": WARNING if set(keys) <= WARNING_KEYS else ERROR,
        "fix": " ".join(problem_messages(code, keys, school_code=school_code, list_name=list_name)),
    }


def findings_errors(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f.get("severity", ERROR) == ERROR]


@transaction.atomic
def code_check_run(
    *, term: Term, by: "ActingContext | None", code_list: CourseCodeList | None = None
) -> CourseCodeCheck:
    """Check every course of ``term``; compare with ``code_list`` (by default the latest
    list uploaded for the term, if any). Queries do not grow with the number of courses."""
    school = term.school
    if code_list is None:
        code_list = CourseCodeList.objects.filter(term=term).order_by("-uploaded_at", "-pk").first()
    elif code_list.term_id != term.pk:
        raise ValueError("the code list belongs to another term")
    listed = set(code_list.codes) if code_list is not None else None
    list_name = code_list.file_name if code_list is not None else ""
    rows = (
        Course.objects.filter(term=term)
        .order_by("code", "section")
        .values_list("pk", "code", "name", "section")
    )
    findings = []
    checked = 0
    for pk, code, name, section in rows:
        checked += 1
        finding = course_findings(
            school_code=school.code,
            course_id=pk,
            code=code,
            name=name,
            section=section,
            listed=listed,
            list_name=list_name,
        )
        if finding is not None:
            findings.append(finding)
    # Errors first, then warnings; each in code order.
    findings.sort(key=lambda f: (f["severity"] != ERROR, f["code"], f["section"]))
    check = CourseCodeCheck.objects.create(
        school=school,
        term=term,
        code_list=code_list,
        ran_by=by.user if by else None,
        ran_at=timezone.now(),
        courses_checked=checked,
        findings=findings,
    )
    errors = len(findings_errors(findings))
    audit_write(
        school=school,
        by=by,
        action="course_code_check.run",
        target=check,
        changes={
            "term": term.pk,
            "code_list": code_list.pk if code_list else None,
            "courses": checked,
            "errors": errors,
            "warnings": len(findings) - errors,
        },
    )
    return check


# --- Status for the home page ---------------------------------------------------------------


def latest_course_change(term: Term) -> dt.datetime | None:
    """When the term's course plan last changed: a course saved, added or removed."""
    saved = Course.objects.filter(term=term).aggregate(at=Max("changed_at"))["at"]
    removed = AuditLog.objects.filter(
        school_id=term.school_id, action="course.delete", changes__term=term.pk
    ).aggregate(at=Max("created_at"))["at"]
    moments = [m for m in (saved, removed) if m is not None]
    return max(moments) if moments else None


def course_code_check_status(term: Term, *, today: dt.date | None = None) -> dict[str, Any]:
    """Where the term's course-code check stands. The rule: check within 4 weeks of the
    term's start, and again after any change of the course plan.

    Keys:
    - ``term``, ``latest`` (the latest run, or None), ``deadline`` (start + 4 weeks),
      ``days_left`` (to the deadline, never below 0), ``latest_change`` (see
      ``latest_course_change``);
    - ``within_four_weeks``: the latest run was on or before the deadline;
    - ``checked_by_deadline``: some run was (what the rule asks; a later re-run after a
      change keeps it true);
    - ``after_latest_change``: the latest run saw the current course plan;
    - ``passed``: the latest run found no error (warnings do not count); ``errors``,
      ``warnings``: its counts;
    - ``overdue``: no run at all and the deadline has passed;
    - ``ok``: nothing to do (run, up to date, passed);
    - ``state``: a ``CodeCheckState``: not run, overdue, outdated (courses changed since),
      failed, late (ok, but first run after the deadline) or ok; and one flag per state
      that needs its own words on the page: ``not_run``, ``outdated``, ``late``.
    """
    today = today or timezone.localdate()
    deadline = term.starts_on + dt.timedelta(days=CHECK_DEADLINE_DAYS)
    checks = CourseCodeCheck.objects.filter(term=term)
    latest = checks.order_by("-ran_at", "-pk").first()
    change = latest_course_change(term)
    status: dict[str, Any] = {
        "term": term,
        "latest": latest,
        "deadline": deadline,
        "latest_change": change,
        "days_left": max(0, (deadline - today).days),
    }
    if latest is None:
        overdue = today > deadline
        status.update(
            within_four_weeks=False,
            checked_by_deadline=False,
            after_latest_change=False,
            passed=False,
            errors=0,
            warnings=0,
            overdue=overdue,
            ok=False,
            state=CodeCheckState.OVERDUE if overdue else CodeCheckState.NOT_RUN,
        )
        return _with_state_flags(status)
    latest_on_time = timezone.localdate(latest.ran_at) <= deadline
    checked_by_deadline = latest_on_time or checks.filter(ran_at__date__lte=deadline).exists()
    errors = len(findings_errors(latest.findings))
    after_change = change is None or latest.ran_at >= change
    passed = errors == 0
    if not after_change:
        state = CodeCheckState.OUTDATED
    elif not passed:
        state = CodeCheckState.FAILED
    elif not checked_by_deadline:
        state = CodeCheckState.LATE
    else:
        state = CodeCheckState.OK
    status.update(
        within_four_weeks=latest_on_time,
        checked_by_deadline=checked_by_deadline,
        after_latest_change=after_change,
        passed=passed,
        errors=errors,
        warnings=len(latest.findings) - errors,
        overdue=False,
        ok=after_change and passed,
        state=state,
    )
    return _with_state_flags(status)


def _with_state_flags(status: dict[str, Any]) -> dict[str, Any]:
    state = status["state"]
    status.update(
        not_run=state == CodeCheckState.NOT_RUN,
        outdated=state == CodeCheckState.OUTDATED,
        late=state == CodeCheckState.LATE,
    )
    return status
