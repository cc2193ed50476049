"""Working group and registry: how far a term's course outcomes and uploads have come.

Who sees what:

- the **portfolio working group** (工作小組) follows the whole school, as its home page's
  counters do (``portal/dashboard.py``): every student, both divisions, or one division
  when it picks one (``?division=``, offered when the school has a continuing division);
- the **registry office** sees the students of its own division only, as everywhere else
  (``records.access.students_visible_to``); the division is not a choice for it.

Certification progress counts the outcomes of the term's courses that reached a teacher:
awaiting certification, certified and rejected (``submissions.access.HANDED_IN``). Drafts
and withdrawn outcomes never asked a teacher for anything and are not counted. Each row
gives the share decided, decided / (awaiting + decided), and for the awaiting ones the
median number of days they have waited and the day the oldest was sent. An outcome has no
"sent at" field: its ``updated_at`` is used. While an outcome awaits, the only writes to
it are the student's own changes, which send it anew (the teacher sees the changed work),
the registry's reopening of a decision (which sends it back to awaiting) and a rejected
outcome's new file; so for an awaiting outcome ``updated_at`` is when it was last sent.

The rows come by department, by course and by teacher:

- **Department**: courses carry no department of their own (``records.models.Course``), so
  they are grouped by the 群科 part of their 23-character course code, 群別 (positions
  11-12) and 科別 (13-15), through ``portfolio.lib.course_code``; the code tables' names
  are not kept by the platform, so a department shows as its two codes. A course whose code
  is not 23 characters long goes under "code not recognised". A general senior high school
  (普通型, 群別 11, 科別 101) therefore has a single department row.
- **Course**: one row per course offered in the term (code and section).
- **Teacher**: one row per teacher of a course (``Course.teachers``); a course with two
  teachers counts for both (either may decide), so the teachers' rows may add up to more
  than the school's total. Courses with no teacher set (the registry certifies as proxy)
  have a row of their own.

Only courses, departments and teachers with at least one outcome counted are listed.

Upload progress counts, per class of the term's school year and per grade: the students
placed in the class now, those with at least one outcome of the term's courses handed in
(not a draft, not withdrawn), the outcomes handed in, and the diverse performances
uploaded in the school year (saved, whoever entered them; drafts and withdrawn ones not).
The platform keeps one class per student, so once students move up to next year's
classes, an earlier year's classes show them no longer.

Cost: the page reads each source once, grouped (by course, by class) or as one list of
the awaiting outcomes' times, and adds up departments, teachers, grades and totals in
Python: the same number of queries for 3 outcomes or 30,000
(``tests/test_progress_pages.py``). Parameters are checked before any query: an id that is
no id, or a division or tab or order that does not exist, counts as not given; a
well-formed id of a term that is not the school's answers 404.

Read-only: nothing here changes anything, and nobody is notified from here.
"""

import dataclasses
import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST, require_safe
from openpyxl import Workbook

from accounts.acting import ActingContext, ActingRequest
from accounts.decorators import acting_required
from accounts.models import Division, Role
from certification import notices
from portfolio.exports import XLSX, add_sheet
from portfolio.lib.course_code import LENGTH as CODE_LENGTH
from portfolio.lib.course_code import CourseCode
from portfolio.lib.numbers import parse_id
from portfolio.models import GRADE_CHOICES, Term, Window, WindowKind, last_started
from records.access import division_q, students_visible_to
from records.models import Course, SchoolClass, Student
from submissions.access import HANDED_IN
from submissions.models import CourseOutcome, OutcomeState, Performance, PerformanceState

PROGRESS_ROLES = (Role.WORKING_GROUP, Role.REGISTRY)
PAGE_SIZE = 50
SECONDS_A_DAY = 86_400

# What the numbers are, said once for the page and the workbook.
COUNTED_NOTE = gettext_lazy(
    "Course outcomes of the term's courses that reached a teacher: awaiting certification, "
    "certified or rejected. Drafts and withdrawn outcomes are not counted. Share decided is "
    "certified and rejected over all counted."
)
WAITING_NOTE = gettext_lazy(
    "Days waiting count from when each outcome awaiting certification was last sent (or "
    "sent back by a reopened decision) to now."
)
TEACHERS_NOTE = gettext_lazy(
    "A course with two teachers counts for each of them, so the teachers' rows may add up "
    "to more than the total, which counts each outcome once. Courses with no teacher set "
    "are certified by the registry as proxy."
)
DEPARTMENTS_NOTE = gettext_lazy(
    "Courses carry no department: a course's department is read from its course code, the "
    "group (群別, characters 11-12) and the department (科別, characters 13-15)."
)
UPLOADS_NOTE = gettext_lazy(
    "Students placed now in the classes of the term's school year; outcomes of the term's "
    "courses handed in (not drafts, not withdrawn); diverse performances uploaded in the "
    "school year, by the student or the school (not drafts, not withdrawn)."
)


