from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib import roc
from records.access import classes_visible_to, get_class_for
from records.forms.classes import ClassStaffForm
from records.services.classes import school_class_staff_update

OFFICES = (Role.REGISTRY, Role.CURRICULUM)


@acting_required(*OFFICES)
def class_list(request: ActingRequest) -> HttpResponse:
    roc_year = roc.current_school_year()
    classes = (
        classes_visible_to(request.acting)
        .select_related("homeroom_teacher")
        .prefetch_related("consultants")
        .annotate(n_students=Count("students"))
        .order_by("division", "grade", "name")
    )
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename=f"classes-{roc_year}.xlsx",
            sheet=_("Classes"),
            headers=[_("Class"), _("Grade"), _("Division"), _("Students"),
                     _("Homeroom teacher"), _("Course consultants")],
            rows=(
                [c.name, c.grade, c.get_division_display(), c.n_students,
                 c.homeroom_teacher or "", "、".join(str(u) for u in c.consultants.all())]
                for c in classes
            ),
        )  # fmt: skip
    return render(request, "records/classes/list.html", {"classes": classes, "roc_year": roc_year})


@acting_required(*OFFICES)
def class_edit(request: ActingRequest, pk: int) -> HttpResponse:
    school_class = get_class_for(request.acting, pk)
    initial = {
        "homeroom_teacher": school_class.homeroom_teacher,
        "consultants": list(school_class.consultants.all()),
    }
    form = ClassStaffForm(request.POST or None, school=request.acting.school, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            school_class_staff_update(
                school_class=school_class, by=request.acting, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Class %(name)s saved.") % {"name": school_class.name})
            return redirect("classes:list")
    return render(
        request, "records/classes/edit.html", {"form": form, "school_class": school_class}
    )
