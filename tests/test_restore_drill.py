"""The restore drill's check (deploy/drill.py) finds what a restore lost or changed.

`make drill` (in CI, on PostgreSQL and an S3 server) backs up, wipes and restores; here the
same ``inventory`` and ``verify`` run on the test database and a storage folder, and the
"restored" state is damaged one way at a time: the check must fail, naming what is wrong.
"""

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.models import Role
from deploy import drill
from portfolio.models import Job
from tests.builders.files import make_pdf, make_png
from tests.builders.portfolio import Files


@pytest.fixture
def files(school, make_member):
    files = Files(school, make_member)
    files.student.national_id = "A123456789"
    files.student.save()
    files.pdf = files.store(make_pdf(), name="報告.pdf")
    files.png = files.store(make_png(), name="作品.png", mime="image/png")
    files.outcome(files.pdf)
    return files


@pytest.fixture
def manifest(files):
    return drill.inventory(usernames=[files.owner.user.username])


def test_an_untouched_state_passes_every_check(files, manifest):
    result = drill.verify(manifest)
    assert result.problems == []
    assert len(result.checked) == 6
    assert manifest["stored_files"][files.pdf.storage_path] == [files.pdf.sha256, files.pdf.size]
    assert manifest["titles"] == {files.owner.user.username: ["Lab report"]}
    assert manifest["national_ids"][0] == 1


def test_a_missing_object_fails(files, manifest):
    default_storage.delete(files.png.storage_path)
    problems = drill.verify(manifest).problems
    assert f"stored file {files.png.storage_path}: its row is there, its object is not" in problems


def test_an_altered_object_fails(files, manifest):
    default_storage.delete(files.pdf.storage_path)
    default_storage.save(files.pdf.storage_path, ContentFile(make_pdf(pages=2)))
    problems = drill.verify(manifest).problems
    assert (
        f"stored file {files.pdf.storage_path}: the object's sha256 or size is not its row's"
        in problems
    )


def test_an_object_without_a_row_fails(files, manifest):
    default_storage.save("files/stray.pdf", ContentFile(make_pdf()))
    assert "object files/stray.pdf has no row" in drill.verify(manifest).problems


def test_a_lost_row_fails(files, manifest):
    files.png.delete()
    problems = drill.verify(manifest).problems
    assert "table submissions_storedfile: 2 rows before, 1 now" in problems
    assert f"object {files.png.storage_path} has no row" in problems


def test_a_job_result_changed_or_lost_fails(files, school, make_member):
    member = make_member(school, Role.STUDENT)
    job = Job.objects.create(school=school, kind="portfolio_zip", created_by=member.user)
    job.result_file.save("portfolio.zip", ContentFile(b"zip"))
    manifest = drill.inventory()
    assert manifest["file_fields"] == [job.result_file.name]
    default_storage.delete(job.result_file.name)
    default_storage.save(job.result_file.name, ContentFile(b"other"))
    assert drill.verify(manifest).problems == [
        f"file field's object {job.result_file.name}: its sha256 differs from the one backed up"
    ]
    default_storage.delete(job.result_file.name)
    problems = drill.verify(manifest).problems
    assert f"a file field names {job.result_file.name}, which is not there" in problems


def test_national_ids_unreadable_with_another_key_fail(manifest, settings):
    from cryptography.fernet import Fernet

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    assert drill.verify(manifest).problems == [
        "the national IDs read now are not the ones backed up"
    ]
