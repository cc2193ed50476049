"""Homeroom teachers (導師): the class at a glance.

One row per student of a class the teacher leads this school year (a deputy acting for
them sees the same), and for a term of that year:

- the student's course outcomes of the term's courses, by state: every one not withdrawn
  counts as uploaded, drafts included (a draft is work the student still has to send);
- the diverse performances of the term's school year not withdrawn, whoever entered them;
- the selection for the central database of that year: none, saved, confirmed, final;
- the basic-data correction requests still open, to whichever office.

The page reads each source once, grouped by student, so it costs the same queries for a
class of 3 or of 900 (``tests/test_homeroom_matrix.py``). A class is small and printed
whole: no pages. Each column sorts so that the students who need the teacher come first:
the fewest uploaded, certified, performances or the least advanced selection; the most
drafts, items awaiting certification, rejections or open requests.

The numbers are the students' own and the offices'; nothing here changes them. The teacher
ticks students and reminds them (a notice, e-mailed unless they turned it off) of what to do:
at most one reminder of each kind a day per student.
"""

import dataclasses
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.acting import ActingContext, ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from certification import notices
from portal.forms import RemindForm
from portfolio.exports import xlsx_response
from portfolio.lib.numbers import parse_id
from portfolio.models import Term, last_started
from records.access import classes_visible_to, students_visible_to
from records.models import CorrectionRequest, CorrectionStatus, SchoolClass, Student
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceState,
    Selection,
)

HOMEROOM = Role.HOMEROOM
NONE = "—"


# --- What a row holds ---------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One student's figures; zero where a source has nothing for them."""

    student: Student
    drafts: int = 0
    awaiting: int = 0
    certified: int = 0
    rejected: int = 0
    performances: int = 0
    corrections: int = 0
    selection: Selection | None = None

    @property
    def uploaded(self) -> int:
        return self.drafts + self.awaiting + self.certified + self.rejected

    @property
    def selection_rank(self) -> int:
        """How far the selection got: none (0), saved (1), confirmed (2)."""
        if self.selection is None:
            return 0
        return 2 if self.selection.is_confirmed else 1

    @property
    def selection_label(self) -> str:
        selection = self.selection
        if selection is None:
            return NONE
        if selection.is_confirmed:
            return _("Confirmed, final") if selection.is_locked else _("Confirmed")
        return _("Not confirmed, final") if selection.is_locked else _("Not confirmed")

    def cell(self, key: str) -> Any:
        """The value of ``key``'s column, as the export writes it."""
        if key == "seat":
            return self.student.seat_number
        if key == "name":
            return self.student.name
        if key == "selection":
            return self.selection_label
        return getattr(self, key)

    def seat_order(self) -> tuple[bool, int, str]:
        seat = self.student.seat_number
        return (seat is None, seat or 0, self.student.student_number)


COUNTS = ("uploaded", "drafts", "awaiting", "certified", "rejected", "performances", "corrections")


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    # In the sort menu, the export and beside each figure on a phone.
    label: str | Promise
    # Sorted from high to low (the most to follow up first) rather than from low to high.
    descending: bool = False
    # Above the column, under its group's heading (which says what the short word counts).
    short: str | Promise = ""

    @property
    def heading(self) -> str | Promise:
        return self.short or self.label


COLUMNS = [
    Column("seat", gettext_lazy("Seat")),
    Column("name", gettext_lazy("Name")),
    Column("uploaded", gettext_lazy("Outcomes uploaded"), short=gettext_lazy("Uploaded")),
    Column("drafts", gettext_lazy("Drafts"), descending=True),
    Column(
        "awaiting",
        gettext_lazy("Awaiting certification"),
        descending=True,
        short=gettext_lazy("Awaiting"),
    ),
    Column("certified", gettext_lazy("Certified")),
    Column("rejected", gettext_lazy("Rejected"), descending=True),
    Column("performances", gettext_lazy("Performances")),
    Column("selection", gettext_lazy("Selection")),
    Column(
        "corrections", gettext_lazy("Open corrections"), descending=True, short=gettext_lazy("Open")
    ),
]
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}
DEFAULT_SORT = "seat"


