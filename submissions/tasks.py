"""The nightly sweep of stored files: nothing kept that nobody uses, nothing lost unnoticed.

1. Rows that nothing points to (no outcome, no performance, no other model) for a day are
   deleted with their files: left behind by a flow that stopped between its steps.
2. Objects under ``files/`` that no row names and that are older than an hour are deleted.
   An upload stores its file a moment before its row is committed, so a young file may
   belong to an upload in flight and is never touched.
3. Every row's file must be there (the walk of step 2 lists them all; a path it did not
   list is asked for again), and files are read back and hashed on a rolling basis: those
   never verified and those last verified more than a week ago, so each file is re-read
   weekly and a night's reading is about a seventh of the storage, not all of it. A missing
   file or one whose SHA-256 differs from the one taken at upload is reported (a warning
   each, and one audit entry per school) and marked on its row (``fault``, cleared when the
   file reads back whole), so that a storage fault is found within days, not when the
   portfolio is submitted, and such a file cannot be selected for the central database.
   The student of a certified outcome whose file it is, and the registry, are told
   (``submissions.notices.files_lost``).

Works on any storage through the storage API (FileSystemStorage, S3Storage): the walk uses
``listdir``, ages ``get_modified_time``; files are hashed in blocks, never read whole.
"""

import dataclasses
import datetime as dt
import hashlib
import logging
import posixpath
from collections import defaultdict
from collections.abc import Iterator

from celery import shared_task
from django.core.files.storage import Storage, default_storage
from django.db.models import F, ForeignObjectRel, ProtectedError, Q, RestrictedError
from django.utils import timezone

from portfolio.audit import audit_write
from portfolio.models import School
from submissions.models import FileFault, StoredFile
from submissions.services.stored_files import read_chunks

log = logging.getLogger(__name__)

FILES_ROOT = "files"
ORPHAN_MIN_AGE = dt.timedelta(hours=1)
UNREFERENCED_MIN_AGE = dt.timedelta(days=1)
VERIFY_EVERY = dt.timedelta(days=7)


@dataclasses.dataclass
class _SchoolFindings:
    orphans_deleted: list[str] = dataclasses.field(default_factory=list)
    rows_deleted: list[int] = dataclasses.field(default_factory=list)
    missing: list[int] = dataclasses.field(default_factory=list)
    mismatched: list[int] = dataclasses.field(default_factory=list)

    def __bool__(self) -> bool:
        return any(dataclasses.astuple(self))


@shared_task(time_limit=300, soft_time_limit=270)
def lock_selections() -> int:
    """Beat runs this every five minutes: selections whose window has closed become final
    (``submissions.services.selection.selections_lock``)."""
    from submissions.services.selection import selections_lock

    return selections_lock(timezone.now())


@shared_task(time_limit=120, soft_time_limit=100)
def send_package(package_id: int) -> str:
    """Send one submitted roster package over HTTP (queued when it is submitted); a failure
    leaves it for ``send_roster_packages`` to try again."""
    from submissions.services.rosters import package_send
    from submissions.transports.base import TransportError

    try:
        return package_send(package_id)
    except TransportError:
        log.warning("roster package %s could not be sent; retried by the periodic task", package_id)
        return ""


@shared_task(time_limit=600, soft_time_limit=570)
def send_roster_packages() -> int:
    """Beat runs this every two minutes: packages submitted over HTTP are sent if they were
    not yet, and those sent are asked for their answer."""
    from submissions.services.rosters import package_poll, package_send, sent_packages
    from submissions.transports.base import TransportError

    handled = 0
    for package in sent_packages().only("pk", "reference"):
        try:
            if package.reference:
                package_poll(package.pk)
            else:
                package_send(package.pk)
        except TransportError as error:
            log.warning("roster package %s: %s", package.pk, error)
            continue
        handled += 1
    return handled


@shared_task(time_limit=3600, soft_time_limit=3500)
def sweep_stored_files() -> dict:
    """Beat runs this daily (03:30 Asia/Taipei)."""
    return sweep()