# --- Scope ---------------------------------------------------------------------------------


def students_in_scope(acting: ActingContext, division: str) -> QuerySet[Student]:
    """The students whose numbers the acting person follows here: the working group the
    whole school's (of ``division`` when one is given), the registry its own division's.

    ``students_visible_to`` gives the working group no student (it opens no record); its
    totals are the school's, as on its home page.
    """
    if acting.role == Role.WORKING_GROUP:
        students = Student.objects.for_school(acting.school)
        return students.filter(division_q(division)) if division else students
    return students_visible_to(acting)


def classes_in_scope(acting: ActingContext, term: Term, division: str) -> QuerySet[SchoolClass]:
    """The classes of ``term``'s school year whose students are in scope, by grade and name."""
    classes = SchoolClass.objects.for_school(acting.school).filter(school_year=term.school_year_id)
    if acting.role == Role.WORKING_GROUP:
        return classes.filter(division=division) if division else classes
    return classes.filter(division=acting.division)


# --- Rows ------------------------------------------------------------------------------------


@dataclasses.dataclass
class CertRow:
    """Outcomes of a department, course or teacher: how many await a decision, were
    certified or rejected, and when the awaiting ones were sent."""

    key: Any
    label: str
    order: tuple = ()
    code: str = ""  # a course's
    section: str = ""  # a course's
    grade: int | None = None  # a course's
    username: str = ""  # a teacher's
    awaiting: int = 0
    certified: int = 0
    rejected: int = 0
    courses: int = 0  # of a department or teacher
    teachers: list[str] = dataclasses.field(default_factory=list)  # of a course
    sent: list[dt.datetime] = dataclasses.field(default_factory=list)
    # Set by ``settle``.
    median_days: float | None = None
    oldest: dt.date | None = None

    def add(self, other: "CertRow") -> None:
        self.awaiting += other.awaiting
        self.certified += other.certified
        self.rejected += other.rejected
        self.sent.extend(other.sent)
        self.courses += 1

    def settle(self, now: dt.datetime) -> "CertRow":
        """Work out the median wait and the oldest awaiting outcome's day, as of ``now``."""
        if self.sent:
            days = [(now - sent).total_seconds() / SECONDS_A_DAY for sent in self.sent]
            self.median_days = round(max(statistics.median(days), 0.0), 1)
            self.oldest = timezone.localdate(min(self.sent))
        return self

    @property
    def decided(self) -> int:
        return self.certified + self.rejected

    @property
    def counted(self) -> int:
        return self.awaiting + self.decided

    @property
    def decided_percent(self) -> float | None:
        """The share decided in per cent, one decimal; None when nothing was counted."""
        return round(100 * self.decided / self.counted, 1) if self.counted else None


@dataclasses.dataclass
class UploadRow:
    """A class's or grade's students and what they handed in."""

    key: Any
    label: str
    order: tuple = ()
    grade: int | None = None
    division: str = ""
    note: str = ""  # a continuing-division class's, when both divisions are shown
    classes: int = 0  # of a grade
    students: int = 0
    with_outcome: int = 0
    outcomes: int = 0
    performances: int = 0

    def add(self, other: "UploadRow") -> None:
        self.classes += 1
        self.students += other.students
        self.with_outcome += other.with_outcome
        self.outcomes += other.outcomes
        self.performances += other.performances

    @property
    def with_outcome_percent(self) -> float | None:
        return round(100 * self.with_outcome / self.students, 1) if self.students else None


# --- Reading the term ------------------------------------------------------------------------


def department_of(code: str) -> tuple[str, str] | None:
    """(群別, 科別) of a course code, or None when the code is not 23 characters."""
    if len(code) != CODE_LENGTH:
        return None
    parsed = CourseCode(code)
    return parsed.group, parsed.department


