"""The nightly sweep of stored files (submissions/tasks.py) on the file-system storage."""

import datetime as dt
import hashlib
import logging
import os
import time
import tracemalloc

import pytest
from celery.schedules import crontab
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from portfolio.celery import app
from portfolio.models import AuditLog
from submissions import tasks
from submissions.models import FileFault, Performance, PerformanceCategory, StoredFile
from submissions.tasks import sweep, sweep_stored_files
from tests.builders.files import make_mp3, make_pdf
from tests.builders.portfolio import Files

MB = 1024 * 1024
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def files(school, make_member):
    return Files(school, make_member)


def put(path: str, data: bytes = b"%PDF-1.4 left over", *, age: dt.timedelta) -> str:
    """A file in the default storage last modified ``age`` ago."""
    default_storage.save(path, ContentFile(data))
    stamp = time.time() - age.total_seconds()
    os.utime(default_storage.path(path), (stamp, stamp))
    return path


def made_ago(stored: StoredFile, age: dt.timedelta) -> StoredFile:
    StoredFile.objects.filter(pk=stored.pk).update(created_at=timezone.now() - age)
    return stored


def referenced(files: Files) -> StoredFile:
    stored = files.store(make_pdf())
    files.outcome(stored)
    return made_ago(stored, dt.timedelta(days=30))


# --- orphan objects --------------------------------------------------------------------------


def test_orphans_older_than_an_hour_go_young_ones_and_named_ones_stay(files, school):
    kept = referenced(files)
    old = put(f"files/{school.code}/old-orphan.pdf", age=2 * HOUR)
    deep = put(f"files/{school.code}/sub/dir/old.pdf", age=3 * HOUR)
    young = put(f"files/{school.code}/in-flight.pdf", age=dt.timedelta(minutes=50))
    outside = put("exports/job-1.xlsx", age=48 * HOUR)  # not the sweep's folder

    summary = sweep()

    assert summary["orphans_deleted"] == 2
    assert not default_storage.exists(old)
    assert not default_storage.exists(deep)
    assert default_storage.exists(young)
    assert default_storage.exists(kept.storage_path)
    assert default_storage.exists(outside)
    log = AuditLog.objects.get(action="files.sweep")
    assert log.school == school and log.actor is None
    assert sorted(log.changes["orphans_deleted"]) == sorted([old, deep])


def test_the_age_is_measured_from_the_given_time(files, school):
    young = put(f"files/{school.code}/in-flight.pdf", age=dt.timedelta(minutes=10))
    assert sweep()["orphans_deleted"] == 0
    assert sweep(now=timezone.now() + HOUR)["orphans_deleted"] == 1
    assert not default_storage.exists(young)


def test_no_files_folder_at_all_is_fine(db):
    assert sweep() == {
        "orphans_deleted": 0,
        "rows_deleted": 0,
        "missing": [],
        "mismatched": [],
        "checked": 0,
        "verified": 0,
    }
    assert not AuditLog.objects.filter(action="files.sweep").exists()


# --- rows nothing points to ------------------------------------------------------------------


def test_rows_unreferenced_for_a_day_go_with_their_files(files, school, current_roc_year):
    outcome_file = referenced(files)
    performance_file = made_ago(files.store(make_pdf(), name="證書.pdf"), dt.timedelta(days=9))
    Performance.objects.create(
        school=school,
        student=files.student,
        school_year=files.klass.school_year,
        category=PerformanceCategory.CERTIFICATE,
        name="英檢",
        document=performance_file,
    )
    stale = made_ago(files.store(make_pdf()), dt.timedelta(days=1, minutes=1))
    fresh = made_ago(files.store(make_pdf()), dt.timedelta(hours=23))

    summary = sweep()

    assert summary["rows_deleted"] == 1
    assert set(StoredFile.objects.values_list("pk", flat=True)) == {
        outcome_file.pk,
        performance_file.pk,
        fresh.pk,
    }
    assert not default_storage.exists(stale.storage_path)
    for kept in (outcome_file, performance_file, fresh):
        assert default_storage.exists(kept.storage_path)
    assert summary["checked"] == 3
    log = AuditLog.objects.get(action="files.sweep")
    assert log.changes["rows_deleted"] == [stale.pk]


# --- files missing or changed ----------------------------------------------------------------


def _change_a_byte(stored: StoredFile) -> None:
    """Same size, other bytes."""
    with open(default_storage.path(stored.storage_path), "r+b") as f:
        f.seek(20)
        f.write(b"X")


