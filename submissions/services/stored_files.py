"""Checked files into storage and rows, together or not at all (shared by every item kind).

The checked bytes are stored first, then the rows are created in the caller's transaction;
on any failure the caller deletes what was stored (`delete_paths`), so a failure leaves
neither a file nor a row. Files that a change makes unused are deleted after commit
(`delete_stored_after_commit`).
"""

import contextlib
import datetime as dt
import hashlib
import itertools
import logging
import zipfile
from collections.abc import Iterator

from django.core.files.storage import Storage, default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from portfolio.models import School, SchoolPolicy
from records.models import Student
from submissions.files import CHUNK_SIZE, CheckedFile, FileRefused, check_upload, mb_to_bytes
from submissions.models import FileFault, StoredFile

log = logging.getLogger(__name__)

FILE_FIELDS = ("document", "media")


def check_files(
    *,
    policy: SchoolPolicy,
    document: UploadedFile | None,
    media: UploadedFile | None,
    problems: dict[str, list[str]],
) -> dict[str, CheckedFile]:
    """Check the given files; refusals go into ``problems`` under the file's field."""
    checked: dict[str, CheckedFile] = {}
    limits = {
        "document": (policy.document_types, policy.document_max_mb),
        "media": (policy.media_types, policy.media_max_mb),
    }
    for field, upload in (("document", document), ("media", media)):
        if upload is None:
            continue
        types, max_mb = limits[field]
        try:
            checked[field] = check_upload(
                upload,
                original_name=upload.name or "",
                kind=field,  # type: ignore[arg-type]
                allowed_types=types,
                max_bytes=mb_to_bytes(max_mb),
            )
        except FileRefused as refused:
            problems[field] = [refused.message()]
    return checked


def store(school: School, checked: CheckedFile) -> str:
    """Save the checked bytes; returns the storage path actually used."""
    path = StoredFile.path_for(school, checked.storage_key)
    saved = default_storage.save(path, checked.django_file())
    if saved != path:  # never expected: keys are random; keep the row and file in step
        default_storage.delete(saved)
        raise RuntimeError(f"storage saved {path!r} as {saved!r}")
    return saved


def store_all(school: School, checked: dict[str, CheckedFile], stored_paths: list[str]) -> None:
    """Store every checked file, appending each path as soon as it is stored (for cleanup)."""
    for item in checked.values():
        stored_paths.append(store(school, item))


def delete_paths(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except Exception:  # cleanup must not hide the original error
            log.exception("could not delete stored file %s", path)


def read_chunks(path: str, storage: Storage | None = None) -> Iterator[bytes]:
    """The bytes of a stored file in blocks, never whole; FileNotFoundError when it is gone.
    On S3 the object's body is streamed (S3Storage's file object would first copy the whole
    object into memory)."""
    from botocore.exceptions import ClientError
    from storages.backends.s3 import S3Storage

    storage = storage or default_storage
    if isinstance(storage, S3Storage):
        try:
            body = storage.bucket.Object(storage._normalize_name(path)).get()["Body"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(path) from None
            raise
        try:
            yield from body.iter_chunks(CHUNK_SIZE)
        finally:
            body.close()
        return
    with storage.open(path, "rb") as file:
        while chunk := file.read(CHUNK_SIZE):
            yield chunk


def stored_file_row(student: Student, checked: CheckedFile) -> StoredFile:
    return StoredFile.objects.create(
        school_id=student.school_id,
        student=student,
        storage_key=checked.storage_key,
        display_name=checked.display_name,
        extension=checked.extension,
        mime=checked.mime,
        size=checked.size,
        sha256=checked.sha256,
    )


def close_all(checked: dict[str, CheckedFile]) -> None:
    for item in checked.values():
        with contextlib.suppress(Exception):
            item.close()


def file_audit(checked: dict[str, CheckedFile]) -> dict[str, dict[str, object]]:
    return {
        field: {"name": item.display_name, "size": item.size, "sha256": item.sha256}
        for field, item in checked.items()
    }


def delete_stored(ids: list[int], paths: list[str]) -> None:
    """The rows first (nothing points to them any more), then the files."""
    StoredFile.objects.filter(pk__in=ids).delete()
    delete_paths(paths)


def delete_stored_after_commit(files: list[StoredFile]) -> None:
    """Once the current transaction commits, delete these rows and their files."""
    ids = [f.pk for f in files]
    paths = [f.storage_path for f in files]
    if ids:
        transaction.on_commit(lambda: delete_stored(ids, paths))


def zip_time(moment: dt.datetime) -> tuple[int, int, int, int, int, int]:
    """A zip entry's time: local, and no earlier than the format allows (1980)."""
    local = timezone.localtime(moment)
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def copy_into_zip(archive: zipfile.ZipFile, stored: StoredFile, path: str, school: School) -> str:
    """Copy a stored file of ``school`` into ``archive`` at ``path`` in blocks (stored, not
    compressed), checking it is still the uploaded one: "" when whole, else what is wrong
    (``FileFault.MISSING``: nothing written; ``FileFault.MISMATCH``: written, but changed)."""
    return copy_path_into_zip(
        archive,
        StoredFile.path_for(school, stored.storage_key),
        path,
        sha256=stored.sha256,
        when=stored.created_at,
        size=stored.size,
    )


def copy_path_into_zip(
    archive: zipfile.ZipFile,
    storage_path: str,
    path: str,
    *,
    sha256: str,
    when: dt.datetime,
    size: int | None = None,
) -> str:
    """A file of the default storage into ``archive`` at ``path`` in blocks (stored as it
    is), its sha256 compared with ``sha256`` as it goes (none given: not compared): "", or
    ``FileFault.MISSING`` (nothing written) or ``FileFault.MISMATCH`` (written, changed)."""
    chunks = read_chunks(storage_path)
    try:
        first = next(chunks, b"")
    except FileNotFoundError:
        return FileFault.MISSING
    info = zipfile.ZipInfo(path, date_time=zip_time(when))
    info.compress_type = zipfile.ZIP_STORED
    if size is not None:
        info.file_size = size
    digest = hashlib.sha256()
    with archive.open(info, "w", force_zip64=size is None or size > 2**31) as target:
        for chunk in itertools.chain([first], chunks):
            digest.update(chunk)
            target.write(chunk)
    return "" if not sha256 or digest.hexdigest() == sha256 else FileFault.MISMATCH
