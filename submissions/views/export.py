"""A student downloads their whole portfolio: start the zip, follow it, download it."""

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.jobs import result_file_response
from records.access import get_own_student
from submissions import export
from submissions.access import get_own_export_for

STUDENT = Role.STUDENT
# Exports listed on the start page (a day's worth is a handful at most).
LISTED = 5


@acting_required(STUDENT)
def export_start(request: ActingRequest) -> HttpResponse:
    """GET: what the zip holds, and the student's recent ones; POST: make one (or go to the
    one already being made)."""
    student = get_own_student(request.acting)
    if request.method == "POST":
        if student is None:
            raise Http404
        job = export.export_start(student=student, by=request.acting)
        return redirect("portfolioexport:detail", pk=job.pk)
    recent = []
    if student is not None:
        recent = list(
            export.exports_of(student)
            .filter(created_by=request.user)
            .order_by("-created_at")[:LISTED]
        )
    now = timezone.now()
    return render(
        request,
        "submissions/export/start.html",
        {
            "student": student,
            "recent": [(job, export.export_available(job, now)) for job in recent],
        },
    )


@never_cache
@acting_required(STUDENT)
def export_detail(request: ActingRequest, pk: int) -> HttpResponse:
    job, _student = get_own_export_for(request.acting, pk)
    now = timezone.now()
    return render(
        request,
        "submissions/export/detail.html",
        {
            "job": job,
            "available": export.export_available(job, now),
            "expires_at": export.export_expires_at(job),
        },
    )


@acting_required(STUDENT)
def export_download(request: ActingRequest, pk: int) -> FileResponse:
    job, _student = get_own_export_for(request.acting, pk)
    if not export.export_available(job, timezone.now()):
        raise Http404
    return result_file_response(
        job, filename=job.result.get("file_name") or "portfolio.zip", content_type="application/zip"
    )
