"""A school administrator downloads the whole school's data: start the zip, follow it,
download it (``submissions.school_export``)."""

from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.jobs import result_file_response
from submissions import school_export
from submissions.export import export_available, export_expires_at

# Exports listed on the start page (two days' worth is a handful at most).
LISTED = 10


@acting_required(Role.SCHOOL_ADMIN)
def school_export_index(request: ActingRequest) -> HttpResponse:
    """GET: what the zip holds and the school's recent ones; POST: make one (or go to the one
    already being made)."""
    school = request.acting.school
    if request.method == "POST":
        job = school_export.school_export_start(school=school, by=request.acting)
        return redirect("schoolexport:detail", pk=job.pk)
    recent = list(
        school_export.school_exports_of(school)
        .select_related("created_by")
        .order_by("-created_at")[:LISTED]
    )
    now = timezone.now()
    return render(
        request,
        "submissions/school_export/index.html",
        {
            "recent": [(job, export_available(job, now), export_expires_at(job)) for job in recent],
            "keep_hours": school_export.KEEP_HOURS,
        },
    )


@never_cache
@acting_required()
def school_export_detail(request: ActingRequest, pk: int) -> HttpResponse:
    job = school_export.get_school_export_for(request.acting, pk)
    return render(
        request,
        "submissions/school_export/detail.html",
        {
            "job": job,
            "available": export_available(job, timezone.now()),
            "expires_at": export_expires_at(job),
            # The progress bar polls the job's state, which only its starter may read;
            # another administrator follows it with "Check again".
            "polls": job.created_by_id == request.user.pk,
        },
    )


@acting_required()
def school_export_download(request: ActingRequest, pk: int) -> FileResponse:
    job = school_export.get_school_export_for(request.acting, pk)
    if not export_available(job, timezone.now()):
        raise Http404
    school_export.school_export_downloaded(job=job, by=request.acting)
    return result_file_response(
        job, filename=job.result.get("file_name") or "school.zip", content_type="application/zip"
    )
