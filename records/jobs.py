"""Background jobs of the records area: imports (preview, then apply).

Imported from ``RecordsConfig.ready()`` so that the handlers are registered in every
process that runs jobs (web, worker, commands).
"""

from collections.abc import Callable
from typing import Any

from portfolio.jobs import job_handler
from portfolio.models import Job
from records.services import imports

RESULT_TEMPLATE = "records/imports/job_result.html"


def _fraction(progress: Callable[[int, int], None]) -> Callable[[float], None]:
    return lambda fraction: progress(int(fraction * 1000), 1000)


@job_handler(imports.PREVIEW_JOB, result_template=RESULT_TEMPLATE, retry=True)
def import_preview(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    return imports.run_preview_job(job, _fraction(progress))


@job_handler(imports.APPLY_JOB, result_template=RESULT_TEMPLATE, retry=True)
def import_apply(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    return imports.run_apply_job(job, _fraction(progress))
