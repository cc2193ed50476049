"""The school's schedule and policy: published to everyone, kept by the school administrator."""

import datetime as dt

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio import services
from portfolio.access import get_policy_for, get_term_for, get_window_for
from portfolio.forms import PolicyForm, SchoolYearForm, TermForm, WindowForm, apply_errors
from portfolio.lib import roc
from portfolio.lib.numbers import parse_id, parse_int
from portfolio.models import School, SchoolPolicy, SchoolYear, Term, Window

ADMIN = Role.SCHOOL_ADMIN


def public_schedule(request: HttpRequest, code: str) -> HttpResponse:
    """The school's published schedule: open to everyone, signed in or not."""
    school = get_object_or_404(School, code=code)
    years = list(SchoolYear.objects.filter(school=school).order_by("-roc_year"))
    current = roc.current_school_year()
    wanted = parse_int(request.GET.get("year"))
    year = next((y for y in years if y.roc_year == wanted), None)
    if year is None:
        year = next((y for y in years if y.roc_year == current), years[0] if years else None)
    return render(
        request,
        "portal/public_schedule.html",
        {
            "school": school,
            "years": years,
            "year": year,
            "terms": _terms_with_windows(year),
            "now": timezone.now(),
        },
    )


def _terms_with_windows(year: SchoolYear | None) -> list[tuple[Term, list[Window]]]:
    if year is None:
        return []
    terms = list(year.terms.order_by("number"))
    windows = Window.objects.filter(term__school_year=year).order_by("starts_at", "kind", "grade")
    by_term: dict[int, list[Window]] = {t.pk: [] for t in terms}
    for window in windows:
        by_term[window.term_id].append(window)
    return [(term, by_term[term.pk]) for term in terms]


@acting_required(ADMIN)
def schedule(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    years = list(SchoolYear.objects.filter(school=school).order_by("-roc_year"))
    wanted = request.GET.get("year", "")
    current = roc.current_school_year()
    year = next((y for y in years if str(y.roc_year) == wanted), None) or next(
        (y for y in years if y.roc_year == current), years[0] if years else None
    )
    return render(
        request,
        "portal/schedule.html",
        {"years": years, "year": year, "terms": _terms_with_windows(year), "now": timezone.now()},
    )


@acting_required(ADMIN)
def year_add(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    if request.method == "POST":
        form = SchoolYearForm(request.POST)
        if form.is_valid():
            try:
                year = services.school_year_create(
                    school=school,
                    roc_year=form.cleaned_data["roc_year"],
                    terms=form.terms(),
                    by=request.acting,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request, _("School year %(year)s added.") % {"year": year.roc_year}
                )
                return redirect(f"{_schedule_url()}?year={year.roc_year}")
    else:
        form = SchoolYearForm(initial=_suggested_year(school))
    return render(request, "portal/year_form.html", {"form": form})


def _schedule_url() -> str:
    return reverse("portal:schedule")


def _suggested_year(school: School) -> dict:
    latest = SchoolYear.objects.filter(school=school).order_by("-roc_year").first()
    roc_year = latest.roc_year + 1 if latest else roc.current_school_year()
    first, _last = roc.school_year_bounds(roc_year)
    year = first.year
    return {
        "roc_year": roc_year,
        "term1_starts_on": dt.date(year, 8, 30),
        "term1_closing_day": dt.date(year + 1, 1, 20),
        "term1_ends_on": dt.date(year + 1, 1, 31),
        "term2_starts_on": dt.date(year + 1, 2, 11),
        "term2_closing_day": dt.date(year + 1, 6, 30),
        "term2_ends_on": dt.date(year + 1, 7, 31),
    }


@acting_required(ADMIN)
def term_edit(request: ActingRequest, pk: int) -> HttpResponse:
    term = get_term_for(request.acting, pk)
    form = TermForm(
        request.POST or None,
        initial={
            "starts_on": term.starts_on,
            "closing_day": term.closing_day,
            "ends_on": term.ends_on,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.term_update(term=term, by=request.acting, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Term dates saved."))
            return redirect(f"{_schedule_url()}?year={term.school_year.roc_year}")
    return render(request, "portal/term_form.html", {"form": form, "term": term})


@acting_required(ADMIN)
def window_add(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    initial = {}
    if term_pk := parse_id(request.GET.get("term")):
        initial["term"] = term_pk
    form = WindowForm(request.POST or None, school=school, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        term = data.pop("term")
        try:
            window = services.window_create(term=term, by=request.acting, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Window added: %(window)s.") % {"window": window})
            return redirect(f"{_schedule_url()}?year={term.school_year.roc_year}")
    return render(request, "portal/window_form.html", {"form": form, "window": None})


@acting_required(ADMIN)
def window_edit(request: ActingRequest, pk: int) -> HttpResponse:
    window = get_window_for(request.acting, pk)
    initial = {
        "term": window.term,
        "kind": window.kind,
        "grade": window.grade,
        "starts_at": timezone.localtime(window.starts_at),
        "ends_at": timezone.localtime(window.ends_at),
        "self_check_on": window.self_check_on,
        "note": window.note,
        "batch": window.batch,
    }
    form = WindowForm(request.POST or None, school=request.acting.school, initial=initial)
    form.fields["term"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("term")
        try:
            services.window_update(window=window, by=request.acting, **data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Window saved: %(window)s.") % {"window": window})
            return redirect(f"{_schedule_url()}?year={window.term.school_year.roc_year}")
    return render(request, "portal/window_form.html", {"form": form, "window": window})


@require_POST
@acting_required(ADMIN)
def window_delete(request: ActingRequest, pk: int) -> HttpResponse:
    window = get_window_for(request.acting, pk)
    roc_year = window.term.school_year.roc_year
    label = str(window)
    services.window_delete(window=window, by=request.acting)
    messages.success(request, _("Window removed: %(window)s.") % {"window": label})
    return redirect(f"{_schedule_url()}?year={roc_year}")


@acting_required(ADMIN)
def policy_edit(request: ActingRequest, roc_year: int) -> HttpResponse:
    policy = get_policy_for(request.acting, roc_year)
    form = PolicyForm(request.POST or None, instance=SchoolPolicy.objects.get(pk=policy.pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.policy_update(policy=policy, data=form.cleaned_data, by=request.acting)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Policy for school year %(year)s saved.") % {"year": roc_year}
            )
            return redirect(f"{_schedule_url()}?year={roc_year}")
    return render(request, "portal/policy_form.html", {"form": form, "policy": policy})
