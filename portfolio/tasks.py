from celery import shared_task

from portfolio import services


@shared_task(time_limit=120, soft_time_limit=100)
def apply_window_states() -> int:
    """Beat runs this every minute: open and close windows whose times have come."""
    return len(services.window_states_apply())


@shared_task(time_limit=1800, soft_time_limit=1700, ignore_result=True)
def run_job(job_id: int) -> None:
    """Run one background job (imports, exports); see portfolio.jobs. No result is kept: the
    job's row holds it."""
    from portfolio.jobs import job_run

    job_run(job_id)


@shared_task(time_limit=600, soft_time_limit=540)
def purge_job_files() -> int:
    """Beat runs this hourly: finished jobs' files (personal data) go after a week, or
    after the time the job asked for (a portfolio zip: a day)."""
    from portfolio.jobs import job_files_purge

    return job_files_purge()


@shared_task(time_limit=120, soft_time_limit=100, ignore_result=True)
def requeue_jobs() -> int:
    """Beat runs this every minute: jobs whose task never reached the broker (it was down when
    they were started) or was lost with it are sent again; each still runs once. Jobs whose
    worker died under them are run again or failed (portfolio.jobs.jobs_recover)."""
    from portfolio.jobs import jobs_recover, jobs_requeue

    jobs_recover()
    return jobs_requeue()
