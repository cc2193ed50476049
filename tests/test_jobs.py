"""Background jobs: started on commit, claimed once, progress recorded, failure shown."""

import datetime as dt
import os
import time

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from portfolio import jobs
from portfolio.models import Job, JobStatus
from tests.builders.people import client_for


@pytest.fixture
def handlers():
    seen = []

    @jobs.job_handler("test.count")
    def count(job, progress):
        for n in range(1, 201):
            progress(n, 200)
        seen.append(job.pk)
        return {"counted": 200}

    @jobs.job_handler("test.fail")
    def fail(job, progress):
        raise RuntimeError("the file has no rows")

    yield seen
    jobs.HANDLERS.pop("test.count")
    jobs.HANDLERS.pop("test.fail")


def test_job_runs_once_and_records_its_result(school, handlers, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_start(school=school, kind="test.count", params={}, by=None)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100
    assert job.result == {"counted": 200}
    jobs.job_run(job.pk)  # a second delivery of the same message
    assert handlers == [job.pk]


def test_failure_is_recorded_not_raised(
    school, handlers, django_capture_on_commit_callbacks, caplog
):
    with django_capture_on_commit_callbacks(execute=True):
        job = jobs.job_start(school=school, kind="test.fail", params={}, by=None)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    # The exception goes to the log, never to the user.
    assert "no rows" in caplog.text and "RuntimeError" in caplog.text
    assert job.message == ""
    with translation.override("en"):
        assert "recorded for the platform's administrators" in job.failure_message
    with translation.override("zh-hant"):
        assert "管理" in job.failure_message and "no rows" not in job.failure_message


class FileTooOld(jobs.JobFailure):
    code = "test.file_too_old"
    text = "The file is too old."


def test_a_known_failure_is_shown_in_the_readers_language(
    school, make_member, django_capture_on_commit_callbacks
):
    owner = make_member(school, Role.REGISTRY)

    @jobs.job_handler("test.known")
    def known(job, progress):
        raise FileTooOld

    try:
        with django_capture_on_commit_callbacks(execute=True):
            job = jobs.job_start(school=school, kind="test.known", params={}, by=None)
    finally:
        jobs.HANDLERS.pop("test.known")
    Job.objects.filter(pk=job.pk).update(created_by=owner.user)
    job.refresh_from_db()
    assert job.message == "test.file_too_old"
    client = client_for(owner)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.get(reverse("portal:job", args=[job.pk])).content.decode()
    assert "The work failed. Nothing was changed. The file is too old." in html


def test_a_failure_code_is_given_once():
    with pytest.raises(TypeError):

        class Again(jobs.JobFailure):
            code = "test.file_too_old"


def test_job_page_for_its_owner_only(school, other_school, make_member):
    owner = make_member(school, Role.REGISTRY)
    job = Job.objects.create(
        school=school, kind="test", created_by=owner.user, progress=40, status=JobStatus.RUNNING
    )
    response = client_for(owner).get(reverse("portal:job", args=[job.pk]))
    assert response.status_code == 200
    assert 'value="40"' in response.content.decode()
    status = client_for(owner).get(reverse("portal:job_status", args=[job.pk])).json()
    assert status == {"status": "running", "progress": 40, "finished": False}
    colleague = make_member(school, Role.REGISTRY)
    assert client_for(colleague).get(reverse("portal:job", args=[job.pk])).status_code == 404


def test_unknown_kind_is_refused(school):
    with pytest.raises(ValueError):
        jobs.job_start(school=school, kind="nope", params={}, by=None)


def test_finished_jobs_lose_their_files_after_a_week(school, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    now = timezone.now()
    old = Job.objects.create(
        school=school,
        kind="test",
        status=JobStatus.SUCCEEDED,
        finished_at=now - dt.timedelta(days=8),
    )
    old.input_file.save("roster.csv", ContentFile(b"x"))
    recent = Job.objects.create(
        school=school,
        kind="test",
        status=JobStatus.SUCCEEDED,
        finished_at=now - dt.timedelta(days=2),
    )
    recent.input_file.save("roster.csv", ContentFile(b"y"))
    path = old.input_file.path
    assert jobs.job_files_purge(now=now) == 1
    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.input_file and recent.input_file
    assert not os.path.exists(path)


def test_a_job_may_ask_to_keep_its_files_a_shorter_time(school, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": tmp_path},
        },
    }
    finished = timezone.now()
    job = Job.objects.create(
        school=school,
        kind="test",
        params={"keep_hours": 24},
        status=JobStatus.SUCCEEDED,
        finished_at=finished,
    )
    job.result_file.save("portfolio.zip", ContentFile(b"z"))
    assert jobs.job_files_purge(now=finished + dt.timedelta(hours=23, minutes=59)) == 0
    assert jobs.job_files_purge(now=finished + dt.timedelta(hours=24, minutes=1)) == 1
    job.refresh_from_db()
    assert not job.result_file


# --- a worker lost in the middle of a job ------------------------------------------------------


@pytest.fixture
def lost_kinds():
    runs = []

    @jobs.job_handler("test.again", retry=True)
    def again(job, progress):
        runs.append(job.pk)
        return {"run": len(runs)}

    @jobs.job_handler("test.once")
    def once(job, progress):
        runs.append(job.pk)
        return {}

    yield runs
    for kind in ("test.again", "test.once"):
        jobs.HANDLERS.pop(kind)
        jobs.RETRIED.discard(kind)


def _left_running(school, kind: str, *, beat_ago: dt.timedelta, attempts: int = 1) -> Job:
    """A job as a worker killed in its middle leaves it: running, its last mark ``beat_ago``."""
    now = timezone.now()
    return Job.objects.create(
        school=school,
        kind=kind,
        status=JobStatus.RUNNING,
        started_at=now - beat_ago,
        heartbeat_at=now - beat_ago,
        attempts=attempts,
        progress=40,
    )


def test_a_job_whose_worker_was_lost_runs_again(
    school, lost_kinds, django_capture_on_commit_callbacks
):
    job = _left_running(school, "test.again", beat_ago=jobs.LOST_AFTER + dt.timedelta(seconds=1))
    assert jobs.jobs_recover() == (1, 0)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempts == 2 and job.heartbeat_at is None
    assert lost_kinds == [job.pk] and job.result == {"run": 1}


def test_a_job_still_marked_alive_is_left_to_its_worker(school, lost_kinds):
    job = _left_running(school, "test.again", beat_ago=jobs.LOST_AFTER - dt.timedelta(seconds=5))
    assert jobs.jobs_recover() == (0, 0)
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING and lost_kinds == []


def test_a_lost_job_that_may_not_run_twice_fails_with_its_reason(school, lost_kinds, caplog):
    once = _left_running(school, "test.once", beat_ago=dt.timedelta(minutes=5))
    tried = _left_running(
        school, "test.again", beat_ago=dt.timedelta(minutes=5), attempts=jobs.MAX_ATTEMPTS
    )
    assert jobs.jobs_recover() == (0, 2)
    for job in (once, tried):
        job.refresh_from_db()
        assert job.status == JobStatus.FAILED and job.finished_at is not None
        assert job.message == jobs.WorkerLost.code
    assert lost_kinds == []
    assert "lost its worker" in caplog.text
    with translation.override("en"):
        assert "stopped before it finished" in once.failure_message
    with translation.override("zh-hant"):
        assert "中斷" in once.failure_message


def test_a_run_taken_back_does_not_decide_the_job(school, lost_kinds, monkeypatch):
    """A worker that was only slow finishes after jobs_recover gave its job to another run:
    the other run's outcome stands."""
    job = _left_running(school, "test.again", beat_ago=dt.timedelta(minutes=5))
    slow_attempt = job.attempts
    monkeypatch.setattr(jobs, "job_send", lambda pk: True)  # sent, not run yet
    assert jobs.jobs_recover() == (1, 0)
    jobs.job_run(job.pk)  # the new run
    jobs._finish(job.pk, slow_attempt, status=JobStatus.FAILED, message="late")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.message == ""


def test_the_beat_task_recovers_lost_jobs(school, lost_kinds):
    from portfolio.tasks import requeue_jobs

    job = _left_running(school, "test.once", beat_ago=dt.timedelta(minutes=5))
    requeue_jobs.apply()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the heartbeat runs on its own connection on PostgreSQL only",
)
def test_the_heartbeat_is_seen_while_the_job_holds_a_transaction(school, monkeypatch):
    """The mark comes from a connection of its own: a job that spends minutes in one
    transaction (an import applied) is still seen alive."""
    monkeypatch.setattr(jobs, "HEARTBEAT", dt.timedelta(seconds=0.05))

    @jobs.job_handler("test.long")
    def long(job, progress):
        with transaction.atomic():
            started = Job.objects.get(pk=job.pk).heartbeat_at
            time.sleep(0.5)
            marked = Job.objects.get(pk=job.pk).heartbeat_at
        return {"advanced": marked > started}

    try:
        job = Job.objects.create(school=school, kind="test.long")
        jobs.job_run(job.pk)
    finally:
        jobs.HANDLERS.pop("test.long")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.result == {"advanced": True}
    assert job.heartbeat_at is None
