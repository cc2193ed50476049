"""The whole school's data as one zip for its school administrator: the rosters in the central
layout, the roster files built, every student, every file with a manifest; kept two days,
audited, flat in queries whatever the number of students."""

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile

import openpyxl
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Division, Role
from portfolio import jobs
from portfolio.lib.roc import to_roc_date
from portfolio.models import AuditLog, Job, JobStatus
from records.models import Gender, Student
from submissions import school_export
from submissions.models import StoredFile
from tests.builders.people import client_for, english
from tests.builders.rosters import RosterClass
from tests.builders.school_export import ExportSchool


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def small(school, storage_dir, make_member):
    return ExportSchool(school, make_member)


def admin_client(world):
    return english(client_for(world.admin))


def start(client, capture) -> Job:
    with capture(execute=True):
        response = client.post(reverse("schoolexport:index"))
    assert response.status_code == 302
    job = Job.objects.filter(kind=school_export.SCHOOL_EXPORT_JOB).latest("created_at")
    assert response["Location"] == reverse("schoolexport:detail", args=[job.pk])
    job.refresh_from_db()
    return job


def download(client, job) -> zipfile.ZipFile:
    response = client.get(reverse("schoolexport:download", args=[job.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Cache-Control"] == "private, no-store"
    return zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))


def csv_rows(archive, name) -> list[dict[str, str]]:
    data = archive.read(name)
    assert data.startswith(b"\xef\xbb\xbf"), f"{name} has no byte-order mark"
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def workbook(archive, name):
    return openpyxl.load_workbook(io.BytesIO(archive.read(name)), read_only=True)


def rows_of(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


# --- what the zip holds ----------------------------------------------------------------------


def test_the_zip_holds_every_file_with_its_manifest(small, django_capture_on_commit_callbacks):
    client = admin_client(small)
    job = start(client, django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED and job.progress == 100
    assert job.params["keep_hours"] == 48
    archive = download(client, job)

    stored = list(StoredFile.objects.filter(school=small.school).select_related("student"))
    manifest = csv_rows(archive, "manifest.csv")
    assert len(manifest) == len(stored) == 5
    assert {(line["sha256"], int(line["size"]), line["student_number"]) for line in manifest} == {
        (f.sha256, f.size, f.student.student_number) for f in stored
    }
    for line in manifest:
        assert line["status"] == "ok"
        assert sha(archive.read(line["path"])) == line["sha256"]
    files = {name for name in archive.namelist() if name.startswith("files/")}
    assert files == {line["path"] for line in manifest}

    # Each file under its student, named by its item.
    first, outcome, performance = small.students[0], small.outcomes[0], small.performances[0]
    by_path = {line["path"]: line for line in manifest}
    line = by_path[f"files/{first.student_number}/course_outcome-{outcome.pk}-報告.pdf"]
    assert line["item_kind"] == "course_outcome" and line["item_title"] == "報告1"
    assert line["item_state"] == "certified" and line["school_year"] == str(small.year.roc_year)
    assert line["term"] == "1" and line["student_name"] == first.name
    line = by_path[f"files/{first.student_number}/diverse_performance-{performance.pk}-work.pdf"]
    assert line["item_kind"] == "diverse_performance" and line["item_title"] == "作品1"
    line = by_path[f"files/{first.student_number}/other-{small.loose.pk}-loose.pdf"]
    assert line["item_kind"] == "other" and line["file_name"] == "loose.pdf"

    # manifest.json says the same, with the summary.
    document = json.loads(archive.read("manifest.json"))
    assert document["school_code"] == small.school.code
    assert [
        {key: str(value) for key, value in entry.items()} for entry in document["files"]
    ] == manifest
    assert document["summary"]["files"] == 5

    assert job.result["students"] == 3 and job.result["files"] == 5
    assert job.result["bytes"] == sum(f.size for f in stored)
    assert job.result["missing"] == job.result["changed"] == 0
    assert job.result["rosters"] == 3 and job.result["problems"] >= 1
    readme = archive.read("README.txt").decode("utf-8")
    assert "manifest.csv" in readme and "身分證號已解密" in readme
    assert "The national IDs are decrypted" in readme


def test_students_csv_has_every_student_with_the_decrypted_id(
    small, django_capture_on_commit_callbacks
):
    client = admin_client(small)
    archive = download(client, start(client, django_capture_on_commit_callbacks))
    rows = {row["學號"]: row for row in csv_rows(archive, "students.csv")}
    assert set(rows) == set(Student.objects.filter(school=small.school).values_list(
        "student_number", flat=True
    ))  # fmt: skip
    first = Student.objects.get(pk=small.students[0].pk)
    row = rows[first.student_number]
    assert re.fullmatch(r"A1\d{8}", row["身分證號"]) and row["身分證號"] == first.national_id
    assert row["姓名"] == first.name and row["出生日期"] == first.birth_date.isoformat()
    assert row["班級"] == "101" and row["座號"] == "1" and row["性別"] == first.gender
    assert row["學年度"] == str(small.year.roc_year) and row["帳號已連結"] == "0"
    assert rows[small.no_id.student_number]["身分證號"] == ""


def test_the_rosters_are_central_workbooks_and_refused_rows_are_listed(
    small, django_capture_on_commit_callbacks
):
    client = admin_client(small)
    archive = download(client, start(client, django_capture_on_commit_callbacks))
    code, year = small.school.code, small.year.roc_year
    books = sorted(n for n in archive.namelist() if n.startswith(f"rosters/{year}/"))
    pattern = rf"rosters/{year}/{code}_{year}_1_(1|2|24)_\d{{8}}_\d\d_\d\d_\d\d\.xlsx"
    assert len(books) == 3 and all(re.fullmatch(pattern, name) for name in books)
    by_roster = {re.search(rf"_{year}_1_(\d+)_", name).group(1): name for name in books}
    first = Student.objects.get(pk=small.students[0].pk)
    key = (first.national_id, to_roc_date(first.birth_date))

    students = workbook(archive, by_roster["1"])
    assert students.sheetnames[0] == "封面"
    assert rows_of(students["封面"]) == [
        ("學校代碼", "學年度", "學期", "名冊別"),
        (code, year, 1, 1),
    ]
    lines = rows_of(students["學生資料"])
    assert lines[0][:2] == ("身分證號", "出生日期")
    assert [line[:2] for line in lines[1:]] == [
        (s.national_id, to_roc_date(s.birth_date))
        for s in Student.objects.filter(pk__in=[s.pk for s in small.students]).order_by(
            "seat_number"
        )
    ]  # the student without a national ID is not in it

    grades = workbook(archive, by_roster["2"])
    assert rows_of(grades["封面"])[1] == (code, year, 1, 2)
    grade_line = next(line for line in rows_of(grades["學期成績"]) if line[:2] == key)
    assert grade_line[2] == small.course.code and grade_line[6] == 88

    cadres = workbook(archive, by_roster["24"])
    assert rows_of(cadres["封面"])[1] == (code, year, 1, 24)
    assert rows_of(cadres["幹部經歷紀錄"])[1] == (
        *key,
        "班級",
        to_roc_date(small.term.starts_on),
        to_roc_date(small.term.ends_on),
        "班長",
        "2",
    )

    problems = csv_rows(archive, "rosters/problems.csv")
    missing_id = [p for p in problems if p["student_number"] == small.no_id.student_number]
    assert {(p["roster"], p["column"], p["message"], p["kind"]) for p in missing_id} == {
        ("1", "身分證號", "The national ID is missing.", "problem")
    }


def test_the_continuing_division_has_its_own_folder(small, django_capture_on_commit_callbacks):
    small.school.has_continuing_division = True
    small.school.save()
    evening = RosterClass(small.school, division=Division.CONTINUING, name="501")
    student = evening.student(gender=Gender.MALE)
    client = admin_client(small)
    archive = download(client, start(client, django_capture_on_commit_callbacks))
    year = small.year.roc_year
    (name,) = [n for n in archive.namelist() if n.startswith(f"rosters/{year}/continuing/")]
    assert re.search(rf"_{year}_1_1_", name)
    lines = rows_of(workbook(archive, name)["學生資料"])
    assert [line[0] for line in lines[1:]] == [student.national_id]
    day = [n for n in archive.namelist() if re.fullmatch(rf"rosters/{year}/[^/]+_1_1_[^/]+", n)]
    assert len(day) == 1


def test_built_roster_files_are_copied_as_stored(small, django_capture_on_commit_callbacks):
    package = small.package(b"PK the workbook as built")
    client = admin_client(small)
    archive = download(client, start(client, django_capture_on_commit_callbacks))
    path = f"rosters/submitted/{package.file_name}"
    assert archive.read(path) == b"PK the workbook as built"
    (line,) = csv_rows(archive, "rosters/submitted/index.csv")
    assert line["path"] == path and line["status"] == "ok"
    assert line["package"] == str(package.pk) and line["roster"] == "1"
    assert line["sha256"] == package.workbook_sha256 and line["state"] == "built"


def test_a_missing_file_is_listed_and_a_changed_one_included(
    small, django_capture_on_commit_callbacks
):
    gone, altered = small.outcomes[0].document, small.performances[1].document
    default_storage.delete(gone.storage_path)
    default_storage.delete(altered.storage_path)
    default_storage.save(altered.storage_path, ContentFile(b"%PDF someone changed it"))
    client = admin_client(small)
    job = start(client, django_capture_on_commit_callbacks)
    assert job.status == JobStatus.SUCCEEDED
    assert (job.result["missing"], job.result["changed"], job.result["files"]) == (1, 1, 4)
    archive = download(client, job)
    by_sha = {line["sha256"]: line for line in csv_rows(archive, "manifest.csv")}
    assert by_sha[gone.sha256]["status"] == "missing" and by_sha[gone.sha256]["path"] == ""
    assert not any(f"course_outcome-{small.outcomes[0].pk}-" in n for n in archive.namelist())
    changed = by_sha[altered.sha256]
    assert changed["status"] == "changed"
    assert archive.read(changed["path"]) == b"%PDF someone changed it"


# --- one at a time, kept two days, audited ---------------------------------------------------


def test_a_second_start_while_one_runs_gives_the_same_job(small):
    client = admin_client(small)
    first = client.post(reverse("schoolexport:index"))  # on_commit not run: stays queued
    second = client.post(reverse("schoolexport:index"))
    assert first["Location"] == second["Location"]
    assert Job.objects.filter(kind=school_export.SCHOOL_EXPORT_JOB).count() == 1
    Job.objects.update(status=JobStatus.RUNNING)
    assert client.post(reverse("schoolexport:index"))["Location"] == first["Location"]


def test_start_and_download_are_audited(small, django_capture_on_commit_callbacks):
    client = admin_client(small)
    job = start(client, django_capture_on_commit_callbacks)
    download(client, job)
    download(client, job)
    audit = AuditLog.objects.filter(school=small.school, action__startswith="school_export.")
    assert sorted(audit.values_list("action", "actor", "target_id")) == [
        ("school_export.download", small.admin.user_id, str(job.pk)),
        ("school_export.download", small.admin.user_id, str(job.pk)),
        ("school_export.start", small.admin.user_id, str(job.pk)),
    ]


def test_the_zip_is_deleted_after_two_days(small, django_capture_on_commit_callbacks):
    client = admin_client(small)
    job = start(client, django_capture_on_commit_callbacks)
    name = job.result_file.name
    assert jobs.job_files_purge(now=timezone.now() + dt.timedelta(hours=47)) == 0
    assert jobs.job_files_purge(now=timezone.now() + dt.timedelta(hours=49)) == 1
    assert not default_storage.exists(name)
    assert client.get(reverse("schoolexport:download", args=[job.pk])).status_code == 404
    page = client.get(reverse("schoolexport:detail", args=[job.pk])).content.decode()
    assert "has been deleted" in page


# --- who may ---------------------------------------------------------------------------------


def test_only_the_schools_administrators_reach_an_export(
    small, other_school, make_member, django_capture_on_commit_callbacks
):
    job = start(admin_client(small), django_capture_on_commit_callbacks)
    detail = reverse("schoolexport:detail", args=[job.pk])
    get = reverse("schoolexport:download", args=[job.pk])
    another_admin = client_for(make_member(small.school, Role.SCHOOL_ADMIN))
    assert another_admin.get(detail).status_code == 200
    response = another_admin.get(get)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"PK")
    for outsider in (
        client_for(make_member(small.school, Role.REGISTRY)),
        client_for(make_member(other_school, Role.SCHOOL_ADMIN)),
    ):
        assert outsider.get(detail).status_code == 404
        assert outsider.get(get).status_code == 404
    student = client_for(make_member(small.school, Role.STUDENT))
    assert student.get(reverse("schoolexport:index")).status_code == 403
    assert student.post(reverse("schoolexport:index")).status_code == 403
    assert student.get(get).status_code == 404
    assert Client().get(get).status_code == 302
    assert AuditLog.objects.filter(action="school_export.download").count() == 1


# --- the pages -------------------------------------------------------------------------------


def test_the_page_in_english_and_chinese(small, django_capture_on_commit_callbacks):
    client = admin_client(small)
    job = start(client, django_capture_on_commit_callbacks)
    page = client.get(reverse("schoolexport:index")).content.decode()
    assert "Export the school&#x27;s data" in page
    assert "national IDs in full (decrypted)" in page
    assert reverse("schoolexport:download", args=[job.pk]) in page
    assert reverse("schoolexport:index") in client.get(reverse("home")).content.decode()
    detail = client.get(reverse("schoolexport:detail", args=[job.pk])).content.decode()
    assert job.result["file_name"] in detail
    # Traditional Chinese by default (this page's own strings follow once the catalogue
    # has them): the page, its navigation and the link to it.
    page = client_for(small.admin).get(reverse("schoolexport:index")).content.decode()
    assert '<html lang="zh-Hant-TW">' in page and "稽核紀錄" in page
    assert f'href="{reverse("schoolexport:index")}" aria-current="page"' in page


def test_the_link_is_for_the_school_administrator_only(small, make_member):
    registry = english(client_for(make_member(small.school, Role.REGISTRY)))
    assert reverse("schoolexport:index") not in registry.get(reverse("home")).content.decode()


def test_the_list_page_stays_flat(small, django_assert_max_num_queries):
    client = admin_client(small)
    for _ in range(8):
        Job.objects.create(
            school=small.school, kind=school_export.SCHOOL_EXPORT_JOB,
            params={"keep_hours": 48}, created_by=small.admin.user, status=JobStatus.FAILED,
        )  # fmt: skip
    with django_assert_max_num_queries(12):
        assert client.get(reverse("schoolexport:index")).status_code == 200


# --- queries do not grow with the school -----------------------------------------------------


def _queries_of_a_build(school, make_member, students) -> int:
    world = ExportSchool(school, make_member, students=students)
    world.package()
    job = Job.objects.create(
        school=school, kind=school_export.SCHOOL_EXPORT_JOB, params={"keep_hours": 48}
    )
    steps: list[tuple[int, int]] = []
    with CaptureQueriesContext(connection) as queries:
        result = school_export.school_export_build(
            job, lambda done, total: steps.append((done, total))
        )
    assert result["students"] == students + 1 and result["files"] == 2 * students + 1
    # Progress: a step per roster, per built file's package, per file, and two more.
    total = result["rosters"] + 1 + result["files"] + 2
    assert steps == [(done, total) for done in range(1, total + 1)]
    return len(queries)


def test_the_build_queries_do_not_grow_with_students(
    school, other_school, storage_dir, make_member
):
    few = _queries_of_a_build(school, make_member, 3)
    many = _queries_of_a_build(other_school, make_member, 12)
    assert few == many
    assert many <= 40


def test_files_are_read_in_batches(small, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr(school_export, "FILE_BATCH", 2)
    client = admin_client(small)
    archive = download(client, start(client, django_capture_on_commit_callbacks))
    manifest = csv_rows(archive, "manifest.csv")
    assert sorted(int(line["size"]) for line in manifest) == sorted(
        StoredFile.objects.filter(school=small.school).values_list("size", flat=True)
    )
    assert {line["item_kind"] for line in manifest} == {
        "course_outcome", "diverse_performance", "other"
    }  # fmt: skip
    assert all(line["status"] == "ok" for line in manifest)