def sweep(
    now: dt.datetime | None = None,
    *,
    orphan_min_age: dt.timedelta = ORPHAN_MIN_AGE,
    unreferenced_min_age: dt.timedelta = UNREFERENCED_MIN_AGE,
    storage: Storage | None = None,
) -> dict:
    """Run the three steps; returns what was done and found, by stored-file id."""
    now = now or timezone.now()
    storage = storage or default_storage
    findings: dict[int, _SchoolFindings] = defaultdict(_SchoolFindings)
    delete_unreferenced_rows(storage, now - unreferenced_min_age, findings)
    present = delete_orphan_objects(storage, now - orphan_min_age, findings)
    checked = check_rows(storage, present, findings)
    verified = verify_checksums(storage, now, findings)
    _audit(findings)
    from submissions.notices import files_lost

    files_lost((pk for found in findings.values() for pk in found.missing + found.mismatched), now)
    return {
        "orphans_deleted": sum(len(f.orphans_deleted) for f in findings.values()),
        "rows_deleted": sum(len(f.rows_deleted) for f in findings.values()),
        "missing": sorted(i for f in findings.values() for i in f.missing),
        "mismatched": sorted(i for f in findings.values() for i in f.mismatched),
        "checked": checked,
        "verified": verified,
    }


# --- 1. rows nothing points to ---------------------------------------------------------------


def _referenced_q() -> Q:
    """Rows that some model points to, found from the models themselves, so a model that
    gains a file field later protects its files without a change here."""
    q = Q()
    for rel in StoredFile._meta.get_fields(include_hidden=True):
        if isinstance(rel, ForeignObjectRel):
            model = rel.related_model
            assert not isinstance(model, str), "models are loaded when the sweep runs"
            pointing = model._default_manager.filter(**{f"{rel.field.name}__isnull": False}).values(
                rel.field.name
            )
            q |= Q(pk__in=pointing)
    return q


def delete_unreferenced_rows(
    storage: Storage, created_before: dt.datetime, findings: dict[int, _SchoolFindings]
) -> None:
    candidates = StoredFile.objects.filter(created_at__lt=created_before).exclude(_referenced_q())
    for stored in candidates.select_related("school"):
        pk, path = stored.pk, stored.storage_path
        try:
            stored.delete()
        except (ProtectedError, RestrictedError):  # pointed to since the query: keep it
            continue
        storage.delete(path)  # a file already gone is no error
        log.info("deleted stored file %s (%s): unused for a day", pk, path)
        findings[stored.school_id].rows_deleted.append(pk)


# --- 2. objects no row names -----------------------------------------------------------------


def walk(storage: Storage, top: str) -> Iterator[str]:
    """Every file under ``top`` (a storage path), through ``listdir``."""
    try:
        directories, files = storage.listdir(top)
    except FileNotFoundError:
        return
    for name in files:
        yield posixpath.join(top, name)
    for name in directories:
        yield from walk(storage, posixpath.join(top, name))


def delete_orphan_objects(
    storage: Storage, modified_before: dt.datetime, findings: dict[int, _SchoolFindings]
) -> set[str]:
    """Delete old objects no row names; returns the paths of those a row names (present)."""
    rows = StoredFile.objects.select_related("school").only("storage_key", "school__code")
    named = {row.storage_path for row in rows.iterator(chunk_size=2000)}
    schools = dict(School.objects.values_list("code", "pk"))
    present: set[str] = set()
    for path in walk(storage, FILES_ROOT):
        if path in named:
            present.add(path)
            continue
        try:
            modified = storage.get_modified_time(path)
        except FileNotFoundError:  # deleted meanwhile
            continue
        if modified >= modified_before:
            continue  # perhaps an upload whose row is about to be committed
        storage.delete(path)  # a file already gone is no error
        log.info("deleted %s: no stored-file row names it", path)
        findings[_school_of(path, schools)].orphans_deleted.append(path)
    return present


def _school_of(path: str, schools: dict[str, int]) -> int:
    """The school whose folder holds ``path`` (files/<code>/...), 0 when none does."""
    parts = path.split("/")
    return schools.get(parts[1], 0) if len(parts) > 2 else 0


