"""The student's basic-data page and correction requests; the offices' correction queue;
a student's record for staff, with the registry's edit and national-ID reveal."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib.text import search_text
from records import sections as record_sections
from records.access import (
    corrections_visible_to,
    get_correction_for,
    get_own_student,
    get_student_for,
    students_visible_to,
)
from records.forms.student import (
    CorrectionForwardForm,
    CorrectionRequestForm,
    CorrectionResolveForm,
    StudentBasicDataForm,
)
from records.models import CorrectionRequest, CorrectionStatus, Student
from records.selectors import basic_data_for
from records.services import corrections as correction_services
from records.services import student_records
from records.services.corrections import TOPIC_BY_KEY
from records.services.student_records import STUDENT_DETAIL_ROLES

STUDENT = Role.STUDENT
REGISTRY = Role.REGISTRY
OFFICES = correction_services.OFFICE_VALUES
SORTS = {
    "oldest": ("created_at", "id"),
    "newest": ("-created_at", "-id"),
    "class": ("student__school_class__name", "student__seat_number", "created_at", "id"),
}


# --- The student ----------------------------------------------------------------------


@acting_required(STUDENT)
def mine(request: ActingRequest) -> HttpResponse:
    student = get_own_student(request.acting)
    context: dict[str, Any] = {"student": student, "for_student": True}
    if student is not None:
        context["data"] = basic_data_for(student)
        context["window"] = correction_services.window_for_student(student)
    return render(request, "records/student/basic_data.html", context)


@acting_required(STUDENT)
def correction_add(request: ActingRequest) -> HttpResponse:
    student = get_own_student(request.acting)
    if student is None:
        return render(request, "records/student/correction_form.html", {"student": None})
    about = request.GET.get("about", "")
    form = CorrectionRequestForm(
        request.POST or None, initial={"about": about} if about in TOPIC_BY_KEY else {}
    )
    # The server decides, whatever the page showed when it was loaded.
    if request.method == "POST" and form.is_valid():
        try:
            correction_services.correction_request_create(
                student=student, by=request.acting, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Your request was sent. The office's reply will appear here.")
            )
            return redirect(f"{reverse('basicdata:mine')}#corrections")
    return render(
        request,
        "records/student/correction_form.html",
        {
            "student": student,
            "form": form,
            "window": correction_services.window_for_student(student),
        },
    )


# --- The offices' queue ---------------------------------------------------------------


def _queue(request: ActingRequest) -> tuple[QuerySet[CorrectionRequest], dict]:
    """The acting office's requests as filtered, sorted and tabbed by the query string."""
    context = request.acting
    tab = "resolved" if request.GET.get("tab") == "resolved" else "open"
    default_sort = "oldest" if tab == "open" else "newest"
    sort = request.GET.get("sort", default_sort)
    if sort not in SORTS:
        sort = default_sort
    query = search_text(request.GET.get("q"))
    requests = corrections_visible_to(context)
    if query:
        requests = requests.filter(
            Q(student__student_number__icontains=query)
            | Q(student__name__icontains=query)
            | Q(student__school_class__name=query)
            | Q(topic__icontains=query)
        )
    status = CorrectionStatus.RESOLVED if tab == "resolved" else CorrectionStatus.OPEN
    rows = (
        requests.filter(status=status)
        .select_related("student__school_class", "resolved_by")
        .order_by(*SORTS[sort])
    )
    return rows, {"tab": tab, "sort": sort, "q": query, "requests": requests}


@acting_required(*OFFICES)
def corrections(request: ActingRequest) -> HttpResponse:
    rows, state = _queue(request)
    everything = state.pop("requests")
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    counts = {
        "open": everything.filter(status=CorrectionStatus.OPEN).count(),
        "resolved": everything.filter(status=CorrectionStatus.RESOLVED).count(),
    }
    return render(
        request,
        "records/student/corrections.html",
        {
            **state,
            "page": page,
            "counts": counts,
            "sorts": [
                ("oldest", _("Oldest first")),
                ("newest", _("Newest first")),
                ("class", _("By class and seat")),
            ],
        },
    )


