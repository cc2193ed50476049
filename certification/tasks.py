"""Beat runs ``send_scheduled_notices`` every quarter of an hour: teachers' digests and
reminders, students' reminders (certification.notices.scheduled). Each notice is written
once whatever how often, or how many at once, this runs."""

from celery import shared_task


@shared_task(time_limit=600, soft_time_limit=570)
def send_scheduled_notices() -> dict[str, int]:
    from certification.notices import scheduled

    return scheduled()