# --- 3. rows whose file is gone or changed ---------------------------------------------------


def _sha256(storage: Storage, path: str) -> str:
    digest = hashlib.sha256()
    for chunk in read_chunks(path, storage):
        digest.update(chunk)
    return digest.hexdigest()


def _report_missing(stored: StoredFile, findings: dict[int, _SchoolFindings]) -> None:
    if not StoredFile.objects.filter(pk=stored.pk).exists():
        return  # deleted with its file since the rows were read
    log.warning("stored file %s: its file %s is missing", stored.pk, stored.storage_path)
    StoredFile.objects.filter(pk=stored.pk).update(fault=FileFault.MISSING)
    findings[stored.school_id].missing.append(stored.pk)


def check_rows(storage: Storage, present: set[str], findings: dict[int, _SchoolFindings]) -> int:
    """Every row's file is there: listed by the walk, or (written since) found on asking."""
    checked = 0
    rows = StoredFile.objects.select_related("school").order_by("pk")
    for stored in rows.iterator(chunk_size=2000):
        checked += 1
        if stored.storage_path not in present and not storage.exists(stored.storage_path):
            _report_missing(stored, findings)
    return checked


def verify_checksums(
    storage: Storage, now: dt.datetime, findings: dict[int, _SchoolFindings]
) -> int:
    """Read back and hash the files not verified within ``VERIFY_EVERY``; the number read."""
    due = (
        StoredFile.objects.filter(
            Q(verified_at__isnull=True) | Q(verified_at__lt=now - VERIFY_EVERY)
        )
        .select_related("school")
        .order_by(F("verified_at").asc(nulls_first=True), "pk")
    )
    already_missing = {pk for found in findings.values() for pk in found.missing}
    verified = 0
    matched: list[int] = []
    for stored in due.iterator(chunk_size=500):
        if stored.pk in already_missing:
            continue
        try:
            digest = _sha256(storage, stored.storage_path)
        except FileNotFoundError:
            _report_missing(stored, findings)
            continue
        verified += 1
        if digest == stored.sha256:
            matched.append(stored.pk)
        else:
            log.warning(
                "stored file %s: %s no longer matches its checksum", stored.pk, stored.storage_path
            )
            StoredFile.objects.filter(pk=stored.pk).update(fault=FileFault.MISMATCH)
            findings[stored.school_id].mismatched.append(stored.pk)
        if len(matched) >= 500:
            StoredFile.objects.filter(pk__in=matched).update(verified_at=now, fault="")
            matched = []
    StoredFile.objects.filter(pk__in=matched).update(verified_at=now, fault="")
    return verified


def _audit(findings: dict[int, _SchoolFindings]) -> None:
    schools = School.objects.in_bulk([pk for pk, found in findings.items() if pk and found])
    for pk, school in schools.items():
        found = findings[pk]
        audit_write(
            school=school,
            by=None,
            action="files.sweep",
            changes={
                "orphans_deleted": found.orphans_deleted,
                "rows_deleted": found.rows_deleted,
                "missing": found.missing,
                "mismatched": found.mismatched,
            },
        )


@shared_task(time_limit=600, soft_time_limit=570)
def deem_receipt_answers() -> int:
    """Beat runs this every ten minutes: once a receipt-confirmation window has closed, the
    students of its released receipts who neither confirmed nor disputed are deemed to have
    confirmed (once each, however often this runs)."""
    from submissions.services.receipts import receipts_deem

    return receipts_deem()


@shared_task(
    autoretry_for=(OSError,),
    retry_backoff=60,
    max_retries=5,
    time_limit=120,
    soft_time_limit=100,
)
def send_receipt_reminder(notice_id: int) -> bool:
    """E-mail one receipt reminder; a mail server that fails is tried again (5 times, the
    wait doubling from a minute), and the failure is then in the worker's log."""
    from submissions.services.receipts import reminder_send

    return reminder_send(notice_id)
