"""A student's whole portfolio as a zip: built in the background, exactly their files with an
index, for them alone, for a day; memory flat whatever the file sizes."""

import datetime as dt
import hashlib
import io
import re
import tracemalloc
import urllib.parse
import zipfile

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from portfolio import jobs
from portfolio.models import Job, JobStatus
from records.models import Student
from submissions import export
from submissions.files import check_upload
from submissions.models import (
    CourseOutcome,
    OutcomeState,
    Performance,
    PerformanceCategory,
    PerformanceState,
)
from submissions.services.outcomes import outcome_withdraw
from submissions.services.stored_files import store, stored_file_row
from tests.builders.files import MB, MP3_FRAME, make_mp3, make_pdf, make_png
from tests.builders.people import client_for, english
from tests.builders.portfolio import World, pdf

LIMITS = {"allowed_types": ["pdf", "jpg", "png", "mp3", "mp4"], "max_bytes": 10 * MB}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def stored_row(student, data, name, kind="document", source=None):
    """A checked file in storage and its row, as an upload leaves them."""
    with check_upload(source or io.BytesIO(data), original_name=name, kind=kind, **LIMITS) as item:
        store(student.school, item)
        return stored_file_row(student, item)


class Portfolio(World):
    """World's student (signed in as a student) with outcomes in every state and two
    performances, one withdrawn."""

    def __init__(self, school, make_member):
        super().__init__(school)
        self.member = make_member(school, Role.STUDENT)
        self.student.user = self.member.user
        self.student.save()
        self.teacher = make_member(school, Role.TEACHER, name="王老師")
        self.policy.outcome_upload_cap_per_term = 6
        self.policy.save()
        self.talk = self.upload(
            title="Lab report",
            document=pdf("實驗報告.pdf"),
            media=_mp3("talk.mp3"),
        )
        self.certified = self.upload(title="Essay", document=pdf("essay.pdf"))
        CourseOutcome.objects.filter(pk=self.certified.pk).update(
            state=OutcomeState.CERTIFIED,
            certified_by=self.teacher.user,
            certified_at=self.inside + dt.timedelta(days=1),
        )
        self.rejected = self.upload(title="Poster", document=pdf("poster.pdf"))
        CourseOutcome.objects.filter(pk=self.rejected.pk).update(
            state=OutcomeState.REJECTED, rejection_reason="Not from this course."
        )
        self.withdrawn = self.upload(title="Old draft", document=pdf("old.pdf"))
        outcome_withdraw(outcome=self.withdrawn, by=None, now=self.inside)
        self.performance = self.add_performance("Science fair", "certificate.png", make_png())
        self.withdrawn_performance = self.add_performance(
            "Dropped club", "club.pdf", make_pdf(), state=PerformanceState.WITHDRAWN
        )

    def add_performance(self, name, file_name, data, state=PerformanceState.SAVED):
        return Performance.objects.create(
            school=self.school,
            student=self.student,
            school_year=self.term1.school_year,
            category=PerformanceCategory.COMPETITION,
            name=name,
            description=f"{name}: what I did.",
            document=stored_row(self.student, data, file_name),
            state=state,
        )

    def client(self):
        client = client_for(self.member)
        client.cookies["django_language"] = "en"
        return client


def _mp3(name):
    return SimpleUploadedFile(name, make_mp3(), content_type="audio/mpeg")


@pytest.fixture
def world(school, storage_dir, make_member):
    return Portfolio(school, make_member)


def start(client, django_capture_on_commit_callbacks) -> Job:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("portfolioexport:start"))
    assert response.status_code == 302
    job = Job.objects.get(kind=export.EXPORT_JOB)
    assert response["Location"] == reverse("portfolioexport:detail", args=[job.pk])
    return job


def download(client, job) -> zipfile.ZipFile:
    response = client.get(reverse("portfolioexport:download", args=[job.pk]))
    assert response.status_code == 200
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- what the zip holds ----------------------------------------------------------------------


