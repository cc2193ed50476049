"""Imports of students, courses, enrolments, grades, cadre posts, clubs and attendance:
preview, apply, and their jobs.

``import_preview`` reads a file and says what importing it would do, writing nothing.
``import_apply`` does it: in one transaction, and only when no row has a problem, so a
file is written whole or not at all; importing the same file again changes nothing.
Pages start both as background jobs (``import_start``, ``import_confirm``; handlers in
``records.jobs``); the ``import_records`` command calls them directly.
"""

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import models, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Deputy, Division, Membership
from portfolio.audit import audit_write
from portfolio.jobs import JobFailure, job_start
from portfolio.lib import roc
from portfolio.models import Job, JobStatus, School, SchoolYear, Term
from records.imports import KINDS, base

if TYPE_CHECKING:
    from accounts.acting import ActingContext

PREVIEW_JOB = "records.import.preview"
APPLY_JOB = "records.import.apply"
JOB_KINDS = (PREVIEW_JOB, APPLY_JOB)
UPLOAD_EXTENSIONS = (".xlsx", ".csv")
Progress = Callable[[float], None]


def _quiet(fraction: float) -> None:
    """Progress nobody watches."""


def _part(progress: Progress, start: float, end: float) -> Progress:
    """Progress of one step, as a share of the whole run."""
    return lambda fraction: progress(start + (end - start) * max(0.0, min(1.0, fraction)))


def _unwrapped(stream: Any) -> BinaryIO:
    """The real file under a Django File (uploads, storage files): text wrappers and zip
    readers want the file object itself."""
    inner = getattr(stream, "file", None)
    return inner if inner is not None and hasattr(inner, "read") else stream


def _context(
    *,
    kind: base.ImportKind,
    school: School,
    term: Term | None,
    division: str,
    by: "ActingContext | None",
    report: base.Report,
) -> base.Context | None:
    if term is not None and term.school_id != school.pk:
        raise ValueError("the term belongs to another school")
    if term is None and kind.needs_term:
        report.problem(0, "", "term_required")
        return None
    year = term.school_year if term is not None else SchoolYear.objects.current_for(school)
    if year is None:
        report.problem(0, "", "no_school_year", year=roc.current_school_year())
        return None
    return base.Context(school=school, school_year=year, term=term, division=division, by=by)


