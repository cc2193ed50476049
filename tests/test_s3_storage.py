"""Files on S3-compatible storage, against moto's S3 served on 127.0.0.1 (no other network).

The storage is configured as portfolio/settings.py does when S3_BUCKET is set: a private
bucket, signed query-string URLs, never overwriting a key.
"""

import datetime as dt
import hashlib
import urllib.request
import uuid
from urllib.parse import parse_qs, quote, urlsplit

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from moto.server import ThreadedMotoServer

from accounts.models import Role
from records.models import Student
from submissions import serving
from submissions.models import CourseOutcome, StoredFile
from submissions.services import outcomes as outcome_services
from submissions.tasks import sweep
from tests.builders.files import make_pdf
from tests.builders.people import client_for
from tests.builders.portfolio import World
from tests.builders.services import free_port

REGION = "us-east-1"
KEYS = {"aws_access_key_id": "test-key", "aws_secret_access_key": "test-secret"}


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


class Bucket:
    def __init__(self, endpoint: str):
        self.name = f"portfolio-{uuid.uuid4().hex[:12]}"
        self.client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, **KEYS)
        self.client.create_bucket(Bucket=self.name, ACL="private")

    def keys(self) -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name)
        return sorted(item["Key"] for item in listed.get("Contents", []))

    def read(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.name, Key=key)["Body"].read()

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.name, Key=key, Body=data)


@pytest.fixture
def bucket(s3_endpoint, settings) -> Bucket:
    """A fresh private bucket as the default storage, configured like production."""
    bucket = Bucket(s3_endpoint)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket.name,
                "endpoint_url": s3_endpoint,
                "region_name": REGION,
                "access_key": KEYS["aws_access_key_id"],
                "secret_key": KEYS["aws_secret_access_key"],
                "default_acl": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "file_overwrite": False,
                "signature_version": "s3v4",
            },
        },
    }
    return bucket


@pytest.fixture
def world(school, bucket):
    return World(school)


def upload(world, name="實驗報告.pdf"):
    return world.upload(document=SimpleUploadedFile(name, make_pdf(), content_type="x/y"))


def owner_client(world, make_member):
    member = make_member(world.school, Role.STUDENT)
    Student.objects.filter(pk=world.student.pk).update(user=member.user)
    return client_for(member)


def fetch(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (moto on localhost)
        return response.status, response.headers, response.read()  # headers: any case


# --- storing ---------------------------------------------------------------------------------


def test_the_storage_is_s3(bucket):
    assert serving.uses_signed_urls(default_storage)


def test_an_upload_stores_the_file_on_s3_and_the_row(world, bucket):
    outcome = upload(world)
    stored = outcome.document
    assert bucket.keys() == [stored.storage_path]
    assert bucket.read(stored.storage_path) == make_pdf()
    assert hashlib.sha256(make_pdf()).hexdigest() == stored.sha256
    assert StoredFile.objects.get() == stored


def test_a_failed_upload_leaves_no_object(world, bucket, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(outcome_services, "audit_write", broken_audit)
    with pytest.raises(RuntimeError):
        upload(world)
    assert bucket.keys() == []
    assert StoredFile.objects.count() == 0
    assert CourseOutcome.objects.count() == 0


# --- serving through signed URLs -------------------------------------------------------------


def test_download_redirects_to_a_short_signed_url_answering_as_attachment(
    world, bucket, make_member
):
    stored = upload(world).document
    client = owner_client(world, make_member)
    response = client.get(reverse("files:download", kwargs={"pk": stored.pk}))
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    url = response["Location"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["60"]
    assert "X-Amz-Signature" in query
    status, headers, data = fetch(url)
    assert status == 200
    assert data == make_pdf()
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == "attachment; filename*=utf-8''" + quote("實驗報告.pdf")


def test_links_are_signed_for_the_address_browsers_reach(
    world, bucket, make_member, s3_endpoint, settings
):
    """The app reaches the store at one address and browsers at another (docker-compose:
    http://s3:9000 inside, the public name outside): links are signed for the public one."""
    public = s3_endpoint.replace("127.0.0.1", "localhost")
    settings.S3_PUBLIC_ENDPOINT_URL = public
    stored = upload(world).document
    response = owner_client(world, make_member).get(
        reverse("files:download", kwargs={"pk": stored.pk})
    )
    url = response["Location"]
    assert url.startswith(f"{public}/{bucket.name}/files/")
    assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == ["60"]
    status, headers, data = fetch(url)
    assert status == 200 and data == make_pdf()
    assert headers["Content-Disposition"].startswith("attachment;")


def test_inline_redirects_to_a_url_answering_inline(world, bucket, make_member):
    stored = upload(world, name="report.pdf").document
    response = owner_client(world, make_member).get(
        reverse("files:inline", kwargs={"pk": stored.pk})
    )
    assert response.status_code == 302
    _, headers, data = fetch(response["Location"])
    assert data == make_pdf()
    assert headers["Content-Disposition"] == 'inline; filename="report.pdf"'


def test_someone_else_gets_404_not_a_url(world, bucket, make_member):
    stored = upload(world).document
    stranger = client_for(make_member(world.school, Role.STUDENT))
    assert stranger.get(reverse("files:download", kwargs={"pk": stored.pk})).status_code == 404


# --- the sweep -------------------------------------------------------------------------------


def test_the_sweep_deletes_an_old_orphan_object_and_keeps_a_young_one(world, bucket):
    stored = upload(world).document
    orphan = f"files/{world.school.code}/orphan.pdf"
    bucket.put(orphan, b"left behind")

    assert sweep()["orphans_deleted"] == 0  # just written: perhaps an upload in flight
    assert orphan in bucket.keys()  # noqa: SIM118 (a list of keys, not a dict)

    summary = sweep(now=timezone.now() + dt.timedelta(hours=2))
    assert summary["orphans_deleted"] == 1
    assert bucket.keys() == [stored.storage_path]
    assert summary["checked"] == 1 and summary["mismatched"] == summary["missing"] == []


def test_the_sweep_reports_a_changed_and_a_missing_object(world, bucket):
    changed = upload(world).document
    missing = upload(world, name="second.pdf").document
    bucket.put(changed.storage_path, make_pdf() + b"% changed")
    bucket.client.delete_object(Bucket=bucket.name, Key=missing.storage_path)

    summary = sweep()

    assert summary["mismatched"] == [changed.pk]
    assert summary["missing"] == [missing.pk]
    assert summary["checked"] == 2
