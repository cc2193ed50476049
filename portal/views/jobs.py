"""A background job's page and its state for the page's progress bar."""

from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from portfolio.access import get_job_for
from portfolio.jobs import RESULT_TEMPLATES


@acting_required()
def job_detail(request: ActingRequest, pk: int) -> HttpResponse:
    job = get_job_for(request.acting, pk)
    return render(
        request,
        "portal/job_detail.html",
        {"job": job, "result_template": RESULT_TEMPLATES.get(job.kind, "")},
    )


@never_cache
@acting_required()
def job_status(request: ActingRequest, pk: int) -> JsonResponse:
    job = get_job_for(request.acting, pk)
    return JsonResponse(
        {"status": job.status, "progress": job.progress, "finished": job.is_finished}
    )
