"""The offices' rosters for the central database (名冊): state, pre-check, build, submit.

Registry (rosters 1, 2, 25, 26/28) and student affairs (roster 24) see, per school year, each
roster they submit for their own division: its state (not built, building, pre-check failed,
ready, submitted, answered, reopened) with who did what and when. A build runs in the
background; its page shows the progress, then what the pre-check found, what changed since
the last submission, the files to download, and the submit and reopen buttons. The grade
roster's separate pre-check file (預檢成績名冊, 41/42) is run per term from the same page.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from portfolio.access import get_term_for
from portfolio.exports import XLSX
from portfolio.jobs import job_start, private_file_response, result_file_response
from portfolio.lib import roc
from portfolio.models import Job, JobStatus, SchoolYear, Term
from records.models import Student
from submissions.access import (
    PRECHECK_ROLES,
    get_package_for,
    get_precheck_for,
    prechecks_of,
)
from submissions.forms.rosters import BuildForm, ReopenForm
from submissions.models import CourseOutcome, PackageState, Performance, RosterPackage
from submissions.services import rosters
from submissions.services.precheck import PRECHECK_JOB
from submissions.transports import transport_name

PER_PAGE = 100
ZIP = "application/zip"


def _years(request: ActingRequest):
    return SchoolYear.objects.filter(school=request.acting.school).order_by("-roc_year")


@acting_required(*rosters.ROSTER_ROLES)
def index(request: ActingRequest) -> HttpResponse:
    """The current school year's rosters (or the newest year the school has)."""
    years = _years(request)
    year = years.filter(roc_year=roc.current_school_year()).first() or years.first()
    if year is None:
        return render(request, "submissions/rosters/year.html", {"year": None, "years": []})
    return year_page(request, year.roc_year)


@acting_required(*rosters.ROSTER_ROLES)
def year_page(request: ActingRequest, roc_year: int) -> HttpResponse:
    year = get_object_or_404(_years(request), roc_year=roc_year)
    lines = rosters.roster_lines(request.acting, year)
    prechecks: dict[int, Job] = {}
    if request.acting.role in PRECHECK_ROLES:
        for job in (
            prechecks_of(request.acting)
            .filter(params__term__in=[t.pk for t in year.terms.all()])
            .order_by("-created_at", "-pk")
        ):
            prechecks.setdefault(job.params.get("term"), job)
    context = {
        "year": year,
        "years": list(_years(request)),
        "lines": [(line, prechecks.get(line.term.pk) if line.term else None) for line in lines],
        "may_precheck": request.acting.role in PRECHECK_ROLES,
        "with_files": any(line.kind.with_files for line in lines),
        "simulator": settings.CENTRAL_SIMULATOR and transport_name() == "http",
        "downloads": transport_name() == "download",
    }
    return render(request, "submissions/rosters/year.html", context)


@require_POST
@acting_required(*rosters.ROSTER_ROLES)
def build(request: ActingRequest, roc_year: int) -> HttpResponse:
    year = get_object_or_404(_years(request), roc_year=roc_year)
    form = BuildForm(request.POST, acting=request.acting, school_year=year)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("rosters:year", roc_year)
    package = rosters.package_start(
        acting=request.acting,
        kind=form.cleaned_data["kind"],
        school_year=year,
        term=form.cleaned_data["term"],
    )
    return redirect("rosters:package", package.pk)


def _diff_examples(package: RosterPackage) -> list[dict[str, str]]:
    """The diff's example rows, each with its student and item said plainly (a course
    outcome or a performance by its title, a grade by its course code)."""
    examples = (package.diff or {}).get("examples", [])
    parsed = []
    for change, identity in examples:
        sheet, student_pk, item = identity.split("|", 2)
        parsed.append((change, sheet, int(student_pk), item))
    students = Student.objects.in_bulk({p[2] for p in parsed})
    last = {p[3]: p[3].rsplit("|", 1)[-1] for p in parsed}
    performances = Performance.objects.in_bulk(
        int(tail[1:]) for tail in last.values() if tail[:1] == "P" and tail[1:].isdigit()
    )
    outcomes = CourseOutcome.objects.in_bulk(
        int(tail[1:]) for tail in last.values() if tail[:1] == "O" and tail[1:].isdigit()
    )
    labels = {"added": _("Added"), "changed": _("Changed"), "removed": _("Removed")}
    rows = []
    for change, sheet, student_pk, item in parsed:
        student = students.get(student_pk)
        tail = last[item]
        found: CourseOutcome | Performance | None = None
        if tail[:1] == "P" and tail[1:].isdigit():
            found = performances.get(int(tail[1:]))
        elif tail[:1] == "O" and tail[1:].isdigit():
            found = outcomes.get(int(tail[1:]))
        if found is not None:
            text = found.name if isinstance(found, Performance) else found.title
            label = f"{item.split('|', 1)[0]} {text}" if isinstance(found, CourseOutcome) else text
        else:
            label = item.split("|", 1)[0] if tail[:1] in ("P", "O") else item.replace("|", " ")
        rows.append(
            {
                "change": labels[change],
                "sheet": sheet,
                "student": f"{student.student_number} {student.name}" if student else "",
                "item": label,
            }
        )
    return rows


