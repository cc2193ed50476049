"""The registry (註冊組): enrolment changes and each student's enrolment history."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.lib import roc
from records.access import (
    classes_visible_to,
    get_enrolment_change_for,
    get_student_for,
    students_visible_to,
)
from records.forms import registry as forms
from records.models import EnrolmentChange, Student
from records.services import staff as services
from records.views.lists import (
    listing,
    picked_student,
    student_cells,
    student_headers,
    submit,
    xlsx,
)

REGISTRY = Role.REGISTRY


@acting_required(REGISTRY)
def change_list(request: ActingRequest) -> HttpResponse:
    filters = forms.EnrolmentChangeFilterForm(
        request.GET, classes=classes_visible_to(request.acting)
    )
    rows = filters.apply(
        EnrolmentChange.objects.filter(
            school=request.acting.school, student__in=students_visible_to(request.acting)
        ).select_related("student__school_class")
    )

    def export(rows: QuerySet) -> HttpResponse:
        return xlsx(
            request,
            name="enrolment-changes",
            sheet=_("Enrolment changes"),
            headers=[
                *student_headers(),
                _("Change"),
                _("Effective date"),
                _("Effective date (ROC)"),
                _("Note"),
            ],
            rows=(
                [
                    *student_cells(change.student),
                    change.get_kind_display(),
                    change.effective_on,
                    roc.to_roc_date(change.effective_on),
                    change.note,
                ]
                for change in rows.iterator(chunk_size=2000)
            ),
        )

    find_form = forms.StudentFindForm(students=Student.objects.none(), auto_id="find-%s")
    return listing(
        request,
        rows=rows,
        template="records/staff/change_list.html",
        context={"filters": filters, "find_form": find_form},
        export=export,
    )


@acting_required(REGISTRY)
def change_find(request: ActingRequest) -> HttpResponse:
    """Go to a student's enrolment history by student number or name."""
    form = forms.StudentFindForm(
        request.GET or None, students=students_visible_to(request.acting), auto_id="find-%s"
    )
    if form.is_bound and form.is_valid():
        return redirect("staffrecords:student_changes", pk=form.cleaned_data["student"].pk)
    return render(request, "records/staff/change_find.html", {"form": form})


def _history(student: Student) -> list[tuple[EnrolmentChange, str]]:
    """The student's changes in order, each with the status it leaves."""
    changes = list(student.changes.order_by("effective_on", "id"))
    return [(change, services.STATUS_AFTER[change.kind]) for change in changes]


@acting_required(REGISTRY)
def student_changes(request: ActingRequest, pk: int) -> HttpResponse:
    """A student's enrolment history in order, and the form to record the next change."""
    student = get_student_for(request.acting, pk)
    school = request.acting.school
    form = forms.EnrolmentChangeForm(
        request.POST or None, initial={"effective_on": timezone.localdate()}
    )
    change = submit(
        request,
        form,
        lambda data: services.enrolment_change_create(
            school=school, student=student, by=request.acting, **data
        ),
    )
    if change is not None:
        messages.success(
            request,
            _("Recorded: %(change)s. Status now: %(status)s.")
            % {"change": change.get_kind_display(), "status": student.get_status_display()},
        )
        return redirect("staffrecords:student_changes", pk=student.pk)
    history = _history(student)
    status_labels = dict(services.S.choices)
    return render(
        request,
        "records/staff/student_changes.html",
        {
            "student": student,
            "history": [(c, status_labels[s]) for c, s in history],
            "form": form,
        },
    )


@acting_required(REGISTRY)
def change_add(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    form = forms.EnrolmentChangeAddForm(
        request.POST or None,
        students=students_visible_to(request.acting),
        initial={"student": picked_student(request), "effective_on": timezone.localdate()},
    )
    change = submit(
        request,
        form,
        lambda data: services.enrolment_change_create(school=school, by=request.acting, **data),
    )
    if change is not None:
        messages.success(
            request,
            _("Recorded: %(change)s. Status now: %(status)s.")
            % {
                "change": change.get_kind_display(),
                "status": change.student.get_status_display(),
            },
        )
        return redirect("staffrecords:student_changes", pk=change.student_id)
    return render(request, "records/staff/change_form.html", {"form": form, "record": None})


@acting_required(REGISTRY)
def change_edit(request: ActingRequest, pk: int) -> HttpResponse:
    record = get_enrolment_change_for(request.acting, pk)
    form = forms.EnrolmentChangeForm(
        request.POST or None,
        initial={"kind": record.kind, "effective_on": record.effective_on, "note": record.note},
    )
    saved = submit(
        request,
        form,
        lambda data: services.enrolment_change_update(change=record, by=request.acting, **data),
    )
    if saved is not None:
        messages.success(
            request,
            _("Change saved. Status now: %(status)s.")
            % {"status": saved.student.get_status_display()},
        )
        return redirect("staffrecords:student_changes", pk=record.student_id)
    return render(request, "records/staff/change_form.html", {"form": form, "record": record})


@require_POST
@acting_required(REGISTRY)
def change_delete(request: ActingRequest, pk: int) -> HttpResponse:
    record = get_enrolment_change_for(request.acting, pk)
    try:
        status = services.enrolment_change_delete(change=record, by=request.acting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("staffrecords:change_edit", pk=record.pk)
    messages.success(
        request,
        _("Change removed. Status now: %(status)s.") % {"status": dict(services.S.choices)[status]},
    )
    return redirect("staffrecords:student_changes", pk=record.student_id)