@acting_required(*OFFICES)
def corrections_export(request: ActingRequest) -> HttpResponse:
    rows, state = _queue(request)
    headers = [
        _("Filed"),
        _("Student number"),
        _("Name"),
        _("Class"),
        _("Seat number"),
        _("Office"),
        _("What is wrong"),
        _("Details"),
        _("Status"),
        _("Reply"),
        _("Resolved by"),
        _("Resolved"),
    ]
    return xlsx_response(
        filename=f"corrections-{state['tab']}-{timezone.localdate():%Y%m%d}.xlsx",
        sheet=_("Correction requests"),
        headers=headers,
        rows=(
            [
                r.created_at,
                r.student.student_number,
                r.student.name,
                r.student.school_class.name if r.student.school_class else "",
                r.student.seat_number,
                r.get_office_display(),
                r.topic,
                r.message,
                r.get_status_display(),
                r.reply,
                str(r.resolved_by) if r.resolved_by else "",
                r.resolved_at,
            ]
            for r in rows.iterator(chunk_size=2000)
        ),
    )


@acting_required(*OFFICES)
def correction_detail(request: ActingRequest, pk: int) -> HttpResponse:
    correction = get_correction_for(request.acting, pk)
    resolve_form = CorrectionResolveForm()
    forward_form = CorrectionForwardForm(current=correction.office)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "resolve":
                resolve_form = CorrectionResolveForm(request.POST)
                if resolve_form.is_valid():
                    correction_services.correction_resolve(
                        correction=correction, by=request.acting, **resolve_form.cleaned_data
                    )
                    messages.success(request, _("Resolved. The student can read your reply."))
                    return redirect("basicdata:corrections")
            elif action == "forward":
                forward_form = CorrectionForwardForm(request.POST, current=correction.office)
                if forward_form.is_valid():
                    correction_services.correction_forward(
                        correction=correction, by=request.acting, **forward_form.cleaned_data
                    )
                    messages.success(
                        request,
                        _("Sent on to: %(office)s.") % {"office": correction.get_office_display()},
                    )
                    return redirect("basicdata:corrections")
            else:
                raise Http404
        except ValidationError as exc:
            if set(exc.message_dict) == {NON_FIELD_ERRORS}:
                # Resolved or sent on by someone else meanwhile: nothing to correct here.
                messages.error(request, " ".join(exc.messages))
                return redirect("basicdata:corrections")
            apply_errors(resolve_form if action == "resolve" else forward_form, exc)
    can_open_student = students_visible_to(request.acting).filter(pk=correction.student_id).exists()
    return render(
        request,
        "records/student/correction_detail.html",
        {
            "correction": correction,
            "resolve_form": resolve_form,
            "forward_form": forward_form,
            "can_open_student": can_open_student,
            "may_edit_student": can_open_student
            and student_records.may_edit_basic_data(request.acting),
        },
    )


# --- A student's record for staff -----------------------------------------------------


def _render_student(
    request: ActingRequest, student: Student, *, revealed: str = ""
) -> HttpResponse:
    data = basic_data_for(student)
    sections, section_context = record_sections.sections_for(request.acting, student)
    return render(
        request,
        "records/student/student_detail.html",
        {
            "student": student,
            "data": data,
            "for_student": False,
            "may_unmask": student_records.may_unmask(request.acting),
            "may_edit": student_records.may_edit_basic_data(request.acting),
            "answerable": student_records.answerable_corrections(request.acting, data),
            "revealed_national_id": revealed,
            "sections": sections,
            **section_context,
        },
    )


@acting_required(*STUDENT_DETAIL_ROLES)
def student_detail(request: ActingRequest, pk: int) -> HttpResponse:
    return _render_student(request, get_student_for(request.acting, pk))


@never_cache
@require_POST
@acting_required(REGISTRY)
def national_id_reveal(request: ActingRequest, pk: int) -> HttpResponse:
    """The record with the national ID in full, in this response only (never stored in
    the session or the URL); every reveal writes ``national_id.view`` to the audit."""
    student = get_student_for(request.acting, pk)
    revealed = student_records.national_id_view(student=student, by=request.acting)
    response = _render_student(request, student, revealed=revealed or "")
    response["Referrer-Policy"] = "no-referrer"
    return response


@acting_required(REGISTRY)
def student_edit(request: ActingRequest, pk: int) -> HttpResponse:
    student = get_student_for(request.acting, pk)
    form = StudentBasicDataForm(
        request.POST or None,
        school=request.acting.school,
        division=request.acting.division,
        student=student,
        initial=StudentBasicDataForm.initial_for(student),
    )
    if request.method == "POST" and form.is_valid():
        try:
            student_records.student_update(student=student, by=request.acting, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Basic data saved."))
            return redirect("basicdata:student", pk=student.pk)
    return render(request, "records/student/student_edit.html", {"student": student, "form": form})
