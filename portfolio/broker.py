"""Sending a Celery task from a request without letting a broker that is down fail it.

The task is sent with no result kept (a Redis result store that is down would hold the send up
for its own retries, about 20 s, then raise); when the broker does not take it, a warning is
logged and False returned: the caller's beat sweep sends the work later (jobs, roster packages,
notices), so the request that asked for it still succeeds.
"""

import logging

from celery import Task
from kombu.exceptions import OperationalError as BrokerUnreachable

logger = logging.getLogger(__name__)


def send_quietly(task: Task, *args: object) -> bool:
    try:
        task.apply_async(args, ignore_result=True)
    except (BrokerUnreachable, OSError) as exc:
        logger.warning("%s%r not sent, the broker is unreachable (%s)", task.name, args, exc)
        return False
    return True