def _sort_key(key: str) -> Callable[[Row], Any]:
    """The order of ``key``'s column, seat order among equals."""
    if key == "seat":
        return Row.seat_order
    if key == "name":
        return lambda row: (row.student.name, row.seat_order())
    if key == "selection":
        return lambda row: (row.selection_rank, row.seat_order())
    sign = -1 if COLUMNS_BY_KEY[key].descending else 1
    return lambda row: (sign * getattr(row, key), row.seat_order())


# --- Reading the class -------------------------------------------------------------------


def class_rows(acting: ActingContext, school_class: SchoolClass, term: Term | None) -> list[Row]:
    """The students of ``school_class`` with their figures for ``term`` (and its school
    year), in seat order: five queries however many students and items there are."""
    school = acting.school
    students = (
        students_visible_to(acting)
        .filter(school_class=school_class)
        # The encrypted national ID is not needed here: not decrypted for each row.
        .only("pk", "student_number", "name", "seat_number", "status", "user_id")
        .order_by("seat_number", "student_number")
    )
    rows = {student.pk: Row(student=student) for student in students}
    if not rows:
        return []
    of_class = Q(school=school, student__school_class=school_class)
    year_id = term.school_year_id if term is not None else school_class.school_year_id
    if term is not None:
        outcomes = (
            CourseOutcome.objects.filter(of_class, enrolment__course__term=term)
            .exclude(state=OutcomeState.WITHDRAWN)
            .values("student_id")
            .annotate(
                drafts=Count("pk", filter=Q(state=OutcomeState.DRAFT)),
                awaiting=Count("pk", filter=Q(state=OutcomeState.SUBMITTED)),
                certified=Count("pk", filter=Q(state=OutcomeState.CERTIFIED)),
                rejected=Count("pk", filter=Q(state=OutcomeState.REJECTED)),
            )
            .order_by()
        )
        for found in outcomes:
            if row := rows.get(found["student_id"]):
                row.drafts, row.awaiting = found["drafts"], found["awaiting"]
                row.certified, row.rejected = found["certified"], found["rejected"]
    performances = (
        Performance.objects.filter(of_class, school_year_id=year_id)
        .exclude(state=PerformanceState.WITHDRAWN)
        .values("student_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for found in performances:
        if row := rows.get(found["student_id"]):
            row.performances = found["n"]
    selections = Selection.objects.filter(of_class, school_year_id=year_id).only(
        "student_id", "confirmed_at", "locked_at"
    )
    for selection in selections:
        if row := rows.get(selection.student_id):
            row.selection = selection
    corrections = (
        CorrectionRequest.objects.filter(of_class, status=CorrectionStatus.OPEN)
        .values("student_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for found in corrections:
        if row := rows.get(found["student_id"]):
            row.corrections = found["n"]
    return list(rows.values())


@dataclasses.dataclass
class Matrix:
    classes: list[SchoolClass]
    terms: list[Term]
    school_class: SchoolClass | None = None
    term: Term | None = None
    sort: str = DEFAULT_SORT
    rows: list[Row] = dataclasses.field(default_factory=list)

    @property
    def totals(self) -> dict[str, int]:
        found = {key: sum(getattr(row, key) for row in self.rows) for key in COUNTS}
        found["confirmed"] = sum(1 for row in self.rows if row.selection_rank == 2)
        return found

    @property
    def query(self) -> str:
        """The query string of what is shown, for the export (the values as checked)."""
        params: dict[str, Any] = {"sort": self.sort}
        if self.school_class is not None:
            params["school_class"] = self.school_class.pk
        if self.term is not None:
            params["term"] = self.term.pk
        return urlencode(params)


def _matrix(request: ActingRequest) -> Matrix:
    """The class and term asked for, checked, and the class's rows in the order asked for.

    The parameters are read before any query: an id that is no id (text, a NUL byte, a
    number past any key) counts as not given, and the default is shown; a well-formed id of
    a class or term the user may not see answers 404, as one that does not exist does.
    """
    class_id = parse_id(request.GET.get("school_class"))
    term_id = parse_id(request.GET.get("term"))
    sort = request.GET.get("sort", DEFAULT_SORT)
    sort = sort if sort in COLUMNS_BY_KEY else DEFAULT_SORT

    classes = list(classes_visible_to(request.acting))
    if class_id is None:
        school_class = classes[0] if classes else None
    else:
        school_class = next((c for c in classes if c.pk == class_id), None)
        if school_class is None:
            raise Http404
    terms = (
        list(
            Term.objects.filter(
                school=request.acting.school, school_year_id=school_class.school_year_id
            )
            .select_related("school_year")
            .order_by("number")
        )
        if school_class is not None
        else []
    )
    if term_id is None:
        term = last_started(terms)
    else:
        term = next((t for t in terms if t.pk == term_id), None)
        if term is None:
            raise Http404
    matrix = Matrix(classes=classes, terms=terms, school_class=school_class, term=term, sort=sort)
    if school_class is not None:
        rows = class_rows(request.acting, school_class, term)
        rows.sort(key=_sort_key(sort))
        matrix.rows = rows
    return matrix


# --- Views -------------------------------------------------------------------------------


def _page(request: ActingRequest, found: Matrix, form: RemindForm, status: int = 200):
    return render(
        request,
        "portal/homeroom/matrix.html",
        {
            "matrix": found,
            "columns": COLUMNS,
            "sort": found.sort,
            "rows": found.rows,
            "totals": found.totals,
            "remind_form": form,
            "ticked": set(form.ticked) if form.is_bound else set(),
        },
        status=status,
    )


@acting_required(HOMEROOM)
def matrix(request: ActingRequest) -> HttpResponse:
    return _page(request, _matrix(request), RemindForm())


@require_POST
@acting_required(HOMEROOM)
def remind(request: ActingRequest) -> HttpResponse:
    """Remind the ticked students of the class shown (at most once a day each of a kind)."""
    found = _matrix(request)
    form = RemindForm(request.POST, students={row.student.pk: row.student for row in found.rows})
    if not form.is_valid():
        return _page(request, found, form, status=400)
    students = form.cleaned_data["students"]
    reminded, already = notices.homeroom_remind(
        acting=request.acting,
        students=students,
        what=form.cleaned_data["what"],
        message=form.cleaned_data["message"],
    )
    if reminded:
        messages.success(
            request,
            ngettext("%(n)d student reminded.", "%(n)d students reminded.", reminded)
            % {"n": reminded},
        )
    if already:
        messages.info(
            request,
            ngettext(
                "%(n)d student already had this reminder today; not sent again.",
                "%(n)d students already had this reminder today; not sent again.",
                already,
            )
            % {"n": already},
        )
    if no_account := sum(1 for student in students if student.user_id is None):
        messages.warning(
            request,
            ngettext(
                "%(n)d student has no account to be reminded through.",
                "%(n)d students have no account to be reminded through.",
                no_account,
            )
            % {"n": no_account},
        )
    return redirect(f"{reverse('homeroom:matrix')}?{found.query}")


@acting_required(HOMEROOM)
def export(request: ActingRequest) -> HttpResponse:
    """The matrix as shown (the same class, term and order) as an xlsx, a total row last."""
    found = _matrix(request)
    school_class, term = found.school_class, found.term
    if school_class is None:
        raise Http404  # no class this year: nothing to export
    totals = found.totals
    total_row = {
        "seat": _("Total"),
        "name": ngettext("%(n)d student", "%(n)d students", len(found.rows))
        % {"n": len(found.rows)},
        "selection": ngettext("%(n)d confirmed", "%(n)d confirmed", totals["confirmed"])
        % {"n": totals["confirmed"]},
    }
    rows: list[list[Any]] = [[row.cell(c.key) for c in COLUMNS] for row in found.rows]
    rows.append([total_row.get(c.key, totals.get(c.key)) for c in COLUMNS])
    label = f"{school_class.name} {term.label}" if term is not None else school_class.name
    stamp = f"{timezone.localdate():%Y%m%d}"
    return xlsx_response(
        filename=f"{request.acting.school.code}-class-{label.replace(' ', '-')}-{stamp}.xlsx",
        sheet=label,
        headers=[str(column.label) for column in COLUMNS],
        rows=rows,
    )