def import_preview(
    *,
    kind: str,
    stream: BinaryIO,
    file_name: str,
    school: School,
    term: Term | None,
    division: str = Division.DAY,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """What importing the file would add, change and leave, and every bad row; writes
    nothing."""
    handler = KINDS[kind]
    report = base.Report(kind=kind, file_name=file_name)
    context = _context(
        kind=handler, school=school, term=term, division=division, by=None, report=report
    )
    if context is None:
        return report.as_dict(context=None, written=False)
    rows, columns = base.read(handler, _unwrapped(stream), context, report, _part(progress, 0, 0.8))
    # Rows with a bad cell are left out; the others are matched all the same, so the
    # preview shows what the corrected file would do.
    if rows:
        handler.plan(rows, columns, context, report)
    progress(1.0)
    return report.as_dict(context=context, written=False)


def import_apply(
    *,
    kind: str,
    stream: BinaryIO,
    file_name: str,
    school: School,
    term: Term | None,
    division: str = Division.DAY,
    by: "ActingContext | None",
    target: models.Model | None = None,
    progress: Progress = _quiet,
) -> dict[str, Any]:
    """Import the file: all of it in one transaction when no row has a problem, or
    nothing. One audit row for the whole import, with its counts."""
    handler = KINDS[kind]
    report = base.Report(kind=kind, file_name=file_name)
    context = _context(
        kind=handler, school=school, term=term, division=division, by=by, report=report
    )
    if context is None:
        return report.as_dict(context=None, written=False)
    rows, columns = base.read(handler, _unwrapped(stream), context, report, _part(progress, 0, 0.5))
    if not rows:
        return report.as_dict(context=context, written=False)
    with transaction.atomic():
        # Matched again inside the transaction: the records may have changed since the
        # preview, and what is written must follow from what is there now. Rows with a
        # bad cell are matched too, so the report is the preview's.
        plan = handler.plan(rows, columns, context, report)
        if not report.clean:
            return report.as_dict(context=context, written=False)
        progress(0.6)
        handler.write(plan, context, report, _part(progress, 0.6, 1.0))
        audit_write(
            school=school,
            by=by,
            action=f"import.{kind}",
            target=target,
            changes={
                "file": file_name,
                "term": term.label if term else "",
                "school_year": context.school_year.roc_year,
                "rows": report.rows,
                **report.counts,
                **({"created": report.created} if report.created else {}),
            },
        )
    return report.as_dict(context=context, written=True)


# Background jobs -----------------------------------------------------------------------


def acting_params(by: "ActingContext") -> dict[str, Any]:
    return {"membership": by.membership.pk, "deputy": by.deputy.pk if by.deputy else None}


def acting_of(job: Job) -> "ActingContext | None":
    """The acting context a job was started in (who started it, and for whom), from the
    params ``acting_params`` wrote."""
    from accounts.acting import ActingContext

    data = job.params.get("acting") or {}
    membership_pk = data.get("membership")
    membership = (
        Membership.objects.filter(pk=membership_pk).select_related("school").first()
        if isinstance(membership_pk, int)
        else None
    )
    if membership is None or job.created_by is None:
        return None
    deputy = None
    if data.get("deputy"):
        deputy = Deputy.objects.select_related("principal").filter(pk=data["deputy"]).first()
    return ActingContext(user=job.created_by, membership=membership, deputy=deputy)


def import_start(*, kind: str, term: Term | None, upload: File, by: "ActingContext") -> Job:
    """Keep the uploaded file (private storage) and start its preview in the background."""
    handler = KINDS.get(kind)
    if handler is None or by.role not in handler.roles:
        raise ValidationError({"kind": [_("Choose one of the kinds listed.")]})
    if term is not None and term.school_id != by.school.pk:
        raise ValidationError({"term": [_("Choose one of the terms listed.")]})
    if term is None and handler.needs_term:
        raise ValidationError({"term": [_("Choose the term this file belongs to.")]})
    name = os.path.basename(upload.name or "")
    extension = os.path.splitext(name)[1].lower()
    if extension not in UPLOAD_EXTENSIONS:
        raise ValidationError({"file": [_("Upload an Excel workbook (.xlsx) or a CSV file.")]})
    stored = File(upload, name=f"import-{kind}{extension}")
    return job_start(
        school=by.school,
        kind=PREVIEW_JOB,
        params={
            "kind": kind,
            "term": term.pk if term else None,
            "division": by.division,
            "file_name": name,
            "acting": acting_params(by),
        },
        by=by,
        input_file=stored,
    )


def import_confirm(*, preview: Job, by: "ActingContext") -> Job:
    """Apply a previewed file, in the background; once per preview."""
    if preview.kind != PREVIEW_JOB or preview.school_id != by.school.pk:
        raise ValueError("not an import preview of this school")
    result = preview.result or {}
    if preview.status != JobStatus.SUCCEEDED or not result.get("clean"):
        raise ValidationError(_("Only a file without problems can be imported."))
    if by.role not in KINDS[preview.params["kind"]].roles:
        raise ValidationError(_("Your role cannot run this import."))
    with transaction.atomic():
        # Locks the preview so that two presses of the button start one import.
        Job.objects.select_for_update().filter(pk=preview.pk).first()
        earlier = Job.objects.filter(
            school=preview.school_id, kind=APPLY_JOB, params__source=preview.pk
        ).first()
        if earlier is not None:
            return earlier
        return job_start(
            school=by.school,
            kind=APPLY_JOB,
            params={**preview.params, "source": preview.pk, "acting": acting_params(by)},
            by=by,
        )


class ImportFileGone(JobFailure):
    code = "records.import.file_gone"
    text = gettext_lazy(
        "The file of this preview is no longer kept (uploaded files are removed a week after "
        "their import is done): upload it again."
    )


def job_term(job: Job) -> Term | None:
    term_id = job.params.get("term")
    if term_id is None:
        return None
    return Term.objects.select_related("school_year").get(pk=term_id, school=job.school_id)


def run_preview_job(job: Job, progress: Progress) -> dict[str, Any]:
    with job.input_file.open("rb") as stream:
        return import_preview(
            kind=job.params["kind"],
            stream=stream,
            file_name=job.params.get("file_name", ""),
            school=job.school,
            term=job_term(job),
            division=job.params.get("division", Division.DAY),
            progress=progress,
        )


def run_apply_job(job: Job, progress: Progress) -> dict[str, Any]:
    source = Job.objects.get(pk=job.params["source"], school=job.school_id, kind=PREVIEW_JOB)
    if not source.input_file:
        raise ImportFileGone
    with source.input_file.open("rb") as stream:
        return import_apply(
            kind=job.params["kind"],
            stream=stream,
            file_name=job.params.get("file_name", ""),
            school=job.school,
            term=job_term(job),
            division=job.params.get("division", Division.DAY),
            by=acting_of(job),
            target=job,
            progress=progress,
        )
