"""Background jobs: started on commit, claimed once, progress recorded, failure shown."""

import datetime as dt
import os

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
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
