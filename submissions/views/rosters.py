"""The registry's rosters for the central database: the grade roster's pre-check per term.

Registry sees the terms of its school, newest first, each with the latest pre-check of its own
division (by any clerk of it): not run, running, problems found, or passed, with the
pre-check file (預檢成績名冊) to download. A pre-check runs in the background; its page lists
every problem with the student, the column and what to do.
"""

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from portfolio.access import get_term_for
from portfolio.exports import XLSX
from portfolio.jobs import job_start, result_file_response
from portfolio.models import Job, JobStatus, Term
from submissions.access import ROSTER_ROLES, get_precheck_for, prechecks_of
from submissions.services.precheck import PRECHECK_JOB

PER_PAGE = 100


@acting_required(*ROSTER_ROLES)
def index(request: ActingRequest) -> HttpResponse:
    terms = list(
        Term.objects.filter(school=request.acting.school)
        .select_related("school_year")
        .order_by("-school_year__roc_year", "-number")
    )
    latest: dict[int, Job] = {}
    for job in prechecks_of(request.acting).order_by("-created_at", "-pk"):
        latest.setdefault(job.params.get("term"), job)
    rows = [(term, latest.get(term.pk)) for term in terms]
    return render(request, "submissions/rosters/index.html", {"rows": rows})


@require_POST
@acting_required(*ROSTER_ROLES)
def precheck_start(request: ActingRequest, term_pk: int) -> HttpResponse:
    term = get_term_for(request.acting, term_pk)
    job = job_start(
        school=request.acting.school,
        kind=PRECHECK_JOB,
        params={
            "term": term.pk,
            "division": request.acting.division,
            "language": translation.get_language(),
        },
        by=request.acting,
    )
    return redirect("rosters:precheck", job.pk)


@acting_required(*ROSTER_ROLES)
def precheck(request: ActingRequest, pk: int) -> HttpResponse:
    job = get_precheck_for(request.acting, pk)
    term = Term.objects.select_related("school_year").filter(pk=job.params.get("term")).first()
    context = {"job": job, "term": term}
    if job.status == JobStatus.SUCCEEDED:
        context["problems"] = Paginator(job.result.get("problems", []), PER_PAGE).get_page(
            request.GET.get("page")
        )
    return render(request, "submissions/rosters/precheck.html", context)


@acting_required(*ROSTER_ROLES)
def precheck_file(request: ActingRequest, pk: int) -> FileResponse:
    job = get_precheck_for(request.acting, pk)
    if job.status != JobStatus.SUCCEEDED or not job.result_file:
        raise Http404
    return result_file_response(job, filename=job.result["file_name"], content_type=XLSX)
