"""Each role's home page: the phase banner and the counters that role needs."""

import uuid

from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts import acting
from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portal import dashboard
from portfolio.calendar import calendar_of
from portfolio.lib import roc
from records.models import Student


def home(request: HttpRequest) -> HttpResponse:
    """The acting role's home; a platform operator (superuser) with no school of their own
    lands on the operator's pages instead of being asked to pick a role."""
    user = request.user
    if user.is_authenticated and user.is_superuser and not acting.contexts_for(user):
        return redirect("operator:index")
    return role_home(request)


@acting_required()
def role_home(request: ActingRequest) -> HttpResponse:
    context = request.acting
    now = timezone.now()
    year = calendar_of(context.school).year(roc.school_year_of(timezone.localdate(now)))
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
        "portal/home.html",
        {
            "year": year,
            "phase": dashboard.phase_for(context, now=now, grade=grade),
            "counters": dashboard.counters_for(context, year=year, student=student),
            "code_check": dashboard.course_code_check_for(context),
            "may_set_up_year": context.role == Role.SCHOOL_ADMIN,
            "for_student": context.role == Role.STUDENT,
            "explain_certifying": context.role == Role.TEACHER,
        },
    )


def bare(request: HttpRequest) -> HttpResponse:
    """Mounted only for benchmarks: the ceiling of the stack, a view that does nothing."""
    return HttpResponse(b"ok", content_type="text/plain")


@csrf_exempt
@require_POST
def bench_upload_raw(request: HttpRequest) -> HttpResponse:
    """Mounted only for benchmarks: a multipart upload saved to storage as it came, with no
    check, no hash and no row; the ceiling of an upload (``bench/uploads.py``)."""
    field = next(iter(request.FILES), None)
    upload = request.FILES.get(field) if field is not None else None
    if upload is None:
        return HttpResponse(b"no file", status=400, content_type="text/plain")
    saved = default_storage.save(f"bench/{uuid.uuid4().hex}", upload)
    return HttpResponse(saved.encode(), status=201, content_type="text/plain")