def test_zip_holds_exactly_the_files_with_an_index(world, django_capture_on_commit_callbacks):
    client = world.client()
    job = start(client, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100
    assert job.params["keep_hours"] == 24

    response = client.get(reverse("portfolioexport:download", args=[job.pk]))
    assert response["Content-Type"] == "application/zip"
    assert response["X-Content-Type-Options"] == "nosniff"
    name = f"portfolio-S1-{timezone.localdate():%Y%m%d}.zip"
    assert response["Content-Disposition"] == f'attachment; filename="{name}"'
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))

    term, year = world.term1.label, world.term1.school_year.roc_year
    outcomes = f"{term}/Course outcomes"
    expected = {
        f"{outcomes}/1-Lab report/實驗報告.pdf": world.talk.document,
        f"{outcomes}/1-Lab report/talk.mp3": world.talk.media,
        f"{outcomes}/2-Essay/essay.pdf": world.certified.document,
        f"{outcomes}/3-Poster/poster.pdf": world.rejected.document,
        f"{year}/Diverse performances/1-Science fair/certificate.png": world.performance.document,
    }
    assert set(archive.namelist()) == {*expected, "index.html"}
    for path, row in expected.items():
        data = archive.read(path)
        assert sha(data) == row.sha256 and len(data) == row.size
    assert {archive.getinfo(path).compress_type for path in expected} == {zipfile.ZIP_STORED}

    index = archive.read("index.html").decode("utf-8")
    assert '<meta charset="utf-8">' in index
    assert not re.search(r'(src|href)="(https?:)?//', index), "no external resource"
    for title, state in [
        ("Lab report", "Awaiting certification"),
        ("Essay", "Certified"),
        ("Poster", "Rejected"),
        ("Old draft", "Withdrawn"),
        ("Science fair", "Uploaded"),
        ("Dropped club", "Withdrawn"),
    ]:
        assert re.search(rf"{title} <span class=\"state\">{state}</span>", index), title
    assert "by 王老師 on" in index
    assert "Not from this course." in index
    assert "Measuring g with a pendulum." in index
    assert "not included: the item was withdrawn" in index
    assert "old.pdf" in index and "club.pdf" in index
    links = {urllib.parse.unquote(h) for h in re.findall(r'<a href="([^"]+)"', index)}
    assert links == set(expected)
    assert job.result == {
        "file_name": name,
        "size": job.result["size"],
        "items": 4,
        "withdrawn": 2,
        "files": 5,
        "problems": [],
    }


def test_detail_page_offers_the_download_until_a_day_later(
    world, django_capture_on_commit_callbacks
):
    client = world.client()
    job = start(client, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    page = client.get(reverse("portfolioexport:detail", args=[job.pk])).content.decode()
    assert reverse("portfolioexport:download", args=[job.pk]) in page
    until = timezone.localtime(job.finished_at + dt.timedelta(hours=24))
    assert f"Kept until {until:%Y-%m-%d %H:%M}" in page

    # Sessions last hours, not a day: sign in again after travelling.
    with time_machine.travel(job.finished_at + dt.timedelta(hours=23, minutes=59)):
        assert download(world.client(), job).namelist()
    with time_machine.travel(job.finished_at + dt.timedelta(hours=24)):
        later = world.client()
        assert later.get(reverse("portfolioexport:download", args=[job.pk])).status_code == 404
        page = later.get(reverse("portfolioexport:detail", args=[job.pk])).content.decode()
        assert "has been deleted" in page and "Make a new zip" in page


def test_a_purged_export_is_404(world, django_capture_on_commit_callbacks):
    client = world.client()
    job = start(client, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    path = job.result_file.name
    assert default_storage.exists(path)
    job.result_file.delete(save=False)
    Job.objects.filter(pk=job.pk).update(result_file="")
    assert client.get(reverse("portfolioexport:download", args=[job.pk])).status_code == 404
    assert not default_storage.exists(path)


def test_index_follows_the_students_language(world, django_capture_on_commit_callbacks):
    client = world.client()
    client.cookies["django_language"] = "zh-hant"
    job = start(client, django_capture_on_commit_callbacks)
    assert job.params["language"] == "zh-hant"
    index = download(client, job).read("index.html").decode("utf-8")
    assert '<html lang="zh-Hant-TW">' in index
    assert "已撤回" in index  # "Withdrawn"


def test_a_file_missing_from_storage_is_reported_not_fatal(
    world, django_capture_on_commit_callbacks
):
    default_storage.delete(world.certified.document.storage_path)
    client = world.client()
    job = start(client, django_capture_on_commit_callbacks)
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    assert job.result["problems"] == ["Essay: essay.pdf"]
    archive = download(client, job)
    assert not [n for n in archive.namelist() if n.endswith("essay.pdf")]
    assert "missing from the school" in archive.read("index.html").decode()
    page = client.get(reverse("portfolioexport:detail", args=[job.pk])).content.decode()
    assert "Essay: essay.pdf" in page


def test_names_are_safe_and_unique(world, django_capture_on_commit_callbacks):
    world.upload(title="../../etc/passwd", document=pdf("..\\..\\boot.pdf"))
    world.upload(title="Lab report", document=pdf("實驗報告.pdf"))
    job = start(world.client(), django_capture_on_commit_callbacks)
    names = download(world.client(), job).namelist()
    assert len(names) == len(set(names))
    for name in names:
        assert not name.startswith("/") and "\\" not in name
        assert all(part not in ("", ".", "..") for part in name.split("/")), name
    outcomes = f"{world.term1.label}/Course outcomes"
    assert f"{outcomes}/5-etc passwd/boot.pdf" in names
    assert f"{outcomes}/6-Lab report/實驗報告.pdf" in names


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("../../etc/passwd", "etc passwd"),
        ("..", "fallback"),
        ("a\u202eb\u200bc", "abc"),
        ('con<>:"|?*tent', "con tent"),
        ("  spaced\tout  ", "spaced out"),
        ("x" * 80, "x" * 60),
        ("報告. ", "報告"),
    ],
)
def test_safe_segment(text, expected):
    assert export.safe_segment(text, fallback="fallback") == expected


