"""The student's selection for the central database (勾選), its preview and the parents' sheet.

Every page acts on the signed-in student's own selection of one school year (by its ROC
number); a year without a selection window or saved selection is a 404. The page is a plain
form (the counters are checked on the server; the page's script only keeps them live).
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.forms import apply_errors
from records.access import get_own_student
from submissions.access import get_own_selection_year_for
from submissions.forms.selection import SelectionForm
from submissions.services import selection as selection_services
from submissions.services.selection import OUTCOMES, PERFORMANCES

STUDENT = Role.STUDENT
NOT_LINKED = "submissions/outcomes/not_linked.html"
PREVIEW = "submissions/selection/preview.html"


@acting_required(STUDENT)
def index(request: ActingRequest) -> HttpResponse:
    """The year whose selection is open for the student; else the list of years."""
    student = get_own_student(request.acting)
    if student is None:
        return render(request, NOT_LINKED, {"title": _("Select for the central database")})
    now = timezone.now()
    years = selection_services.years_to_select(student)
    states = [selection_services.selection_state(student, year, now, items=False) for year in years]
    open_now = [state for state in states if state.may_change]
    if len(open_now) == 1:
        return redirect("selection:select", open_now[0].school_year.roc_year)
    return render(request, "submissions/selection/index.html", {"states": states})


@acting_required(STUDENT)
def select(request: ActingRequest, roc_year: int) -> HttpResponse:
    student, school_year = get_own_selection_year_for(request.acting, roc_year)
    now = timezone.now()
    state = selection_services.selection_state(student, school_year, now)
    form = SelectionForm(request.POST or None, state=state)
    if request.method == "POST" and form.is_valid():
        try:
            selection_services.selection_save(
                student=student,
                school_year=school_year,
                outcome_ids=form.cleaned_data["outcomes"],
                performance_ids=form.cleaned_data["performances"],
                by=request.acting,
                now=now,
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, _("Your selection is saved. Check what will be sent, then confirm it.")
            )
            return redirect("selection:preview", roc_year)
    if request.method == "POST":
        # Show what was ticked, not what was saved before, next to the messages.
        for name, candidates in ((OUTCOMES, state.outcomes), (PERFORMANCES, state.performances)):
            ticked = set(request.POST.getlist(name))
            for candidate in candidates:
                candidate.selected = str(candidate.pk) in ticked
    return render(
        request,
        "submissions/selection/select.html",
        {"state": state, "form": form, "years": selection_services.years_to_select(student)},
        status=400 if form.errors else 200,
    )


def _with_sheets(
    request: ActingRequest, roc_year: int, template: str, errors: list[str] | None = None
) -> HttpResponse:
    """``template`` with the student's selection of the year and its roster rows."""
    student, school_year = get_own_selection_year_for(request.acting, roc_year)
    state = selection_services.selection_state(student, school_year, timezone.now())
    context = {"state": state, "sheets": selection_services.preview_sheets(state)}
    return render(request, template, {**context, "errors": errors}, status=400 if errors else 200)


@acting_required(STUDENT)
def preview(request: ActingRequest, roc_year: int) -> HttpResponse:
    return _with_sheets(request, roc_year, PREVIEW)


@require_POST
@acting_required(STUDENT)
def confirm(request: ActingRequest, roc_year: int) -> HttpResponse:
    student, school_year = get_own_selection_year_for(request.acting, roc_year)
    try:
        selection_services.selection_confirm(
            student=student, school_year=school_year, by=request.acting, now=timezone.now()
        )
    except ValidationError as error:
        return _with_sheets(request, roc_year, PREVIEW, errors=error.messages)
    messages.success(
        request,
        _(
            "Your selection is confirmed. You may still change it until the window closes; "
            "print the confirmation sheet for your parents."
        ),
    )
    return redirect(reverse("selection:preview", args=[roc_year]))


@acting_required(STUDENT)
def sheet(request: ActingRequest, roc_year: int) -> HttpResponse:
    """The parents' confirmation sheet (確認單) of the selection, to print."""
    return _with_sheets(request, roc_year, "submissions/selection/sheet.html")
