"""Background jobs of the submissions area: a student's whole portfolio as a zip.

Imported from ``SubmissionsConfig.ready()`` so that the handlers are registered in every
process that runs jobs (web, worker, commands).
"""

from collections.abc import Callable
from typing import Any

from portfolio.jobs import job_handler
from portfolio.models import Job
from submissions import export


@job_handler(export.EXPORT_JOB)
def portfolio_export(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    return export.export_build(job, progress)