# --- one export at a time; progress ----------------------------------------------------------


def test_a_second_start_goes_to_the_export_underway(world):
    client = world.client()
    first = client.post(reverse("portfolioexport:start"))  # not committed: stays queued
    second = client.post(reverse("portfolioexport:start"))
    assert first["Location"] == second["Location"]
    job = Job.objects.get(kind=export.EXPORT_JOB)
    assert job.status == JobStatus.QUEUED
    page = client.get(first["Location"]).content.decode()
    assert "<progress" in page and reverse("portal:job_status", args=[job.pk]) in page
    Job.objects.filter(pk=job.pk).update(status=JobStatus.SUCCEEDED, finished_at=timezone.now())
    third = client.post(reverse("portfolioexport:start"))
    assert third["Location"] != first["Location"]


def test_progress_counts_files(world):
    job = export.export_start(student=world.student, by=None)
    seen = []
    export.export_build(job, lambda done, total: seen.append((done, total)))
    assert seen == [(n, 6) for n in range(1, 6)]


def test_start_page_lists_the_students_recent_zips(world, django_capture_on_commit_callbacks):
    client = world.client()
    job = start(client, django_capture_on_commit_callbacks)
    page = client.get(reverse("portfolioexport:start")).content.decode()
    assert reverse("portfolioexport:detail", args=[job.pk]) in page
    assert "ready to download" in page


# --- who may see it --------------------------------------------------------------------------


def test_only_the_student_who_asked(
    world, make_member, other_school, django_capture_on_commit_callbacks
):
    job = start(world.client(), django_capture_on_commit_callbacks)
    classmate = make_member(world.school, Role.STUDENT)
    Student.objects.create(school=world.school, student_number="S2", name="乙", user=classmate.user)
    stranger = make_member(other_school, Role.STUDENT)
    Student.objects.create(school=other_school, student_number="S1", name="丙", user=stranger.user)
    for name in ("portfolioexport:detail", "portfolioexport:download"):
        url = reverse(name, args=[job.pk])
        assert client_for(classmate).get(url).status_code == 404
        assert client_for(stranger).get(url).status_code == 404
        for role in (Role.TEACHER, Role.REGISTRY, Role.HOMEROOM):
            assert client_for(make_member(world.school, role)).get(url).status_code == 403
    assert (
        client_for(make_member(world.school, Role.REGISTRY))
        .post(reverse("portfolioexport:start"))
        .status_code
        == 403
    )


def test_a_student_without_a_record_cannot_start(school, make_member):
    client = english(client_for(make_member(school, Role.STUDENT)))
    assert (
        "not linked to a student record"
        in client.get(reverse("portfolioexport:start")).content.decode()
    )
    assert client.post(reverse("portfolioexport:start")).status_code == 404
    assert not Job.objects.exists()


# --- memory ----------------------------------------------------------------------------------


def test_a_10_mb_recording_is_streamed_into_the_zip(world, tmp_path):
    source = tmp_path / "long.mp3"
    block = MP3_FRAME * 150
    with source.open("wb") as out:
        while out.tell() + len(block) <= 10 * MB:
            out.write(block)
    with source.open("rb") as f:
        media = stored_row(world.student, b"", "long.mp3", kind="media", source=f)
    CourseOutcome.objects.create(
        school=world.school,
        student=world.student,
        enrolment=world.enrolment,
        title="Recital",
        description="A long recording.",
        media=media,
        state=OutcomeState.SUBMITTED,
    )
    job = export.export_start(student=world.student, by=None)
    tracemalloc.start()
    try:
        jobs.job_run(job.pk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.message
    assert peak < 3 * MB, f"peak memory {peak} bytes while zipping a 10 MB file"
    with job.result_file.open("rb") as f, zipfile.ZipFile(f) as archive:
        name = f"{world.term1.label}/Course outcomes/5-Recital/long.mp3"
        assert archive.getinfo(name).file_size == media.size
        digest = hashlib.sha256()
        with archive.open(name) as member:
            while chunk := member.read(64 * 1024):
                digest.update(chunk)
        assert digest.hexdigest() == media.sha256
