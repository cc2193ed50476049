"""Background jobs of the submissions area: a student's whole portfolio as a zip, the whole
school's data as a zip, the rosters' pre-check and builds, and the receipts.

Imported from ``SubmissionsConfig.ready()`` so that the handlers are registered in every
process that runs jobs (web, worker, commands).
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils import translation

from portfolio.jobs import job_handler
from portfolio.models import Job
from submissions import export, school_export
from submissions.services import packages, precheck, receipts


@job_handler(export.EXPORT_JOB, retry=True)
def portfolio_export(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    return export.export_build(job, progress)


@job_handler(school_export.SCHOOL_EXPORT_JOB, retry=True)
def school_data_export(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return school_export.school_export_build(job, progress)


@job_handler(precheck.PRECHECK_JOB, retry=True)
def roster_precheck(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return precheck.precheck_build(job, progress)


@job_handler(packages.PACKAGE_JOB)
def roster_package(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return packages.package_build(job, progress)


@job_handler(receipts.RECEIPT_JOB)
def receipt_import(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return receipts.import_job(job, progress)


@job_handler(receipts.FETCH_JOB)
def receipt_fetch(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return receipts.fetch_job(job, progress)


@job_handler(receipts.LETTERS_JOB, retry=True)
def receipt_letters(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    with translation.override(job.params.get("language") or settings.LANGUAGE_CODE):
        return receipts.letters_job(job, progress)