def department_label(key: tuple[str, str] | None) -> str:
    if key is None:
        return _("Course code not recognised")
    return _("Group %(group)s, department %(department)s") % {
        "group": key[0],
        "department": key[1],
    }


def _teacher_name(name: str, username: str) -> str:
    return name or username


@dataclasses.dataclass
class Certification:
    departments: list[CertRow]
    courses: list[CertRow]
    teachers: list[CertRow]
    total: CertRow


def certification_rows(
    acting: ActingContext, term: Term, division: str, now: dt.datetime
) -> Certification:
    """The term's outcomes handed in, by department, course and teacher: four queries."""
    handed_in = CourseOutcome.objects.filter(
        school=acting.school, enrolment__course__term=term, state__in=HANDED_IN
    )
    if acting.role != Role.WORKING_GROUP or division:
        # The whole school's need no filter (a subquery of every student would only slow
        # the planner down).
        handed_in = handed_in.filter(student__in=students_in_scope(acting, division))
    counts = list(
        handed_in.values("enrolment__course_id")
        .annotate(
            awaiting=Count("pk", filter=Q(state=OutcomeState.SUBMITTED)),
            certified=Count("pk", filter=Q(state=OutcomeState.CERTIFIED)),
            rejected=Count("pk", filter=Q(state=OutcomeState.REJECTED)),
        )
        .order_by()
    )
    sent = handed_in.filter(state=OutcomeState.SUBMITTED).values_list(
        "enrolment__course_id", "updated_at"
    )
    # The courses counted, known now: no second pass over the outcomes to find them.
    course_ids = [found["enrolment__course_id"] for found in counts]
    courses_found = Course.objects.filter(school=acting.school, pk__in=course_ids).values_list(
        "pk", "code", "section", "name", "grade"
    )
    teaching = (
        Course.teachers.through.objects.filter(course_id__in=course_ids)
        .values_list("course_id", "user_id", "user__name", "user__username")
        .order_by("user__name", "user__username", "user_id")
    )

    courses: dict[int, CertRow] = {}
    for pk, code, section, name, grade in courses_found:
        courses[pk] = CertRow(
            key=pk,
            label=name,
            order=(name, code, section),
            code=code,
            section=section,
            grade=grade,
        )
    for found in counts:
        row = courses.get(found["enrolment__course_id"])
        if row is not None:
            row.awaiting, row.certified = found["awaiting"], found["certified"]
            row.rejected = found["rejected"]
    for course_id, updated_at in sent:
        if (row := courses.get(course_id)) is not None:
            row.sent.append(updated_at)

    teachers: dict[int | None, CertRow] = {}
    taught: set[int] = set()
    for course_id, user_id, name, username in teaching:
        course = courses.get(course_id)
        if course is None:
            continue
        taught.add(course_id)
        course.teachers.append(_teacher_name(name, username))
        teacher = teachers.get(user_id)
        if teacher is None:
            label = _teacher_name(name, username)
            teacher = teachers[user_id] = CertRow(
                key=user_id, label=label, order=(label, username), username=username
            )
        teacher.add(course)
    for course_id, course in courses.items():
        if course_id not in taught:
            if None not in teachers:
                # Sorts after every name: the registry certifies these as proxy.
                teachers[None] = CertRow(key=None, label=_("No teacher set"), order=("\uffff",))
            teachers[None].add(course)

    departments: dict[tuple[str, str] | None, CertRow] = {}
    total = CertRow(key="total", label=_("Total"))
    for course in courses.values():
        key = department_of(course.code)
        department = departments.get(key)
        if department is None:
            department = departments[key] = CertRow(
                key=key, label=department_label(key), order=(key is None, key or ("", ""))
            )
        department.add(course)
        total.add(course)

    def settled(rows: Iterable[CertRow]) -> list[CertRow]:
        return sorted((row.settle(now) for row in rows), key=lambda row: row.order)

    return Certification(
        departments=settled(departments.values()),
        courses=settled(courses.values()),
        teachers=settled(teachers.values()),
        total=total.settle(now),
    )


@dataclasses.dataclass
class Uploads:
    classes: list[UploadRow]
    grades: list[UploadRow]
    total: UploadRow


