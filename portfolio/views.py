import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.decorators import acting_required
from accounts.models import Role
from portfolio import dashboard, services
from portfolio.forms import PolicyForm, SchoolYearForm, TermForm, WindowForm, apply_errors
from portfolio.jobs import RESULT_TEMPLATES
from portfolio.lib import roc
from portfolio.lib.numbers import parse_id, parse_int
from portfolio.models import AuditLog, Job, School, SchoolPolicy, SchoolYear, Term, Window
from records.models import Student

ADMIN = Role.SCHOOL_ADMIN


@acting_required()
def home(request: HttpRequest) -> HttpResponse:
    context = request.acting
    now = timezone.now()
    year = (
        SchoolYear.objects.filter(
            school=context.school, roc_year=roc.school_year_of(timezone.localdate(now))
        )
        .select_related("policy")
        .first()
    )
    grade = student = None
    if context.role == Role.STUDENT:
        student = (
            Student.objects.select_related("school_class")
            .filter(user=context.user, school=context.school)
            .first()
        )
        if student is not None and student.school_class_id:
            grade = student.school_class.grade
    return render(
        request,
        "portfolio/home.html",
        {
            "year": year,
            "phase": dashboard.phase_for(context, now=now, grade=grade),
            "counters": dashboard.counters_for(context, year=year, student=student),
            "code_check": dashboard.course_code_check_for(context),
        },
    )


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the database, the cache and the task broker, as JSON."""
    checks = {"database": _check_database(), "cache": _check_cache(), "broker": _check_broker()}
    healthy = all(item["ok"] for item in checks.values())
    return JsonResponse({"ok": healthy, "checks": checks}, status=200 if healthy else 503)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        return {"ok": False, "error": exc.__class__.__name__}


def _check_cache() -> dict:
    try:
        cache.set("healthz", "1", 10)
        return {
            "ok": cache.get("healthz") == "1",
            "backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1],
        }
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}


def _check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager"}
    from portfolio.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"ok": True, "mode": "broker"}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "mode": "broker", "error": exc.__class__.__name__}


def public_schedule(request: HttpRequest, code: str) -> HttpResponse:
    """The school's published schedule: open to everyone, signed in or not."""
    school = get_object_or_404(School, code=code)
    years = list(SchoolYear.objects.filter(school=school).order_by("-roc_year"))
    current = roc.school_year_of(timezone.localdate())
    wanted = parse_int(request.GET.get("year"))
    year = next((y for y in years if y.roc_year == wanted), None)
    if year is None:
        year = next((y for y in years if y.roc_year == current), years[0] if years else None)
    return render(
        request,
        "portfolio/public_schedule.html",
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
def schedule(request: HttpRequest) -> HttpResponse:
    school = request.acting.school
    years = list(SchoolYear.objects.filter(school=school).order_by("-roc_year"))
    wanted = request.GET.get("year", "")
    current = roc.school_year_of(timezone.localdate())
    year = next((y for y in years if str(y.roc_year) == wanted), None) or next(
        (y for y in years if y.roc_year == current), years[0] if years else None
    )
    return render(
        request,
        "portfolio/schedule.html",
        {"years": years, "year": year, "terms": _terms_with_windows(year), "now": timezone.now()},
    )


@acting_required(ADMIN)
def year_add(request: HttpRequest) -> HttpResponse:
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
    return render(request, "portfolio/year_form.html", {"form": form})


def _schedule_url() -> str:
    return reverse("portfolio:schedule")


def _suggested_year(school: School) -> dict:
    latest = SchoolYear.objects.filter(school=school).order_by("-roc_year").first()
    roc_year = latest.roc_year + 1 if latest else roc.school_year_of(timezone.localdate())
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


def get_term_for(request: HttpRequest, pk: int) -> Term:
    return get_object_or_404(
        Term.objects.select_related("school_year"), pk=pk, school=request.acting.school
    )


def get_window_for(request: HttpRequest, pk: int) -> Window:
    return get_object_or_404(
        Window.objects.select_related("term__school_year"), pk=pk, school=request.acting.school
    )


@acting_required(ADMIN)
def term_edit(request: HttpRequest, pk: int) -> HttpResponse:
    term = get_term_for(request, pk)
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
    return render(request, "portfolio/term_form.html", {"form": form, "term": term})


@acting_required(ADMIN)
def window_add(request: HttpRequest) -> HttpResponse:
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
    return render(request, "portfolio/window_form.html", {"form": form, "window": None})


@acting_required(ADMIN)
def window_edit(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_window_for(request, pk)
    initial = {
        "term": window.term,
        "kind": window.kind,
        "grade": window.grade,
        "starts_at": timezone.localtime(window.starts_at),
        "ends_at": timezone.localtime(window.ends_at),
        "self_check_on": window.self_check_on,
        "note": window.note,
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
    return render(request, "portfolio/window_form.html", {"form": form, "window": window})


@require_POST
@acting_required(ADMIN)
def window_delete(request: HttpRequest, pk: int) -> HttpResponse:
    window = get_window_for(request, pk)
    roc_year = window.term.school_year.roc_year
    label = str(window)
    services.window_delete(window=window, by=request.acting)
    messages.success(request, _("Window removed: %(window)s.") % {"window": label})
    return redirect(f"{_schedule_url()}?year={roc_year}")


@acting_required(ADMIN)
def policy_edit(request: HttpRequest, roc_year: int) -> HttpResponse:
    policy = get_object_or_404(
        SchoolPolicy.objects.select_related("school_year"),
        school=request.acting.school,
        school_year__roc_year=roc_year,
    )
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
    return render(request, "portfolio/policy_form.html", {"form": form, "policy": policy})


@acting_required(ADMIN)
def audit_list(request: HttpRequest) -> HttpResponse:
    entries = AuditLog.objects.filter(school=request.acting.school).select_related(
        "actor", "on_behalf_of"
    )
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "portfolio/audit_list.html", {"page": page})


def bare(request: HttpRequest) -> HttpResponse:
    """Mounted only for benchmarks: the ceiling of the stack, a view that does nothing."""
    return HttpResponse(b"ok", content_type="text/plain")


def get_job_for(request: HttpRequest, pk: int) -> Job:
    """A job of the acting school started by this user; 404 for anyone else."""
    return get_object_or_404(Job, pk=pk, school=request.acting.school, created_by=request.user)


@acting_required()
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for(request, pk)
    return render(
        request,
        "portfolio/job_detail.html",
        {"job": job, "result_template": RESULT_TEMPLATES.get(job.kind, "")},
    )


@never_cache
@acting_required()
def job_status(request: HttpRequest, pk: int) -> JsonResponse:
    job = get_job_for(request, pk)
    return JsonResponse(
        {"status": job.status, "progress": job.progress, "finished": job.is_finished}
    )
