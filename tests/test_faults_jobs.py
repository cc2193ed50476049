"""The Celery worker killed (SIGKILL) in the middle of a background job, on PostgreSQL with a
real broker and real worker processes.

Each job is caught at a known point of its work: the test holds a lock the job's next
statement needs and waits until the worker's database session is seen waiting on it, then
kills the worker. An import killed while writing is never half applied (its one transaction
dies with the worker's session); the job is not left "running": jobs_recover (the beat task)
sees its heartbeat stop and runs it again on the next worker, once; the zip export likewise.
"""

import datetime as dt

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import Role
from portfolio import jobs
from portfolio.celery import app
from portfolio.models import AuditLog, Job, JobStatus
from records.models import Student
from records.services import imports
from submissions import export
from tests.builders.imports import roster, run, student_row, xlsx_bytes
from tests.builders.people import acting
from tests.builders.portfolio import World
from tests.builders.worker import REAL_WORKER_MARKS, database_url, real_worker, wait_for

pytestmark = REAL_WORKER_MARKS

NEW_STUDENTS = 300


@pytest.fixture
def worker_env(storage_dir):
    # The worker's files are the test's: the import's input, the export's zip.
    app.control.purge()
    return {"PRIVATE_MEDIA_ROOT": str(storage_dir)}


class Blocker:
    """A session of the test's own holding a lock until released; sees who waits for it."""

    def __init__(self):
        self.connection = psycopg.connect(database_url(), autocommit=False)

    def lock(self, statement: str, *params) -> None:
        self.connection.execute(statement, params)

    def waiting_pids(self) -> list[int]:
        with psycopg.connect(database_url(), autocommit=True) as observer:
            rows = observer.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND pid <> %s",
                (self.connection.info.backend_pid,),
            ).fetchall()
        return [pid for (pid,) in rows]

    def alive(self, pid: int) -> bool:
        with psycopg.connect(database_url(), autocommit=True) as observer:
            return bool(
                observer.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
            )

    def release(self) -> None:
        if not self.connection.closed:
            self.connection.rollback()
            self.connection.close()

    def __enter__(self) -> "Blocker":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()  # also when the test fails, or the test database's teardown waits


def _kill_while_waiting(worker, blocker: Blocker, job: Job) -> None:
    """Wait for the worker's session to wait on the test's lock, SIGKILL the worker, let the
    lock go, and wait for the dead worker's session to end (it ends, and its transaction is
    rolled back, when it next speaks to its client)."""
    wait_for(lambda: blocker.waiting_pids(), "the job waiting on the test's lock", worker, 60)
    (pid,) = blocker.waiting_pids()
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING
    worker.kill()
    worker.wait(timeout=10)
    blocker.release()
    wait_for(lambda: not blocker.alive(pid), "the killed worker's session to end", seconds=30)


def _after_lost(job: Job) -> dt.datetime:
    """A moment at which the job's heartbeat is older than LOST_AFTER."""
    job.refresh_from_db()
    return job.heartbeat_at + jobs.LOST_AFTER + dt.timedelta(seconds=1)


def test_an_import_killed_while_writing_is_not_half_applied_and_runs_again(
    transactional_db, school, make_member, worker_env
):
    registry = make_member(school, Role.REGISTRY)
    by = acting(registry)
    run("students", xlsx_bytes(roster(1)), school, apply=True, by=by)
    first = Student.objects.get(school=school)
    # The file adds NEW_STUDENTS and renames the first: the import creates the new ones,
    # then waits for the first's row, locked by the test.
    rows = [roster(0)[0]] + [
        student_row(i, class_name=f"1{(i - 1) // 50 + 1:02d}", seat=(i - 1) % 50 + 1)
        for i in range(1, NEW_STUDENTS + 2)
    ]
    rows[1] = student_row(1, name="改過的名字")
    upload = SimpleUploadedFile("roster.xlsx", xlsx_bytes(rows))

    with real_worker("jobs-a", env=worker_env) as worker:
        preview = imports.import_start(kind="students", term=None, upload=upload, by=by)
        wait_for(lambda: Job.objects.get(pk=preview.pk).is_finished, "the preview", worker, 60)
        preview.refresh_from_db()
        assert preview.has_succeeded and preview.result["clean"], preview.result["errors"]
        with Blocker() as blocker:
            blocker.lock("SELECT 1 FROM records_student WHERE id = %s FOR UPDATE", first.pk)
            apply = imports.import_confirm(preview=preview, by=by)
            _kill_while_waiting(worker, blocker, apply)

    # Nothing of the file is there, and the job is still "running" with a stopped heartbeat.
    assert list(Student.objects.filter(school=school)) == [first]
    assert Student.objects.get(pk=first.pk).name == first.name
    apply.refresh_from_db()
    assert apply.status == JobStatus.RUNNING and apply.attempts == 1
    assert jobs.jobs_recover(now=apply.heartbeat_at + dt.timedelta(seconds=30)) == (0, 0)

    with real_worker("jobs-b", env=worker_env) as worker:
        assert jobs.jobs_recover(now=_after_lost(apply)) == (1, 0)
        wait_for(lambda: Job.objects.get(pk=apply.pk).is_finished, "the import", worker, 90)
    apply.refresh_from_db()
    assert apply.has_succeeded and apply.attempts == 2, apply.result
    assert Student.objects.filter(school=school).count() == NEW_STUDENTS + 1
    assert Student.objects.get(pk=first.pk).name == "改過的名字"
    assert AuditLog.objects.filter(action="import.students", target_id=str(apply.pk)).count() == 1


def test_an_export_killed_twice_fails_with_its_reason_and_is_never_left_running(
    transactional_db, school, make_member, worker_env
):
    world = World(school)
    member = make_member(school, Role.STUDENT)
    world.student.user = member.user
    world.student.save()
    world.upload()
    job = None
    for attempt, name in enumerate(("jobs-c", "jobs-d"), start=1):
        with real_worker(name, env=worker_env) as worker, Blocker() as blocker:
            # The export reads the student's outcomes: a table lock keeps it waiting there.
            blocker.lock("LOCK TABLE submissions_courseoutcome IN ACCESS EXCLUSIVE MODE")
            if job is None:
                job = export.export_start(student=world.student, by=acting(member))
            else:
                assert jobs.jobs_recover(now=_after_lost(job)) == (1, 0)
            _kill_while_waiting(worker, blocker, job)
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING and job.attempts == attempt
        assert not job.result_file

    # Killed in both of its runs: failed, saying why, not left running.
    assert jobs.jobs_recover(now=_after_lost(job)) == (0, 1)
    job.refresh_from_db()
    assert job.has_failed and job.message == jobs.WorkerLost.code and job.finished_at
    # The student may start another, which a worker that stays alive finishes.
    with real_worker("jobs-e", env=worker_env) as worker:
        again = export.export_start(student=world.student, by=acting(member))
        assert again.pk != job.pk
        wait_for(lambda: Job.objects.get(pk=again.pk).is_finished, "the export", worker, 60)
    again.refresh_from_db()
    assert again.has_succeeded and again.result_file
    assert timezone.now() > again.finished_at