def upload_rows(acting: ActingContext, term: Term, division: str) -> Uploads:
    """Each class's and grade's students and uploads for ``term``: four queries."""
    school = acting.school
    classes_qs = classes_in_scope(acting, term, division)
    rows: dict[int, UploadRow] = {}
    for pk, name, grade, class_division in classes_qs.order_by(
        "grade", "division", "name"
    ).values_list("pk", "name", "grade", "division"):
        rows[pk] = UploadRow(
            key=pk,
            label=name,
            order=(grade, class_division != Division.DAY, name),
            grade=grade,
            division=class_division,
            note=str(Division(class_division).label)
            if not division and class_division != Division.DAY
            else "",
        )
    if rows:
        students = (
            Student.objects.filter(school=school, school_class__in=classes_qs)
            .values("school_class_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for found in students:
            if row := rows.get(found["school_class_id"]):
                row.students = found["n"]
        outcomes = (
            CourseOutcome.objects.filter(
                school=school,
                enrolment__course__term=term,
                state__in=HANDED_IN,
                student__school_class__in=classes_qs,
            )
            .values("student__school_class_id")
            .annotate(n=Count("pk"), students=Count("student_id", distinct=True))
            .order_by()
        )
        for found in outcomes:
            if row := rows.get(found["student__school_class_id"]):
                row.outcomes, row.with_outcome = found["n"], found["students"]
        performances = (
            Performance.objects.filter(
                school=school,
                school_year_id=term.school_year_id,
                state=PerformanceState.SAVED,
                student__school_class__in=classes_qs,
            )
            .values("student__school_class_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for found in performances:
            if row := rows.get(found["student__school_class_id"]):
                row.performances = found["n"]
    grades: dict[int, UploadRow] = {}
    total = UploadRow(key="total", label=_("Total"))
    grade_labels = dict(GRADE_CHOICES)
    for row in rows.values():
        grade = row.grade or 0
        if grade not in grades:
            grades[grade] = UploadRow(
                key=grade, label=str(grade_labels.get(grade, grade)), order=(grade,), grade=grade
            )
        grades[grade].add(row)
        total.add(row)
    return Uploads(
        classes=sorted(rows.values(), key=lambda r: r.order),
        grades=sorted(grades.values(), key=lambda r: r.order),
        total=total,
    )


# --- Tabs and their columns ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    # Sorted from high to low (the most to follow up first) rather than from low to high.
    descending: bool = False


def _last_if_none(value: Any, descending: bool = False) -> tuple[bool, Any]:
    """An order key that puts rows without a value last, whichever way the rest go."""
    if value is None:
        return (True, 0)
    return (False, -value if descending else value)


CERT_SORTS: dict[str, Callable[[CertRow], Any]] = {
    "name": lambda r: r.order,
    "awaiting": lambda r: (-r.awaiting, r.order),
    "certified": lambda r: (-r.certified, r.order),
    "rejected": lambda r: (-r.rejected, r.order),
    "decided": lambda r: (_last_if_none(r.decided_percent), r.order),
    "waiting": lambda r: (_last_if_none(r.median_days, descending=True), r.order),
    "oldest": lambda r: (
        _last_if_none(r.oldest.toordinal() if r.oldest else None),
        r.order,
    ),
}
UPLOAD_SORTS: dict[str, Callable[[UploadRow], Any]] = {
    "name": lambda r: r.order,
    "students": lambda r: (-r.students, r.order),
    "with_outcome": lambda r: (_last_if_none(r.with_outcome_percent), r.order),
    "outcomes": lambda r: (r.outcomes, r.order),
    "performances": lambda r: (r.performances, r.order),
}


def _cert_columns(name: str | Promise) -> list[Column]:
    return [
        Column("name", name),
        Column("awaiting", gettext_lazy("Awaiting"), descending=True),
        Column("certified", gettext_lazy("Certified"), descending=True),
        Column("rejected", gettext_lazy("Rejected"), descending=True),
        Column("decided", gettext_lazy("Share decided")),
        Column("waiting", gettext_lazy("Median days waiting"), descending=True),
        Column("oldest", gettext_lazy("Oldest waiting since")),
    ]


def _upload_columns(name: str | Promise) -> list[Column]:
    return [
        Column("name", name),
        Column("students", gettext_lazy("Students"), descending=True),
        Column("with_outcome", gettext_lazy("Students with an outcome handed in")),
        Column("outcomes", gettext_lazy("Outcomes handed in")),
        Column("performances", gettext_lazy("Performances uploaded")),
    ]


@dataclasses.dataclass(frozen=True)
class Tab:
    key: str
    label: str | Promise
    caption: str | Promise
    columns: list[Column]
    sorts: dict[str, Callable[[Any], Any]]

    @property
    def is_certification(self) -> bool:
        return self.sorts is CERT_SORTS


TABS = [
    Tab(
        "department",
        gettext_lazy("Certification by department"),
        gettext_lazy("Course outcomes handed in, by the department of the course code"),
        _cert_columns(gettext_lazy("Department")),
        CERT_SORTS,
    ),
    Tab(
        "course",
        gettext_lazy("by course"),
        gettext_lazy("Course outcomes handed in, by course"),
        _cert_columns(gettext_lazy("Course")),
        CERT_SORTS,
    ),
    Tab(
        "teacher",
        gettext_lazy("by teacher"),
        gettext_lazy("Course outcomes handed in, by teacher of the course"),
        _cert_columns(gettext_lazy("Teacher")),
        CERT_SORTS,
    ),
    Tab(
        "class",
        gettext_lazy("Uploads by class"),
        gettext_lazy("Students' uploads, by class"),
        _upload_columns(gettext_lazy("Class")),
        UPLOAD_SORTS,
    ),
    Tab(
        "grade",
        gettext_lazy("by grade"),
        gettext_lazy("Students' uploads, by grade"),
        _upload_columns(gettext_lazy("Grade")),
        UPLOAD_SORTS,
    ),
]
TABS_BY_KEY = {tab.key: tab for tab in TABS}
DEFAULT_TAB = "department"
DEFAULT_SORT = "name"


# --- The page's parameters -------------------------------------------------------------------


@dataclasses.dataclass
class Asked:
    """The parameters as checked (before any query): None or "" where not given or not
    well formed."""

    term_id: int | None
    division: str
    tab: str
    sort: str


def _asked(request: ActingRequest) -> Asked:
    division = request.GET.get("division", "")
    tab = request.GET.get("tab", DEFAULT_TAB)
    tab = tab if tab in TABS_BY_KEY else DEFAULT_TAB
    sort = request.GET.get("sort", DEFAULT_SORT)
    return Asked(
        term_id=parse_id(request.GET.get("term")),
        division=division if division in Division.values else "",
        tab=tab,
        sort=sort if sort in TABS_BY_KEY[tab].sorts else DEFAULT_SORT,
    )


def default_term(terms: Sequence[Term], open_term_id: int | None, today: dt.date) -> Term | None:
    """The term whose outcomes are being uploaded or certified now (a window of either kind
    open); else, as the homeroom page and the offices' lists pick it, the term under way or,
    between terms, the one just ended; before any has started, the first."""
    found = next((t for t in terms if t.pk == open_term_id), None)
    return found if found is not None else last_started(terms, today)


@dataclasses.dataclass
class Progress:
    """What the page shows: the term and division as checked, the tab and its order, and
    the term's numbers (None when the school has no term yet)."""

    terms: list[Term]
    term: Term | None
    division: str  # "" for all (the working group's choice)
    may_pick_division: bool
    # Whether to say whose division the numbers are: only where the school has two.
    shows_division: bool
    tab: Tab
    sort: str
    certification: Certification | None = None
    uploads: Uploads | None = None
    made_at: dt.datetime = dataclasses.field(default_factory=timezone.now)

    @property
    def division_label(self) -> str:
        if self.division:
            return str(Division(self.division).label)
        return _("Both divisions") if self.shows_division else _("Whole school")

    @property
    def divisions(self) -> list[tuple[str, str | Promise]]:
        return [("", _("Both divisions")), *Division.choices]

    @property
    def query(self) -> str:
        """The export's query string: what is shown (the values as checked)."""
        params: dict[str, Any] = {}
        if self.term is not None:
            params["term"] = self.term.pk
        if self.may_pick_division and self.division:
            params["division"] = self.division
        return urlencode(params)

    def rows(self) -> list[Any]:
        """The rows of the tab shown, in the order asked for."""
        key = self.tab.key
        found: list[Any] = []
        if key in ("department", "course", "teacher") and self.certification is not None:
            found = getattr(self.certification, f"{key}s")
        elif key == "class" and self.uploads is not None:
            found = self.uploads.classes
        elif key == "grade" and self.uploads is not None:
            found = self.uploads.grades
        return sorted(found, key=self.tab.sorts[self.sort])


def progress_for(request: ActingRequest) -> Progress:
    asked = _asked(request)
    acting = request.acting
    school = acting.school
    now = timezone.now()
    terms = list(
        Term.objects.filter(school=school)
        .select_related("school_year")
        .order_by("-school_year__roc_year", "-number")
    )
    if asked.term_id is None:
        open_term_id = (
            Window.objects.for_school(school)
            .open_at(now)
            .filter(kind__in=(WindowKind.OUTCOME_UPLOAD, WindowKind.CERTIFICATION))
            .order_by("-starts_at")
            .values_list("term_id", flat=True)
            .first()
        )
        term = default_term(terms, open_term_id, timezone.localdate(now))
    else:
        term = next((t for t in terms if t.pk == asked.term_id), None)
        if term is None:
            raise Http404
    may_pick = acting.role == Role.WORKING_GROUP and school.has_continuing_division
    if acting.role == Role.WORKING_GROUP:
        division = asked.division if may_pick else ""
    else:
        division = acting.division
    progress = Progress(
        terms=terms,
        term=term,
        division=division,
        may_pick_division=may_pick,
        shows_division=school.has_continuing_division,
        tab=TABS_BY_KEY[asked.tab],
        sort=asked.sort,
        made_at=now,
    )
    if term is not None:
        progress.certification = certification_rows(acting, term, division, now)
        progress.uploads = upload_rows(acting, term, division)
    return progress


# --- Views -------------------------------------------------------------------------------------


def _notes(tab: Tab) -> list[str | Promise]:
    """What the table shown counts, in words under it."""
    if not tab.is_certification:
        return [UPLOADS_NOTE]
    notes: list[str | Promise] = [COUNTED_NOTE, WAITING_NOTE]
    if tab.key == "teacher":
        notes.append(TEACHERS_NOTE)
    if tab.key == "department":
        notes.append(DEPARTMENTS_NOTE)
    return notes


@acting_required(*PROGRESS_ROLES)
@require_safe
def index(request: ActingRequest) -> HttpResponse:
    """The term's progress: totals, then one table at a time (tabs), sortable, by pages."""
    progress = progress_for(request)
    page = Paginator(progress.rows(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/progress/index.html",
        {
            "progress": progress,
            "tabs": TABS,
            "tab": progress.tab,
            "columns": progress.tab.columns,
            "sort": progress.sort,
            "page": page,
            "cert": progress.certification,
            "uploads": progress.uploads,
            "notes": _notes(progress.tab),
            "may_notify": request.acting.role == Role.REGISTRY,
        },
    )


CERT_HEADERS = [
    gettext_lazy("Awaiting"),
    gettext_lazy("Certified"),
    gettext_lazy("Rejected"),
    gettext_lazy("Share decided (%)"),
    gettext_lazy("Median days waiting"),
    gettext_lazy("Oldest waiting since"),
]
UPLOAD_HEADERS = [
    gettext_lazy("Students"),
    gettext_lazy("Students with an outcome handed in"),
    gettext_lazy("Share of students (%)"),
    gettext_lazy("Outcomes handed in"),
    gettext_lazy("Performances uploaded"),
]


def _texts(*labels: str | Promise) -> list[str]:
    return [str(label) for label in labels]


def _cert_numbers(row: CertRow) -> list[Any]:
    return [
        row.awaiting,
        row.certified,
        row.rejected,
        row.decided_percent,
        row.median_days,
        row.oldest,
    ]


def _upload_numbers(row: UploadRow) -> list[Any]:
    return [
        row.students,
        row.with_outcome,
        row.with_outcome_percent,
        row.outcomes,
        row.performances,
    ]


def workbook_for(progress: Progress) -> Workbook:
    """Every table of the page, one sheet each, in the page's first order, a total row
    last; a first sheet says what the numbers are of."""
    term, cert, uploads = progress.term, progress.certification, progress.uploads
    if term is None or cert is None or uploads is None:
        raise ValueError("no term: nothing to export")
    book = Workbook(write_only=True)
    total = _("Total")
    add_sheet(
        book,
        title=_("About"),
        headers=_texts(_("Progress"), ""),
        rows=[
            [_("Term"), str(term)],
            [_("Division"), progress.division_label],
            [_("Made at"), progress.made_at],
            [_("Course outcomes counted"), str(COUNTED_NOTE)],
            [_("Teachers"), str(TEACHERS_NOTE)],
            [_("Uploads"), str(UPLOADS_NOTE)],
        ],
    )
    add_sheet(
        book,
        title=_("Departments"),
        headers=_texts(_("Group code"), _("Department code"), _("Courses"), *CERT_HEADERS),
        rows=[
            *(
                [*(row.key or (row.label, "")), row.courses, *_cert_numbers(row)]
                for row in cert.departments
            ),
            [total, "", cert.total.courses, *_cert_numbers(cert.total)],
        ],
    )
    add_sheet(
        book,
        title=_("Courses"),
        headers=_texts(
            _("Course code"),
            _("Section"),
            _("Subject name"),
            _("Grade"),
            _("Teachers"),
            *CERT_HEADERS,
        ),
        rows=[
            *(
                [
                    row.code,
                    row.section,
                    row.label,
                    row.grade,
                    "、".join(row.teachers),
                    *_cert_numbers(row),
                ]
                for row in cert.courses
            ),
            [total, "", "", "", "", *_cert_numbers(cert.total)],
        ],
    )
    add_sheet(
        book,
        title=_("Teachers"),
        headers=_texts(_("Teacher"), _("User name"), _("Courses"), *CERT_HEADERS),
        rows=[
            *([row.label, row.username, row.courses, *_cert_numbers(row)] for row in cert.teachers),
            [total, "", cert.total.courses, *_cert_numbers(cert.total)],
        ],
    )
    add_sheet(
        book,
        title=_("Classes"),
        headers=_texts(_("Class"), _("Grade"), _("Division"), *UPLOAD_HEADERS),
        rows=[
            *(
                [row.label, row.grade, str(Division(row.division).label), *_upload_numbers(row)]
                for row in uploads.classes
            ),
            [total, "", "", *_upload_numbers(uploads.total)],
        ],
    )
    add_sheet(
        book,
        title=_("Grades"),
        headers=_texts(_("Grade"), _("Classes"), *UPLOAD_HEADERS),
        rows=[
            *([row.label, row.classes, *_upload_numbers(row)] for row in uploads.grades),
            [total, uploads.total.classes, *_upload_numbers(uploads.total)],
        ],
    )
    return book


@require_POST
@acting_required(Role.REGISTRY)
def notify_teachers(request: ActingRequest) -> HttpResponse:
    """The registry asks each teacher with outcomes awaiting in the term shown (its
    division's students) to certify them: a notice, at most one a day per teacher."""
    progress = progress_for(request)
    if progress.term is None:
        raise Http404
    acting = request.acting
    outcomes = CourseOutcome.objects.filter(
        school=acting.school,
        enrolment__course__term=progress.term,
        student__in=students_in_scope(acting, progress.division),
    )
    notified, already = notices.teachers_behind_notify(acting=acting, outcomes=outcomes)
    if notified:
        messages.success(
            request,
            ngettext("%(n)d teacher notified.", "%(n)d teachers notified.", notified)
            % {"n": notified},
        )
    if already:
        messages.info(
            request,
            ngettext(
                "%(n)d teacher was already notified today; not again.",
                "%(n)d teachers were already notified today; not again.",
                already,
            )
            % {"n": already},
        )
    if not notified and not already:
        messages.info(request, _("No teacher has course outcomes awaiting in this term."))
    return redirect(f"{reverse('progress:index')}?{progress.query}&tab=teacher")


@acting_required(*PROGRESS_ROLES)
@require_safe
def export(request: ActingRequest) -> HttpResponse:
    """The page's tables for the term and division shown, as one xlsx with a sheet each
    (``?format=xlsx``, the only format, may be left out)."""
    if request.GET.get("format", "xlsx") != "xlsx":
        raise Http404
    progress = progress_for(request)
    if progress.term is None:
        raise Http404  # no term set up: nothing to export
    book = workbook_for(progress)
    division = progress.division or "all"
    filename = (
        f"{request.acting.school.code}-progress-{progress.term.label}-{division}"
        f"-{timezone.localdate():%Y%m%d}.xlsx"
    )
    response = HttpResponse(content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response["X-Content-Type-Options"] = "nosniff"
    book.save(response)
    return response
