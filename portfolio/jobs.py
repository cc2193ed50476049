"""Background jobs: start one, report progress, finish it; the page polls its state.

A job kind is a function registered with ``@job_handler("kind")`` taking the Job and a
``progress(done, total)`` callback, returning a JSON-able result. ``job_start`` records
the Job and sends the task when the transaction commits; the task claims the job with
a conditional UPDATE, so a job runs once however often its message is delivered.

A job whose task could not be sent (the broker down: the request that started it still
succeeds, the job stays queued) or whose message was lost with the broker is sent again by
``jobs_requeue`` (beat, every minute) once it has waited ``REQUEUE_AFTER``; sending it
twice is harmless, since only one delivery can claim it.

A worker killed while it runs a job (a deploy, the machine out of memory, the task's hard time
limit) leaves the job "running": while a worker runs a job it marks the row every
``HEARTBEAT`` from a thread of its own, and ``jobs_recover`` (with ``jobs_requeue``, every
minute) finds the running jobs whose mark is older than ``LOST_AFTER``. A kind registered
with ``retry=True`` (its work is all-or-nothing, like an import applied in one transaction,
or only produces a file) is queued and sent again, up to ``MAX_ATTEMPTS`` runs; any other,
or one that lost its worker every time, fails with ``WorkerLost``'s reason.

A job that fails keeps a code, not the exception's text: its page says why in the
language of whoever reads it, the known reasons (``JobFailure`` subclasses) in their own
words and anything else as a failure the platform's administrators can find in the log,
where the exception goes.
"""

import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.cache import cache
from django.core.files.base import File
from django.db import connection, transaction
from django.db.models import F
from django.db.models.fields.files import FieldFile
from django.http import FileResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from portfolio.actor import Actor
from portfolio.audit import audit_write
from portfolio.broker import send_quietly
from portfolio.models import Job, JobStatus, School

Handler = Callable[[Job, Callable[[int, int], None]], dict[str, Any]]
HANDLERS: dict[str, Handler] = {}
RESULT_TEMPLATES: dict[str, str] = {}
RETRIED: set[str] = set()  # kinds run again when their worker is lost
logger = logging.getLogger(__name__)