def test_missing_and_modified_files_are_reported(files, school, other_school, caplog):
    fine = referenced(files)
    missing = referenced(files)
    changed = referenced(files)
    default_storage.delete(missing.storage_path)
    _change_a_byte(changed)

    with caplog.at_level(logging.WARNING, logger="submissions.tasks"):
        summary = sweep()

    assert summary["missing"] == [missing.pk]
    assert summary["mismatched"] == [changed.pk]
    assert summary["checked"] == 3
    assert fine.pk not in summary["missing"] + summary["mismatched"]
    messages = [r.getMessage() for r in caplog.records]
    assert any(f"stored file {missing.pk}" in m and "missing" in m for m in messages)
    assert any(f"stored file {changed.pk}" in m and "checksum" in m for m in messages)
    log = AuditLog.objects.get(action="files.sweep")
    assert log.school == school
    assert log.changes["missing"] == [missing.pk]
    assert log.changes["mismatched"] == [changed.pk]
    assert not AuditLog.objects.filter(action="files.sweep", school=other_school).exists()
    # Reported, never deleted: the row is what someone must look into.
    assert StoredFile.objects.filter(pk__in=[missing.pk, changed.pk]).count() == 2


def test_a_fault_is_marked_on_the_row_and_cleared_when_the_file_reads_back_whole(files):
    missing = referenced(files)
    changed = referenced(files)
    with default_storage.open(changed.storage_path) as f:
        original = f.read()
    with default_storage.open(missing.storage_path) as f:
        data = f.read()
    default_storage.delete(missing.storage_path)
    _change_a_byte(changed)
    night = timezone.now()
    sweep(now=night)
    faults = dict(StoredFile.objects.values_list("pk", "fault"))
    assert faults == {missing.pk: FileFault.MISSING, changed.pk: FileFault.MISMATCH}

    # Restored from a backup: read back whole at the next reading, the mark goes.
    default_storage.save(missing.storage_path, ContentFile(data))
    default_storage.delete(changed.storage_path)
    default_storage.save(changed.storage_path, ContentFile(original))
    sweep(now=night + dt.timedelta(days=7, minutes=1))
    assert set(StoredFile.objects.values_list("fault", flat=True)) == {""}


def test_files_are_read_back_weekly_but_checked_for_nightly(files):
    first = referenced(files)
    second = referenced(files)
    night = timezone.now()
    assert sweep(now=night)["verified"] == 2
    assert set(StoredFile.objects.values_list("verified_at", flat=True)) == {night}

    _change_a_byte(first)
    default_storage.delete(second.storage_path)
    next_night = sweep(now=night + dt.timedelta(days=1))
    assert next_night["verified"] == 0  # verified yesterday: not read again yet
    assert next_night["missing"] == [second.pk]  # but a missing file is noticed at once
    assert next_night["mismatched"] == []

    a_week_on = sweep(now=night + dt.timedelta(days=7, minutes=1))
    assert a_week_on["mismatched"] == [first.pk]
    first.refresh_from_db()
    assert first.verified_at == night  # still reported every night until someone looks
    assert sweep(now=night + dt.timedelta(days=8))["mismatched"] == [first.pk]


def test_new_files_are_read_before_old_ones_are_read_again(files):
    old = referenced(files)
    night = timezone.now()
    sweep(now=night)
    new = referenced(files)
    assert sweep(now=night + dt.timedelta(days=1))["verified"] == 1
    new.refresh_from_db()
    old.refresh_from_db()
    assert new.verified_at == night + dt.timedelta(days=1) and old.verified_at == night


def test_a_school_without_problems_gets_no_audit_entry(files):
    referenced(files)
    assert sweep()["checked"] == 1
    assert not AuditLog.objects.filter(action="files.sweep").exists()


def test_a_10_mb_file_is_hashed_in_blocks(files):
    data = make_mp3(frames=10 * MB // 417)
    stored = files.store(data, name="long.mp3", mime="audio/mpeg")
    tracemalloc.start()
    try:
        digest = tasks._sha256(default_storage, stored.storage_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == hashlib.sha256(data).hexdigest()
    assert peak < 2 * MB, f"peak memory {peak} bytes while hashing a 10 MB file"


# --- the task and its schedule ---------------------------------------------------------------


def test_the_task_runs_the_sweep(files, school):
    put(f"files/{school.code}/old-orphan.pdf", age=2 * HOUR)
    result = sweep_stored_files.delay().get()
    assert result["orphans_deleted"] == 1


def test_beat_runs_it_daily_at_half_past_three_taipei_time():
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-stored-files"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] == crontab(hour=3, minute=30)
    assert settings.CELERY_TIMEZONE == "Asia/Taipei"
