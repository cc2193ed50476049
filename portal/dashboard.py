"""What each role meets on its home page: the phase banner and its counters."""

import dataclasses
import datetime as dt

from django.db.models import Count, QuerySet
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.acting import ActingContext
from accounts.models import Membership, Role
from certification.concerns import waiting_count_for as concerns_waiting_for
from certification.services import awaiting_count_for
from portfolio.calendar import calendar_of
from portfolio.models import SchoolYear, Term, Window, WindowKind
from records.access import classes_visible_to, students_visible_to
from records.models import CORRECTION_OFFICES, SchoolClass, Student
from records.services.corrections import open_corrections_count
from records.services.courses import course_code_check_status
from submissions.models import CourseOutcome, Performance

K = WindowKind
WINDOWS_FOR_ROLE: dict[str, set[str]] = {
    Role.STUDENT: {
        K.BASIC_DATA_CHECK,
        K.OUTCOME_UPLOAD,
        K.PERFORMANCE_UPLOAD,
        K.SELECTION,
        K.RECEIPT_CONFIRMATION,
    },
    Role.TEACHER: {K.OUTCOME_UPLOAD, K.CERTIFICATION},
    Role.HOMEROOM: {
        K.BASIC_DATA_CHECK,
        K.OUTCOME_UPLOAD,
        K.PERFORMANCE_UPLOAD,
        K.CERTIFICATION,
        K.SELECTION,
        K.RECEIPT_CONFIRMATION,
    },
    Role.CONSULTANT: {K.OUTCOME_UPLOAD, K.PERFORMANCE_UPLOAD, K.SELECTION},
    Role.COUNSELLOR: {K.BASIC_DATA_CHECK, K.SELECTION},
    Role.REGISTRY: {K.BASIC_DATA_CHECK, K.CERTIFICATION, K.SUBMISSION, K.RECEIPT_CONFIRMATION},
    Role.CURRICULUM: {K.COURSE_CODE_CHECK, K.OUTCOME_UPLOAD, K.CERTIFICATION},
    Role.STUDENT_AFFAIRS: {
        K.BASIC_DATA_CHECK,
        K.PERFORMANCE_UPLOAD,
        K.SUBMISSION,
        K.RECEIPT_CONFIRMATION,
    },
    Role.SCHOOL_ADMIN: set(K),
    Role.WORKING_GROUP: set(K),
}


@dataclasses.dataclass
class Counter:
    label: str | Promise
    value: int
    of: int | None = None
    link: str = ""


@dataclasses.dataclass
class Phase:
    open_now: list[Window]
    next_up: list[Window]
    now: dt.datetime


def phase_for(context: ActingContext, *, now: dt.datetime, grade: int | None = None) -> Phase:
    windows = calendar_of(context.school).windows_ahead(WINDOWS_FOR_ROLE[context.role], now, grade)
    open_now: list[Window] = []
    upcoming: list[Window] = []
    for window in windows[:40]:
        (open_now if window.is_open_at(now) else upcoming).append(window)
    return Phase(open_now=open_now, next_up=upcoming[:3], now=now)


def counters_for(
    context: ActingContext, *, year: SchoolYear | None, student: Student | None = None
) -> list[Counter]:
    """The home page's counters; ``student`` is the acting student's record, when known."""
    school = context.school
    role = context.role
    if role == Role.STUDENT:
        return _student_counters(context, year, student)
    if role == Role.TEACHER:
        return [
            Counter(
                _("Course outcomes awaiting your certification"),
                awaiting_count_for(context),
                link="certification:queue",
            ),
            Counter(
                _("Concerns waiting for your answer"),
                concerns_waiting_for(context),
                link="certification:concerns",
            ),
        ]
    if role == Role.HOMEROOM:
        counts = classes_visible_to(context).aggregate(
            n_classes=Count("id", distinct=True), n_students=Count("students")
        )
        return [
            Counter(_("My classes"), counts["n_classes"]),
            Counter(_("Students in my classes"), counts["n_students"]),
        ]
    if role == Role.SCHOOL_ADMIN:
        by_role = dict(
            Membership.objects.active()
            .for_school(school)
            .values_list("role")
            .annotate(n=Count("id"))
            .values_list("role", "n")
        )
        windows = Window.objects.for_school(school)
        if year:
            windows = windows.filter(term__school_year=year)
        return [
            Counter(
                _("Active staff roles"),
                sum(n for r, n in by_role.items() if r != Role.STUDENT),
                link="accounts:members",
            ),
            Counter(_("Student accounts"), by_role.get(Role.STUDENT, 0), link="accounts:members"),
            Counter(_("Windows this school year"), windows.count(), link="portal:schedule"),
        ]
    students: QuerySet[Student]
    classes: QuerySet[SchoolClass]
    if role == Role.WORKING_GROUP:
        # The working group follows the whole school's progress: totals, never names.
        students = Student.objects.for_school(school)
        classes = SchoolClass.objects.for_school(school).filter(school_year=year)
    else:
        students, classes = students_visible_to(context), classes_visible_to(context)
    counters = [
        Counter(_("Students on the roll"), students.count()),
        Counter(_("Classes this school year"), classes.count()),
    ]
    if role == Role.REGISTRY:
        counters.append(
            Counter(
                _("Outcomes awaiting certification by proxy (teachers who left)"),
                awaiting_count_for(context),
                link="certification:proxy",
            )
        )
        counters.append(
            Counter(
                _("Concerns waiting for your answer"),
                concerns_waiting_for(context),
                link="certification:concerns",
            )
        )
    if role in CORRECTION_OFFICES:
        counters.append(
            Counter(
                _("Correction requests waiting"),
                open_corrections_count(school, role, context.division),
                link="basicdata:corrections",
            )
        )
    return counters


def _student_counters(
    context: ActingContext, year: SchoolYear | None, student: Student | None
) -> list[Counter]:
    policy = getattr(year, "policy", None) if year else None
    if year is None or policy is None:
        return []
    counters = []
    if student is None:
        student = Student.objects.filter(user=context.user, school=context.school).first()
    term = calendar_of(context.school).last_started_term()
    if student is not None and term is not None:
        # What the student has used of the caps: the term whose outcomes are being uploaded
        # (under way or just ended) and this school year's own performances.
        counters += [
            Counter(
                _("Course outcomes uploaded for %(term)s") % {"term": term.label},
                CourseOutcome.objects.counting_toward_cap(student, term).count(),
                of=policy.outcome_upload_cap_per_term,
                link="outcomes:portfolio",
            ),
            Counter(
                _("Your diverse performances this year"),
                Performance.objects.counting_toward_cap(student, year.pk).count(),
                of=policy.performance_upload_cap_per_year,
                link="outcomes:portfolio",
            ),
        ]
    else:
        counters += [
            Counter(
                _("Course outcomes you may upload each term"), policy.outcome_upload_cap_per_term
            ),
            Counter(
                _("Diverse performances you may upload this year"),
                policy.performance_upload_cap_per_year,
            ),
        ]
    return counters + [
        Counter(_("Course outcomes you may select this year"), policy.outcome_selection_cap),
        Counter(
            _("Diverse performances you may select this year"), policy.performance_selection_cap
        ),
    ]


def course_code_check_for(context: ActingContext) -> dict | None:
    """The course-code check's standing for the current term, on the offices that run or
    follow it (curriculum runs it; registry submits the rosters that depend on it)."""
    if context.role not in {Role.CURRICULUM, Role.REGISTRY}:
        return None
    term = Term.objects.current_for(context.school)
    return course_code_check_status(term) if term else None