def _package_page(
    request: ActingRequest, found: RosterPackage, reopen_form: ReopenForm, status: int = 200
) -> HttpResponse:
    spec = rosters.central.spec_for(found.school_year.roc_year)
    findings = found.findings or {}
    context = {
        "package": found,
        "kind": rosters.kind_of(found.roster, spec, found.division),
        "job": found.job,
        "findings": findings,
        "problems": Paginator(findings.get("problems", []), PER_PAGE).get_page(
            request.GET.get("page")
        ),
        "diff_examples": _diff_examples(found) if found.diff else [],
        "reopen_form": reopen_form,
        "downloads": transport_name() == "download",
        "frozen_count": (found.outcomes.count() + found.performances.count())
        if found.is_frozen
        else 0,
    }
    return render(request, "submissions/rosters/package.html", context, status=status)


@acting_required(*rosters.ROSTER_ROLES)
def package(request: ActingRequest, pk: int) -> HttpResponse:
    return _package_page(request, get_package_for(request.acting, pk), ReopenForm())


@require_POST
@acting_required(*rosters.ROSTER_ROLES)
def submit(request: ActingRequest, pk: int) -> HttpResponse:
    found = get_package_for(request.acting, pk)
    try:
        rosters.package_submit(package=found, acting=request.acting)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The roster is recorded as submitted."))
    return redirect("rosters:package", found.pk)


@require_POST
@acting_required(*rosters.ROSTER_ROLES)
def poll(request: ActingRequest, pk: int) -> HttpResponse:
    """Send a package over HTTP now if it is not yet, or ask for its answer now, rather than
    wait for the periodic task."""
    from submissions.transports.base import TransportError

    found = get_package_for(request.acting, pk)
    if not found.is_waiting_for_answer:
        return redirect("rosters:package", found.pk)
    try:
        if found.reference:
            rosters.package_poll(found.pk)
        else:
            rosters.package_send(found.pk)
    except TransportError:
        messages.error(
            request,
            _(
                "The central database could not be reached; the platform tries again every few minutes."
            ),
        )
    else:
        found.refresh_from_db()
        if found.is_waiting_for_answer:
            messages.info(request, _("The central database is still checking the roster."))
    return redirect("rosters:package", found.pk)


@require_POST
@acting_required(*rosters.ROSTER_ROLES)
def reopen(request: ActingRequest, pk: int) -> HttpResponse:
    found = get_package_for(request.acting, pk)
    form = ReopenForm(request.POST)
    if form.is_valid():
        try:
            rosters.package_reopen(
                package=found, acting=request.acting, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request, _("The roster is reopened: build it again and submit the new package.")
            )
            return redirect("rosters:package", found.pk)
    found.refresh_from_db()
    return _package_page(request, found, form, status=400)


def _package_file(found: RosterPackage, field: str, filename: str, content_type: str):
    if found.state in (PackageState.BUILDING, PackageState.INTERRUPTED):
        raise Http404
    stored = getattr(found, field)
    if not stored:
        raise Http404
    return private_file_response(stored, filename=filename, content_type=content_type)


@acting_required(*rosters.ROSTER_ROLES)
def workbook(request: ActingRequest, pk: int) -> FileResponse:
    found = get_package_for(request.acting, pk)
    return _package_file(found, "workbook", found.file_name, XLSX)


@acting_required(*rosters.ROSTER_ROLES)
def files_zip(request: ActingRequest, pk: int) -> FileResponse:
    found = get_package_for(request.acting, pk)
    name = found.file_name.removesuffix(".xlsx") + "_files.zip"
    return _package_file(found, "files_zip", name, ZIP)


# --- the grade roster's pre-check file (41/42) ------------------------------------------------


@require_POST
@acting_required(*PRECHECK_ROLES)
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


@acting_required(*PRECHECK_ROLES)
def precheck(request: ActingRequest, pk: int) -> HttpResponse:
    job = get_precheck_for(request.acting, pk)
    term = Term.objects.select_related("school_year").filter(pk=job.params.get("term")).first()
    context = {"job": job, "term": term}
    if job.status == JobStatus.SUCCEEDED:
        context["problems"] = Paginator(job.result.get("problems", []), PER_PAGE).get_page(
            request.GET.get("page")
        )
    return render(request, "submissions/rosters/precheck.html", context)


@acting_required(*PRECHECK_ROLES)
def precheck_file(request: ActingRequest, pk: int) -> FileResponse:
    job = get_precheck_for(request.acting, pk)
    if job.status != JobStatus.SUCCEEDED or not job.result_file:
        raise Http404
    return result_file_response(job, filename=job.result["file_name"], content_type=XLSX)
