from celery import shared_task

from portfolio import services


@shared_task(time_limit=120, soft_time_limit=100)
def apply_window_states() -> int:
    """Beat runs this every minute: open and close windows whose times have come."""
    return len(services.window_states_apply())


@shared_task(time_limit=1800, soft_time_limit=1700)
def run_job(job_id: int) -> None:
    """Run one background job (imports, exports); see portfolio.jobs."""
    from portfolio.jobs import job_run

    job_run(job_id)


@shared_task(time_limit=600, soft_time_limit=540)
def purge_job_files() -> int:
    """Beat runs this hourly: finished jobs' files (personal data) go after a week, or
    after the time the job asked for (a portfolio zip: a day)."""
    from portfolio.jobs import job_files_purge

    return job_files_purge()
