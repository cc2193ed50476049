"""The registry's extensions: one student's upload window opened late, listed, ended early."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.forms import apply_errors
from portfolio.lib.numbers import parse_id
from portfolio.models import Term
from records.access import students_visible_to
from records.models import Student
from submissions.access import extensions_visible_to, get_extension_for
from submissions.forms.extensions import ExtensionFilterForm, ExtensionForm
from submissions.models import WindowExtension
from submissions.services import extensions as extension_services

REGISTRY = Role.REGISTRY
PAGE_SIZE = 50


def _visible_students(request: ActingRequest):
    return students_visible_to(request.acting).select_related("school_class")


@acting_required(REGISTRY)
def extension_list(request: ActingRequest) -> HttpResponse:
    now = timezone.now()
    filters = ExtensionFilterForm(request.GET)
    rows = filters.apply(extensions_visible_to(request.acting), now)
    rows = extension_services.in_force_first(
        rows.select_related("student__school_class", "term__school_year", "granted_by"), now
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "submissions/extensions/list.html",
        {"page": page, "filters": filters, "now": now},
    )


def _initial(request: ActingRequest) -> tuple[dict, Student | None]:
    """The form's starting values: the current term, and the student of a ?student= link."""
    initial: dict = {"term": Term.objects.current_for(request.acting.school)}
    student = None
    if wanted := request.GET.get("student"):
        if (pk := parse_id(wanted)) is None:
            raise Http404
        student = get_object_or_404(_visible_students(request), pk=pk)
        initial["student_number"] = student.student_number
    return initial, student


def _grant(request: ActingRequest, form: ExtensionForm) -> WindowExtension | None:
    data = form.cleaned_data
    try:
        return extension_services.extension_grant(
            student=data["student"],
            term=data["term"],
            kind=data["kind"],
            ends_at=data["ends_at"],
            reason=data["reason"],
            by=request.acting,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "student" in exc.error_dict:
            exc.error_dict["student_number"] = exc.error_dict.pop("student")
        apply_errors(form, exc)
        return None


@acting_required(REGISTRY)
def extension_add(request: ActingRequest) -> HttpResponse:
    initial, student = _initial(request)
    form = ExtensionForm(
        request.POST or None,
        initial=initial,
        school=request.acting.school,
        students=_visible_students(request),
    )
    if request.method == "POST" and form.is_valid():
        extension = _grant(request, form)
        if extension is not None:
            messages.success(
                request,
                _("%(student)s may upload until %(until)s (%(kind)s, %(term)s).")
                % {
                    "student": extension.student,
                    "until": date_format(timezone.localtime(extension.ends_at), "Y-m-d H:i"),
                    "kind": extension.get_kind_display(),
                    "term": extension.term,
                },
            )
            return redirect("extensions:list")
    if student is None and form.is_bound:
        student = form.cleaned_data.get("student")
    return render(request, "submissions/extensions/form.html", {"form": form, "student": student})


@require_POST
@acting_required(REGISTRY)
def extension_end(request: ActingRequest, pk: int) -> HttpResponse:
    extension = get_extension_for(request.acting, pk)
    try:
        extension_services.extension_end(extension=extension, by=request.acting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("The extension of %(student)s is ended: the window is closed for them again.")
            % {"student": extension.student},
        )
    return redirect("extensions:list")
