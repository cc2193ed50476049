"""Record imports: upload a file, see the preview, confirm, see the result.

The registry imports students and grades, the curriculum office courses and course
enrolments, student affairs cadre posts, club memberships and attendance; each sees only their own kinds and their own imports. Reading the file and
writing the records run as background jobs (``records.jobs``); these pages start them
and show their progress and results.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.models import Job, JobStatus
from records.access import get_import_for, imports_of
from records.forms.imports import ImportForm
from records.imports import KINDS, kinds_for
from records.imports.report import CATEGORIES, kind_label, present
from records.services import imports as services

ROLES = (Role.REGISTRY, Role.CURRICULUM, Role.STUDENT_AFFAIRS)
PER_PAGE = 50
SORTS = {"row": "row", "key": "key", "column": "column"}


@acting_required(*ROLES)
def index(request: ActingRequest) -> HttpResponse:
    """Upload a file to preview, with the columns of each kind; the user's imports."""
    acting = request.acting
    form = ImportForm(
        request.POST or None, request.FILES or None, school=acting.school, role=acting.role
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = services.import_start(
                kind=form.cleaned_data["kind"],
                term=form.cleaned_data["term"],
                upload=form.cleaned_data["file"],
                by=acting,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            return redirect("imports:detail", pk=job.pk)
    kind = request.GET.get("kind", "")
    history = imports_of(request.acting).order_by("-created_at", "-pk")
    if kind in KINDS:
        history = history.filter(params__kind=kind)
    if request.GET.get("format") == "xlsx":
        return _history_xlsx(history)
    page = Paginator(history, PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "records/imports/index.html",
        {
            "form": form,
            "kinds": kinds_for(acting.role),
            "kind": kind,
            "page": page,
            "rows": [_history_row(job) for job in page.object_list],
        },
    )


def _history_row(job: Job) -> dict[str, Any]:
    result = job.result or {}
    return {
        "job": job,
        "kind_label": kind_label(job.params.get("kind", "")),
        "file_name": job.params.get("file_name", ""),
        "term": result.get("term", ""),
        "applying": job.kind == services.APPLY_JOB,
        "counts": result.get("counts"),
        "written": result.get("written", False),
    }


def _history_xlsx(history: QuerySet[Job]) -> HttpResponse:
    rows = []
    for job in history.iterator(chunk_size=500):
        item = _history_row(job)
        counts = item["counts"] or {}
        rows.append(
            [
                timezone.localtime(job.created_at),
                item["kind_label"],
                item["file_name"],
                item["term"],
                _("Import") if item["applying"] else _("Preview"),
                job.get_status_display(),
                counts.get("rows", ""),
                counts.get("added", ""),
                counts.get("changed", ""),
                counts.get("unchanged", ""),
                counts.get("errors", ""),
            ]
        )
    return xlsx_response(
        filename=f"imports-{timezone.localdate():%Y%m%d}.xlsx",
        sheet=_("Imports"),
        headers=[
            _("Started"),
            _("Kind"),
            _("File"),
            _("Term"),
            _("Step"),
            _("Status"),
            _("Rows"),
            _("To add"),
            _("To change"),
            _("Unchanged"),
            _("Problems"),
        ],
        rows=rows,
    )


def _category(request: ActingRequest, result: dict[str, Any]) -> str:
    wanted = request.GET.get("show", "")
    if wanted in CATEGORIES:
        return wanted
    counts = result.get("counts", {})
    return next((c for c in CATEGORIES if counts.get(c)), "errors")


def _entries(result: dict[str, Any], category: str, sort: str) -> list[dict[str, Any]]:
    entries = list(result["problems"] if category == "errors" else result.get(category, []))
    field = SORTS.get(sort, "row")
    if field != "row":
        return sorted(entries, key=lambda e: (str(e.get(field, "")), e.get("row") or 0))
    return entries


@acting_required(*ROLES)
def detail(request: ActingRequest, pk: int) -> HttpResponse:
    """A preview or an import: progress while it runs, then what it found or did."""
    job = get_import_for(request.acting, pk)
    context: dict[str, Any] = {
        "job": job,
        "kind_label": kind_label(job.params.get("kind", "")),
        "file_name": job.params.get("file_name", ""),
        "applying": job.kind == services.APPLY_JOB,
    }
    if job.status == JobStatus.SUCCEEDED:
        result = present(job.result)
        category = _category(request, result)
        sort = request.GET.get("sort", "row")
        context.update(
            result=result,
            category=category,
            sort=sort if sort in SORTS else "row",
            page=Paginator(_entries(result, category, sort), PER_PAGE).get_page(
                request.GET.get("page")
            ),
            applied=(
                None
                if context["applying"]
                else Job.objects.filter(
                    school=job.school_id,
                    kind=services.APPLY_JOB,
                    params__source=job.pk,
                    created_by=request.user,
                ).first()
            ),
            source=job.params.get("source"),
        )
    return render(request, "records/imports/detail.html", context)


@require_POST
@acting_required(*ROLES)
def apply(request: ActingRequest, pk: int) -> HttpResponse:
    """Confirm a clean preview: the file is imported in the background."""
    preview = get_import_for(request.acting, pk)
    if preview.kind != services.PREVIEW_JOB:
        raise Http404
    try:
        job = services.import_confirm(preview=preview, by=request.acting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("imports:detail", pk=preview.pk)
    return redirect("imports:detail", pk=job.pk)


@acting_required(*ROLES)
def export(request: ActingRequest, pk: int) -> HttpResponse:
    """One list of a preview or import (problems, changes, additions, unchanged) as xlsx."""
    job = get_import_for(request.acting, pk)
    if job.status != JobStatus.SUCCEEDED:
        raise Http404
    result = present(job.result)
    category = _category(request, result)
    entries = _entries(result, category, request.GET.get("sort", "row"))
    if category == "errors":
        headers = [_("Row"), _("Column"), _("Problem")]
        rows = [[e["row"], e["column"], e["message"]] for e in entries]
    else:
        headers = [_("Row"), _("Key"), _("Name"), _("Details")]
        rows = [[e["row"], e["key"], e["label"], _details(category, e)] for e in entries]
    return xlsx_response(
        filename=f"import-{job.pk}-{category}.xlsx",
        sheet=result["kind_label"],
        headers=headers,
        rows=rows,
    )


def _details(category: str, entry: dict[str, Any]) -> str:
    if category == "changed":
        return "; ".join(f"{c}: {old or '-'} → {new or '-'}" for c, old, new in entry["changes"])
    if category == "added":
        return "; ".join(f"{c}: {value}" for c, value in entry.get("details", []))
    return ""


@acting_required(*ROLES)
def template(request: ActingRequest, kind: str) -> HttpResponse:
    """An empty workbook with the kind's header row, for a clerk to fill in."""
    found = next((k for k in kinds_for(request.acting.role) if k.name == kind), None)
    if found is None:
        raise Http404
    return xlsx_response(
        filename=f"{found.template_name}.xlsx",
        sheet=found.template_name.removesuffix("匯入範本") or found.name,
        headers=found.template_headers,
        rows=[],
    )
