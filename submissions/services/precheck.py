"""The grade roster's pre-check (預檢) for one term and division, and its pre-check file.

Registry runs it as a background job before the grade roster (名冊 2) is submitted. It reads
every course enrolment of the term's students of the division, once, in order of class, seat
and course code, and reports in the language of whoever started it:

- **problems**, which must be fixed before the roster can go: a missing or invalid national
  ID, a missing date of birth, a course code of the wrong form or another school's, the same
  course twice for a student;
- **exclusions**, shown so that nobody wonders where a row went: students whose status
  leaves them out (only enrolled students are sent), and rows of group-activity (8) or
  flexible-learning (9) courses whose subject attribute is not D, which the central database
  does not take (CENTRAL-FORMAT.md sections 4 and 9).

The rows without a problem are written, as they are read, into the pre-check file (預檢成績
名冊, 名冊別 41 day / 42 continuing education; ``submissions.central``), which the job keeps
as its result file. The pre-check passes when it found no problem.
"""

import dataclasses
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from django.core.files.base import File
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portfolio.exports import add_sheet
from portfolio.lib import course_code
from portfolio.lib import national_id as national_ids
from portfolio.lib.roc import to_roc_date
from portfolio.models import Job, Term
from records.access import division_q
from records.models import Course, CourseEnrolment, Student, StudentStatus
from records.services.courses import problem_messages
from submissions.central import spec_for

PRECHECK_JOB = "roster.precheck"
# The most problems and exclusions a result keeps to show; the counts are always whole.
KEEP = 500


@dataclasses.dataclass
class Findings:
    problems: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    excluded: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    problem_count: int = 0
    excluded_count: int = 0

    def problem(self, student: Student, field: str, message: str, course: str = "") -> None:
        self.problem_count += 1
        if len(self.problems) < KEEP:
            self.problems.append(_finding(student, field, message, course))

    def exclude(self, student: Student, field: str, message: str, course: str = "") -> None:
        self.excluded_count += 1
        if len(self.excluded) < KEEP:
            self.excluded.append(_finding(student, field, message, course))


def _finding(student: Student, field: str, message: str, course: str) -> dict[str, Any]:
    klass = student.school_class
    return {
        "student": student.student_number,
        "name": student.name,
        "class": klass.name if klass else "",
        "seat": student.seat_number or "",
        "course": course,
        "field": field,
        "message": message,
    }


def enrolments(term: Term, division: str, fields: tuple[str, ...] = ()):
    """(student id, course id, *fields) of the term's course enrolments of the division's
    students, in roster order: class, seat, student number, course code."""
    return (
        CourseEnrolment.objects.filter(school_id=term.school_id, course__term=term)
        .filter(division_q(division, prefix="student__"))
        .order_by(
            "student__school_class__name",
            "student__seat_number",
            "student__student_number",
            "course__code",
            "course__section",
        )
        .values_list("student_id", "course_id", *fields)
    )


@dataclasses.dataclass
class CourseVerdict:
    """What a course's code means for every row of it, decided once per course."""

    course: Course
    code: str
    label: str
    problem: str = ""
    excluded: bool = False


def _verdict(course: Course, school_code: str) -> CourseVerdict:
    code = course_code.normalize(course.code)
    verdict = CourseVerdict(course, code, f"{code} {course.name}")
    keys = course_code.problems(code, school_code=school_code)
    if keys:
        verdict.problem = " ".join(problem_messages(code, keys, school_code=school_code))
    elif not course_code.CourseCode(code).submits_grades:
        verdict.excluded = True
    return verdict


def student_key_problems(student: Student, findings: Findings) -> bool:
    """Report what is wrong with the student's key; whether their rows can be sent."""
    if student.status != StudentStatus.ENROLLED:
        findings.exclude(
            student,
            "學籍狀態",
            _("Left out: only enrolled students are sent (status: %(status)s).")
            % {"status": student.get_status_display()},
        )
        return False
    fine = True
    if not student.national_id:
        findings.problem(student, "身分證號", _("The national ID is missing."))
        fine = False
    elif not national_ids.is_valid(student.national_id):
        findings.problem(student, "身分證號", _("The national ID is not a valid one."))
        fine = False
    if student.birth_date is None:
        findings.problem(student, "出生日期", _("The date of birth is missing."))
        fine = False
    return fine


