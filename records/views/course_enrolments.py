"""One course's page: its enrolled students and their grades, one record at a time.

The curriculum office (教學組) adds and removes students; the registry (註冊組) edits
grades and is the only office that may remove an enrolment once it has a grade. Both may
look. Objects come through ``get_<thing>_for`` helpers limited to the acting school, so
another school's course or enrolment is a 404.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F, Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib.numbers import parse_id
from portfolio.lib.text import search_text
from records.access import get_course_for, get_enrolment_for, students_visible_to
from records.forms.course_enrolments import EnrolmentAddForm, GradeForm
from records.models import Course, CourseEnrolment, SchoolClass
from records.services import course_enrolments as services

CURRICULUM = Role.CURRICULUM
REGISTRY = Role.REGISTRY
VIEWERS = (CURRICULUM, REGISTRY)
PER_PAGE = 50
SORTS = {
    "seat": ("student__school_class__name", "student__seat_number", "student__student_number"),
    "number": ("student__student_number",),
    "name": ("student__name", "student__student_number"),
    "score": (F("score").desc(nulls_last=True), "student__student_number"),
}
PASSED_FILTERS = {"yes", "no", "unknown", "ungraded"}


def _filters(request: ActingRequest) -> dict[str, Any]:
    passed = request.GET.get("passed", "")
    sort = request.GET.get("sort", "seat")
    return {
        "q": search_text(request.GET.get("q"), max_length=50),
        "school_class": parse_id(request.GET.get("class")),
        "passed": passed if passed in PASSED_FILTERS else "",
        "sort": sort if sort in SORTS else "seat",
    }


def _enrolments(
    request: ActingRequest, course: Course, filters: dict[str, Any]
) -> QuerySet[CourseEnrolment]:
    """The course's students that the acting office may see, as filtered."""
    rows = CourseEnrolment.objects.filter(
        course=course,
        school_id=course.school_id,
        student__in=students_visible_to(request.acting),
    )
    if filters["q"]:
        rows = rows.filter(
            Q(student__student_number__icontains=filters["q"])
            | Q(student__name__icontains=filters["q"])
        )
    if filters["school_class"]:
        rows = rows.filter(student__school_class_id=filters["school_class"])
    if filters["passed"] == "yes":
        rows = rows.filter(passed=True)
    elif filters["passed"] == "no":
        rows = rows.filter(passed=False)
    elif filters["passed"] == "unknown":
        rows = rows.filter(passed__isnull=True)
    elif filters["passed"] == "ungraded":
        rows = rows.exclude(pk__in=services.graded(rows).values("pk"))
    return rows.select_related("student__school_class").order_by(*SORTS[filters["sort"]])


def _classes(course: Course) -> list[SchoolClass]:
    """The classes of the course's students, for the filter."""
    return list(
        SchoolClass.objects.filter(
            pk__in=CourseEnrolment.objects.filter(course=course).values("student__school_class")
        ).order_by("name")
    )


def _detail(
    request: ActingRequest, course: Course, *, add_form: EnrolmentAddForm | None = None
) -> HttpResponse:
    role = request.acting.role
    filters = _filters(request)
    page = Paginator(_enrolments(request, course, filters), PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = [(enrolment, services.has_grade(enrolment)) for enrolment in page.object_list]
    can_add = role == CURRICULUM
    return render(
        request,
        "records/course_enrolments/detail.html",
        {
            "course": course,
            "filters": filters,
            "classes": _classes(course),
            "page": page,
            "rows": rows,
            "can_add": can_add,
            "add_form": (add_form or EnrolmentAddForm()) if can_add else None,
            "can_grade": role == REGISTRY,
            "can_remove_graded": role == REGISTRY,
        },
    )


@acting_required(*VIEWERS)
def course_detail(request: ActingRequest, pk: int) -> HttpResponse:
    return _detail(request, get_course_for(request.acting, pk))


@acting_required(*VIEWERS)
def course_export(request: ActingRequest, pk: int) -> HttpResponse:
    course = get_course_for(request.acting, pk)
    flag = {True: _("Yes"), False: _("No"), None: ""}
    return xlsx_response(
        filename=f"{course.school.code}_{course.term.label}_{course.code}"
        f"{'_' + course.section if course.section else ''}_students.xlsx",
        sheet=_("Students"),
        headers=[
            _("Student number"),
            _("Class"),
            _("Seat"),
            _("Name"),
            _("Term score"),
            _("Passed"),
            _("Make-up score"),
            _("Make-up passed"),
            _("Credit counted (code)"),
            _("Qualitative description"),
        ],
        rows=(
            [
                e.student.student_number,
                e.student.school_class.name if e.student.school_class else "",
                e.student.seat_number,
                e.student.name,
                e.score,
                flag[e.passed],
                e.makeup_score,
                flag[e.makeup_passed],
                e.counts_credit,
                e.description,
            ]
            for e in _enrolments(request, course, _filters(request)).iterator(chunk_size=500)
        ),
    )


@acting_required(CURRICULUM)
def enrolment_add(request: ActingRequest, pk: int) -> HttpResponse:
    course = get_course_for(request.acting, pk)
    if request.method != "POST":
        # The links of a page shown again with the form's errors (pages, sorting) lead
        # here: they belong to the course page.
        detail = reverse("enrolments:detail", args=[course.pk])
        query = request.GET.urlencode()
        return redirect(f"{detail}?{query}" if query else detail)
    form = EnrolmentAddForm(request.POST)
    if form.is_valid():
        try:
            enrolment = services.course_enrolment_add(
                course=course,
                student_number=form.cleaned_data["student_number"],
                by=request.acting,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("%(student)s added to the course.") % {"student": enrolment.student}
            )
            return redirect("enrolments:detail", pk=course.pk)
    return _detail(request, course, add_form=form)


@require_POST
@acting_required(*VIEWERS)
def enrolment_remove(request: ActingRequest, pk: int, enrolment_pk: int) -> HttpResponse:
    course = get_course_for(request.acting, pk)
    enrolment = get_enrolment_for(request.acting, course, enrolment_pk)
    student = enrolment.student
    try:
        services.course_enrolment_remove(enrolment=enrolment, by=request.acting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("%(student)s removed from the course. Add them again with their student number.")
            % {"student": student},
        )
    return redirect("enrolments:detail", pk=course.pk)


@acting_required(REGISTRY)
def enrolment_grade(request: ActingRequest, pk: int, enrolment_pk: int) -> HttpResponse:
    course = get_course_for(request.acting, pk)
    enrolment = get_enrolment_for(request.acting, course, enrolment_pk)
    form = GradeForm(request.POST or None, initial=GradeForm.initial_for(enrolment))
    if request.method == "POST" and form.is_valid():
        try:
            services.course_enrolment_grade_update(
                enrolment=enrolment, by=request.acting, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Grade saved: %(student)s.") % {"student": enrolment.student}
            )
            return redirect("enrolments:detail", pk=course.pk)
    return render(
        request,
        "records/course_enrolments/grade.html",
        {"course": course, "enrolment": enrolment, "form": form},
    )
