"""Diverse performances (多元表現) in the browser: the student's own items, and the items the
offices enter for students (school-held activities, results reported from outside).

Each view: the role check, the access helper (404 for "not found" and "not yours" alike),
the form, the service, a redirect. Views that receive files stop a too-large upload while
it arrives (``submissions.upload_handlers``): they are ``csrf_exempt`` outside, set the
limit, then check the token in a ``csrf_protect`` inner function.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib import roc
from portfolio.models import SchoolPolicy, SchoolYear
from records.access import get_own_student, students_visible_to
from records.imports import KINDS
from records.models import SchoolClass
from submissions import performance_categories as categories
from submissions.access import (
    get_own_performance_for,
    get_staff_performance_for,
    staff_performances_visible_to,
)
from submissions.forms.performances import (
    CategoryForm,
    PerformanceForm,
    StaffFilterForm,
    StaffPerformanceForm,
)
from submissions.models import Performance, PerformanceState
from submissions.services import performances as services
from submissions.services.windows import policy_for_year
from submissions.upload_handlers import (
    add_too_large_error,
    limit_upload_size,
    policy_upload_limit,
    upload_done,
)

STUDENT = Role.STUDENT
OFFICES = (Role.STUDENT_AFFAIRS, Role.REGISTRY, Role.COUNSELLOR, Role.CURRICULUM)
PAGE_SIZE = 50
PORTFOLIO = "outcomes:portfolio"


# --- Shared machinery ----------------------------------------------------------------------


def _save(request: ActingRequest, form: PerformanceForm, policy: SchoolPolicy, write) -> Any:
    """On a POST of a valid form, run the service; its refusals go next to the fields.
    None: show the form again (with what was typed and every problem)."""
    if request.method != "POST":
        return None
    valid = form.is_valid()  # keeps what was typed and lists its own errors too
    if add_too_large_error(request, form, policy, unknown_field="document") or not valid:
        _rule_errors(form, policy)
        return None
    try:
        return write(form)
    except ValidationError as exc:
        apply_errors(form, exc)
        return None


def _rule_errors(form: PerformanceForm, policy: SchoolPolicy) -> None:
    """The services' refusals of the fields that cleaned well, beside the form's own."""
    problems = services.performance_problems(
        category=form.category.code, policy=policy, **form.text_kwargs()
    )
    for field, messages_ in problems.items():
        if field in form.fields and field not in form.errors:
            form.add_error(field, messages_)


def _in_portfolio(performance: Performance) -> str:
    return f"{reverse(PORTFOLIO)}#performance-{performance.pk}"


def _category(request: ActingRequest) -> categories.Category | None:
    return categories.CATEGORIES.get(request.GET.get("category", ""))


# --- The student ---------------------------------------------------------------------------


@csrf_exempt
@acting_required(STUDENT)
def add(request: ActingRequest) -> HttpResponse:
    """Add a performance: the category first, then its form; only in the window, under
    the cap."""
    student = get_own_student(request.acting)
    status = services.performance_status(student) if student is not None else None
    if status is not None and request.method == "POST":
        limit_upload_size(request, max_bytes=policy_upload_limit(status.policy))
    return _add(request, student, status)


@csrf_protect
def _add(request: ActingRequest, student, status) -> HttpResponse:
    category = _category(request)
    context: dict[str, Any] = {"student": student, "status": status, "category": category}
    if student is None or not status.may_add:
        return render(request, "submissions/performances/add.html", context)
    if category is None:
        context["pick"] = CategoryForm(request.GET if "category" in request.GET else None)
        return render(request, "submissions/performances/add.html", context)
    form = PerformanceForm(
        request.POST or None, request.FILES or None, category=category, policy=status.policy
    )
    saved = _save(
        request,
        form,
        status.policy,
        lambda f: services.performance_add(
            student=student,
            category=category.code,
            save_as_draft="draft" in request.POST,
            school_year=status.school_year,
            by=request.acting,
            **f.service_kwargs(),
        ),
    )
    if saved is not None:
        if saved.state == PerformanceState.DRAFT:
            text = _("Saved as a draft: %(name)s. Send it when it is ready.")
        else:
            text = _("Saved: %(name)s.")
        messages.success(request, text % {"name": saved.name})
        return upload_done(request, _in_portfolio(saved))
    context["form"] = form
    return render(request, "submissions/performances/add.html", context)


@csrf_exempt
@acting_required(STUDENT)
def edit(request: ActingRequest, pk: int) -> HttpResponse:
    """Change an own item in the window; otherwise show it read-only, saying why."""
    performance = get_own_performance_for(request.acting, pk)
    policy = policy_for_year(performance.school, performance.school_year)
    if request.method == "POST":
        limit_upload_size(request, max_bytes=policy_upload_limit(policy))
    return _edit(request, performance, policy)


@csrf_protect
def _edit(request: ActingRequest, performance: Performance, policy: SchoolPolicy) -> HttpResponse:
    category = categories.get(performance.category)
    context: dict[str, Any] = {
        "performance": performance,
        "category": category,
        "details": categories.shown_details(performance.category, performance.details),
        "locked": services.student_may_change(performance),
    }
    if context["locked"]:
        return render(request, "submissions/performances/edit.html", context)
    form = PerformanceForm(
        request.POST or None,
        request.FILES or None,
        category=category,
        policy=policy,
        instance=performance,
    )
    saved = _save(
        request,
        form,
        policy,
        lambda f: services.performance_edit(
            performance=performance,
            send="draft" not in request.POST,
            by=request.acting,
            **f.service_kwargs(),
            **f.removals(),
        ),
    )
    if saved is not None:
        messages.success(request, _("Saved: %(name)s.") % {"name": saved.name})
        return upload_done(request, _in_portfolio(saved))
    context["form"] = form
    return render(request, "submissions/performances/edit.html", context)


@acting_required(STUDENT)
def withdraw(request: ActingRequest, pk: int) -> HttpResponse:
    """Ask, then withdraw an own item: it frees its place for another."""
    performance = get_own_performance_for(request.acting, pk)
    locked = services.student_may_change(performance)
    if request.method == "POST" and not locked:
        try:
            services.performance_withdraw(performance=performance, by=request.acting)
        except ValidationError as exc:
            locked = " ".join(exc.messages)
        else:
            messages.success(
                request, _("Withdrawn: %(name)s. Its place is free.") % {"name": performance.name}
            )
            return redirect(_in_portfolio(performance))
    return render(
        request,
        "submissions/performances/withdraw.html",
        {"performance": performance, "locked": locked},
    )


# --- The offices -------------------------------------------------------------------------


def _this_year(request: ActingRequest) -> SchoolYear | None:
    return services.current_school_year(request.acting.school)


def _staff_policy(request: ActingRequest, year: SchoolYear | None) -> SchoolPolicy:
    school = request.acting.school
    return policy_for_year(school, year) if year else SchoolPolicy(school=school)


def _filter_classes(request: ActingRequest) -> QuerySet[SchoolClass]:
    """This school year's classes of the office's division."""
    return SchoolClass.objects.filter(
        school=request.acting.school,
        school_year__roc_year=roc.current_school_year(),
        division=request.acting.division,
    ).order_by("grade", "name")


@acting_required(*OFFICES)
def staff_list(request: ActingRequest) -> HttpResponse:
    """The items the school entered: filter, sort, page, export as xlsx."""
    school = request.acting.school
    filters = StaffFilterForm(request.GET, school=school, classes=_filter_classes(request))
    rows = filters.apply(
        staff_performances_visible_to(request.acting).select_related(
            "student__school_class", "school_year", "entered_by", "document", "media"
        )
    )
    if request.GET.get("export") == "xlsx":
        return _staff_xlsx(request, rows)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for item in page.object_list:
        item.shown = categories.shown_details(item.category, item.details)
        # Only the office that entered an item changes it (get_staff_performance_for).
        item.may_change = item.entered_by_office in ("", request.acting.role)
    return render(
        request,
        "submissions/performances/staff_list.html",
        {
            "filters": filters,
            "page": page,
            "may_import": request.acting.role in KINDS["performances"].roles,
        },
    )


def _staff_xlsx(request: ActingRequest, rows: QuerySet[Performance]) -> HttpResponse:
    def cells(item: Performance) -> list[Any]:
        student = item.student
        return [
            student.student_number,
            student.name,
            student.school_class.name if student.school_class is not None else "",
            student.seat_number,
            item.school_year.roc_year,
            categories.get(item.category).number,
            item.get_category_display(),
            item.name,
            item.starts_on,
            item.ends_on,
            "; ".join(
                f"{label}: {value}"
                for label, value in categories.shown_details(item.category, item.details)
            ),
            item.description,
            item.video_url,
            item.document.display_name if item.document is not None else "",
            item.media.display_name if item.media is not None else "",
            item.get_source_display(),
            (item.entered_by.name or item.entered_by.username) if item.entered_by else "",
        ]

    name = f"{request.acting.school.code}-performances-{timezone.localdate():%Y%m%d}.xlsx"
    return xlsx_response(
        filename=name,
        sheet=_("Diverse performances"),
        headers=[
            _("Student number"),
            _("Name"),
            _("Class"),
            _("Seat"),
            _("School year"),
            _("Category no."),
            _("Category"),
            _("Title"),
            _("From"),
            _("Until"),
            _("Details"),
            _("Short description"),
            _("External video link"),
            _("Proof document"),
            _("Media file"),
            _("Comes from"),
            _("Entered by"),
        ],
        rows=(cells(item) for item in rows.iterator(chunk_size=2000)),
    )


@csrf_exempt
@acting_required(*OFFICES)
def staff_add(request: ActingRequest) -> HttpResponse:
    """Enter a performance for a student the office may see."""
    year = _this_year(request)
    policy = _staff_policy(request, year)
    if request.method == "POST":
        limit_upload_size(request, max_bytes=policy_upload_limit(policy))
    return _staff_add(request, year, policy)


@csrf_protect
def _staff_add(request: ActingRequest, year: SchoolYear | None, policy: SchoolPolicy):
    category = _category(request)
    context: dict[str, Any] = {"category": category}
    if category is None:
        context["pick"] = CategoryForm(request.GET if "category" in request.GET else None)
        return render(request, "submissions/performances/staff_form.html", context)
    form = StaffPerformanceForm(
        request.POST or None,
        request.FILES or None,
        category=category,
        policy=policy,
        students=students_visible_to(request.acting),
        years=SchoolYear.objects.filter(school=request.acting.school),
        initial={"school_year": year},
    )
    saved = _save(
        request,
        form,
        policy,
        lambda f: services.performance_enter(
            student=f.cleaned_data["student"],
            school_year=f.cleaned_data["school_year"],
            source=f.cleaned_data["source"],
            category=category.code,
            by=request.acting,
            **f.service_kwargs(),
        ),
    )
    if saved is not None:
        messages.success(
            request,
            _("Saved for %(student)s: %(name)s.") % {"student": saved.student, "name": saved.name},
        )
        if "another" in request.POST:
            query = urlencode({"category": category.code})
            return upload_done(request, f"{reverse('performances:staff_add')}?{query}")
        return upload_done(request, reverse("performances:staff_list"))
    context["form"] = form
    return render(request, "submissions/performances/staff_form.html", context)


@csrf_exempt
@acting_required(*OFFICES)
def staff_edit(request: ActingRequest, pk: int) -> HttpResponse:
    performance = get_staff_performance_for(request.acting, pk)
    policy = policy_for_year(performance.school, performance.school_year)
    if request.method == "POST":
        limit_upload_size(request, max_bytes=policy_upload_limit(policy))
    return _staff_edit(request, performance, policy)


@csrf_protect
def _staff_edit(request: ActingRequest, performance: Performance, policy: SchoolPolicy):
    category = categories.get(performance.category)
    form = StaffPerformanceForm(
        request.POST or None,
        request.FILES or None,
        category=category,
        policy=policy,
        instance=performance,
    )
    saved = _save(
        request,
        form,
        policy,
        lambda f: services.performance_staff_edit(
            performance=performance,
            source=f.cleaned_data["source"],
            by=request.acting,
            **f.service_kwargs(),
            **f.removals(),
        ),
    )
    if saved is not None:
        messages.success(request, _("Saved: %(name)s.") % {"name": saved.name})
        return upload_done(request, reverse("performances:staff_list"))
    return render(
        request,
        "submissions/performances/staff_form.html",
        {"category": category, "form": form, "performance": performance},
    )


@acting_required(*OFFICES)
def staff_delete(request: ActingRequest, pk: int) -> HttpResponse:
    """Ask, then remove an item the school entered, with its files."""
    performance = get_staff_performance_for(request.acting, pk)
    if request.method == "POST":
        name, student = performance.name, performance.student
        services.performance_staff_delete(performance=performance, by=request.acting)
        messages.success(
            request, _("Removed for %(student)s: %(name)s.") % {"student": student, "name": name}
        )
        return redirect("performances:staff_list")
    return render(
        request,
        "submissions/performances/staff_delete.html",
        {
            "performance": performance,
            "details": categories.shown_details(performance.category, performance.details),
        },
    )
