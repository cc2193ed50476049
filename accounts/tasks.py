"""Notices' e-mail (accounts.notices.deliver), queued after notices are written and run by
beat every minute for those whose next attempt has come."""

from celery import shared_task

from portfolio.broker import send_quietly


@shared_task(time_limit=600, soft_time_limit=570)
def deliver_notices() -> dict:
    from accounts.notices import deliver

    done = deliver()
    if done.more:
        send_quietly(deliver_notices)
    return {"sent": done.sent, "retrying": done.retrying, "failed": done.failed}