class JobFailure(Exception):
    """A reason for a job to fail that its user can act on. A subclass names it with a
    ``code`` (kept on the job) and says it with a lazy ``text``; anything else a handler
    raises is shown as this class's text."""

    code: ClassVar[str] = ""
    text: ClassVar[str | Promise] = _(
        "An error on the platform stopped it; the error has been recorded for the "
        "platform's administrators. Try again later."
    )
    known: ClassVar[dict[str, type["JobFailure"]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.code or cls.code in JobFailure.known:
            raise TypeError(f"{cls.__name__} needs a code of its own")
        JobFailure.known[cls.code] = cls


class WorkerLost(JobFailure):
    code = "worker_lost"
    text = _(
        "The server running it stopped before it finished. Start it again; if it stops "
        "again, tell the platform's administrators."
    )


def failure_text(code: str) -> str:
    """What a failed job's page says for the code the job keeps, in the active language."""
    return str(JobFailure.known.get(code, JobFailure).text)


def job_handler(
    kind: str, *, result_template: str = "", retry: bool = False
) -> Callable[[Handler], Handler]:
    """Register ``kind``; ``result_template`` renders ``job.result`` on the job's page;
    ``retry``: the handler may run again after a worker died in it (it changes nothing until
    one transaction at its end, or only writes its result file)."""

    def register(function: Handler) -> Handler:
        HANDLERS[kind] = function
        if result_template:
            RESULT_TEMPLATES[kind] = result_template
        if retry:
            RETRIED.add(kind)
        return function

    return register


def job_start(
    *,
    school: School,
    kind: str,
    params: dict[str, Any],
    by: Actor | None,
    input_file: File | None = None,
) -> Job:
    if kind not in HANDLERS:
        raise ValueError(f"no handler for job kind {kind!r}")
    with transaction.atomic():
        job = Job(
            school=school,
            kind=kind,
            params=params,
            created_by=by.user if by else None,
            on_behalf_of=by.on_behalf_of if by else None,
        )
        if input_file is not None:
            job.input_file.save(input_file.name or "input", input_file, save=False)
        job.save()
        audit_write(school=school, by=by, action="job.start", target=job, changes={"kind": kind})
        transaction.on_commit(lambda: job_send(job.pk))
    return job


# A job queued this long is sent again by jobs_requeue: its task never reached the broker, or
# was lost with it. A job sent and still queued (the workers busy) waits SENT_MARK before
# being sent again, so that a long queue is not doubled every minute.
REQUEUE_AFTER = dt.timedelta(seconds=60)
SENT_MARK = dt.timedelta(hours=1)
REQUEUE_BATCH = 500  # sent by one sweep at most
REQUEUE_LOOKED_AT = 10_000  # queued jobs looked at by one sweep, the oldest first


def _sent_key(job_id: int) -> str:
    return f"portfolio.jobs.sent:{job_id}"


def job_send(job_id: int) -> bool:
    """Send the job's task; False, with a warning in the log, if the broker is unreachable
    (the job stays queued: jobs_requeue sends it later). No result is kept for the task: the
    job's row holds its outcome, and a Redis result store that is down would hold the send up
    for its own retries."""
    from portfolio.tasks import run_job

    if not send_quietly(run_job, job_id):
        return False
    cache.set(_sent_key(job_id), True, SENT_MARK.total_seconds())
    return True


def jobs_requeue(*, now: dt.datetime | None = None) -> int:
    """Send again the jobs queued for REQUEUE_AFTER that no worker has claimed, except those
    sent within SENT_MARK (a mark in the cache; without the cache every one is sent, which
    costs only no-op deliveries). How many were sent."""
    now = now or timezone.now()
    waiting = list(
        Job.objects.filter(status=JobStatus.QUEUED, created_at__lte=now - REQUEUE_AFTER)
        .order_by("created_at")
        .values_list("pk", flat=True)[:REQUEUE_LOOKED_AT]
    )
    marked = cache.get_many([_sent_key(pk) for pk in waiting]) if waiting else {}
    sent = 0
    for pk in waiting:
        if sent >= REQUEUE_BATCH:
            break
        if _sent_key(pk) in marked:
            continue
        if not job_send(pk):
            break  # the broker is still down: the next sweep tries again
        sent += 1
    if sent:
        logger.warning("%d queued jobs sent again", sent)
    return sent


# A running job's row is marked this often; one whose mark is LOST_AFTER old lost its worker.
HEARTBEAT = dt.timedelta(seconds=15)
LOST_AFTER = dt.timedelta(seconds=90)
MAX_ATTEMPTS = 2


class _Heartbeat(threading.Thread):
    """Marks a running job's row every HEARTBEAT on a connection of its own, so that the
    mark is seen while the job's own work is in an open transaction (an import applied in
    one), and stops with the process that runs the job. Not on SQLite, whose one writer at
    a time it would hold up (SQLite runs jobs in the request, never on a worker)."""

    def __init__(self, job_id: int):
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.job_id = job_id
        self.done = threading.Event()

    def run(self) -> None:
        try:
            while not self.done.wait(HEARTBEAT.total_seconds()):
                Job.objects.filter(pk=self.job_id, status=JobStatus.RUNNING).update(
                    heartbeat_at=timezone.now()
                )
        except Exception:
            logger.exception("job %s: heartbeat failed", self.job_id)
        finally:
            connection.close()

    def __enter__(self) -> "_Heartbeat":
        if connection.vendor != "sqlite":
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        if self.is_alive():
            self.join()


def job_run(job_id: int) -> None:
    """Run a queued job once; a second delivery finds it claimed and does nothing."""
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return
    job = Job.objects.get(pk=job_id)
    attempt = job.attempts
    last = {"percent": -1}

    def progress(done: int, total: int) -> None:
        percent = 100 if total <= 0 else min(99, done * 100 // total)
        if percent != last["percent"]:
            last["percent"] = percent
            Job.objects.filter(pk=job.pk).update(progress=percent)

    try:
        with _Heartbeat(job.pk):
            result = HANDLERS[job.kind](job, progress)
    except Exception as exc:
        # The reason's code is kept on the job for its page, the exception goes to the
        # log; not raised again, since retrying a failed import or export would only fail
        # the same way.
        logger.exception("job %s (%s) failed", job.pk, job.kind)
        code = exc.code if isinstance(exc, JobFailure) else ""
        _finish(job.pk, attempt, status=JobStatus.FAILED, message=code)
        return
    _finish(job.pk, attempt, status=JobStatus.SUCCEEDED, progress=100, result=result)


def _finish(job_id: int, attempt: int, **fields: Any) -> None:
    """End this run of a job; not one that jobs_recover took back from a worker it thought
    lost meanwhile (the job's later run decides its outcome)."""
    Job.objects.filter(pk=job_id, status=JobStatus.RUNNING, attempts=attempt).update(
        finished_at=timezone.now(), heartbeat_at=None, **fields
    )


def jobs_recover(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """The running jobs whose worker is gone (no heartbeat for LOST_AFTER): queued and sent
    again if their kind may run again and they have runs left, failed with WorkerLost
    otherwise. Each change is conditional on the mark read, so a worker that was only slow
    and marks the row meanwhile keeps its job. (requeued, failed)."""
    now = now or timezone.now()
    lost = list(
        Job.objects.filter(status=JobStatus.RUNNING, heartbeat_at__lt=now - LOST_AFTER)
        .order_by("heartbeat_at")
        .values_list("pk", "kind", "attempts", "heartbeat_at")[:REQUEUE_BATCH]
    )
    requeued = failed = 0
    for pk, kind, attempts, mark in lost:
        still_lost = Job.objects.filter(pk=pk, status=JobStatus.RUNNING, heartbeat_at=mark)
        if kind in RETRIED and attempts < MAX_ATTEMPTS:
            if still_lost.update(status=JobStatus.QUEUED, progress=0, heartbeat_at=None):
                requeued += 1
                logger.warning("job %s (%s) lost its worker: run again", pk, kind)
                job_send(pk)
        elif still_lost.update(
            status=JobStatus.FAILED, finished_at=now, heartbeat_at=None, message=WorkerLost.code
        ):
            failed += 1
            logger.error("job %s (%s) lost its worker after %d runs: failed", pk, kind, attempts)
    return requeued, failed


JOB_FILE_DAYS = 7


def _keep_files_for(job: Job) -> dt.timedelta:
    """How long a finished job's files stay: a week, or less when the job asked for it
    with ``params["keep_hours"]`` (a student's portfolio zip: a day)."""
    hours = job.params.get("keep_hours") if isinstance(job.params, dict) else None
    if isinstance(hours, int) and 0 < hours < JOB_FILE_DAYS * 24:
        return dt.timedelta(hours=hours)
    return dt.timedelta(days=JOB_FILE_DAYS)


def job_files_purge(*, now=None) -> int:
    """Delete the uploaded and produced files of finished jobs once their time is up.

    Import files hold personal data (names, national IDs): once the job is done they
    serve only a re-run, which a week covers; a job may ask for less (``keep_hours``).
    The job rows and their results stay.
    """
    now = now or timezone.now()
    finished = Job.objects.filter(
        status__in=[JobStatus.SUCCEEDED, JobStatus.FAILED], finished_at__isnull=False
    ).exclude(input_file="", result_file="")
    purged = 0
    for job in finished.iterator():
        if job.finished_at >= now - _keep_files_for(job):
            continue
        for field in (job.input_file, job.result_file):
            if field:
                field.delete(save=False)
        Job.objects.filter(pk=job.pk).update(input_file="", result_file="")
        purged += 1
    return purged


def private_file_response(field: FieldFile, *, filename: str, content_type: str) -> FileResponse:
    """A stored file (a job's result, a roster package) as a private download, streamed (the
    caller has checked access): an attachment, never sniffed, kept by no shared cache."""
    response = FileResponse(
        field.open("rb"), as_attachment=True, filename=filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def result_file_response(job: Job, *, filename: str, content_type: str) -> FileResponse:
    """The job's result file as a private download (the caller has checked access)."""
    return private_file_response(job.result_file, filename=filename, content_type=content_type)