@dataclasses.dataclass
class GradeRow:
    """An enrolment that passed the checks: its student, the row's key (身分證號, 出生日期),
    the course's verdict and the enrolment's ``fields``."""

    student: Student
    key: list[str]
    verdict: CourseVerdict
    values: tuple[Any, ...]


def checked_grade_rows(
    term: Term,
    division: str,
    findings: Findings,
    progress: Callable[[int, int], None],
    fields: tuple[str, ...] = (),
) -> Iterator[GradeRow]:
    """The term's enrolments of the division that may be sent, read once and checked as they
    go; what may not is reported to ``findings``. Each student and each course is read (and
    a national ID decrypted) once, not once per row."""
    rows = enrolments(term, division, fields)
    total = rows.count()
    progress(0, total + 1)
    students = {
        s.pk: s
        for s in Student.objects.filter(pk__in=rows.values("student_id").order_by()).select_related(
            "school_class"
        )
    }
    courses = {c.pk: _verdict(c, term.school.code) for c in Course.objects.filter(term=term)}
    current: int | None = None
    sendable = False
    seen: set[str] = set()
    key: list[str] = []
    for done, (student_id, course_id, *values) in enumerate(
        rows.iterator(chunk_size=5000), start=1
    ):
        if done % 500 == 0:
            progress(done, total + 1)
        student, verdict = students[student_id], courses[course_id]
        if student_id != current:
            current, seen = student_id, set()
            sendable = student_key_problems(student, findings)
            if sendable:
                key = [national_ids.normalize(student.national_id), to_roc_date(student.birth_date)]
        if not sendable:
            continue
        if verdict.problem:
            findings.problem(student, "課程代碼", verdict.problem, course=verdict.label)
        elif verdict.excluded:
            findings.exclude(
                student,
                "課程代碼",
                _(
                    "Left out: a group-activity or flexible-learning course is sent only with "
                    "subject attribute D."
                ),
                course=verdict.label,
            )
        elif verdict.code in seen:
            findings.problem(
                student,
                "課程代碼",
                _("The same course code twice for this student."),
                course=verdict.label,
            )
        else:
            seen.add(verdict.code)
            yield GradeRow(student, key, verdict, tuple(values))


def precheck_rows(
    term: Term, division: str, findings: Findings, progress: Callable[[int, int], None]
) -> Iterator[list[Any]]:
    """The pre-check file's data rows: the course's columns, the grades blank."""
    spec = spec_for(term.school_year.roc_year)
    for row in checked_grade_rows(term, division, findings, progress):
        course = row.verdict.course
        yield row.key + spec.precheck_row(
            row.verdict.code, course.name, course.grade, course.credits, division
        )


def precheck_build(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    """The job: check the term's grade rows of the division and keep the pre-check file."""
    term = Term.objects.select_related("school", "school_year").get(
        pk=job.params["term"], school_id=job.school_id
    )
    division = job.params["division"]
    spec = spec_for(term.school_year.roc_year)
    roster = spec.PRECHECK_ROSTERS[division]
    findings = Findings()
    name = spec.file_name(
        term.school.code, term.school_year.roc_year, term.number, roster, timezone.localtime()
    )
    written = {"rows": 0}

    def counted(rows: Iterator[list[Any]]) -> Iterator[list[Any]]:
        for row in rows:
            written["rows"] += 1
            yield row

    with tempfile.TemporaryFile() as temporary:
        book = Workbook(write_only=True)
        cover = spec.cover_row(term.school.code, term.school_year.roc_year, term.number, roster)
        add_sheet(
            book, title=spec.COVER_SHEET, headers=spec.COVER_COLUMNS, rows=[cover], bold=False
        )
        add_sheet(
            book,
            title=spec.GRADE_SHEET,
            headers=(*spec.KEY_COLUMNS, *spec.GRADE_COLUMNS[division]),
            rows=counted(precheck_rows(term, division, findings, progress)),
            bold=False,
        )
        book.save(temporary)
        temporary.seek(0)
        job.result_file.save(name, File(temporary, name=name), save=False)
    Job.objects.filter(pk=job.pk).update(result_file=job.result_file.name)
    return {
        "file_name": name,
        "roster": roster,
        "rows": written["rows"],
        "passed": findings.problem_count == 0,
        "problem_count": findings.problem_count,
        "excluded_count": findings.excluded_count,
        "problems": findings.problems,
        "excluded": findings.excluded,
    }
