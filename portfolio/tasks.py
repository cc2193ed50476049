from celery import shared_task

from portfolio import services


@shared_task(time_limit=120, soft_time_limit=100)
def apply_window_states() -> int:
    """Beat runs this every minute: open and close windows whose times have come."""
    return len(services.window_states_apply())
