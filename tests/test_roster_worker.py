"""Roster builds on a real Celery worker (PostgreSQL and Redis, as .ci/run runs them): a worker
killed in the middle of a build leaves no package marked done, and the next build completes
the roster; two starts at once give one build."""

import datetime as dt
import functools
import os
import signal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.models import Role
from portfolio.celery import app
from portfolio.models import JobStatus, Term
from records.models import Course, CourseEnrolment, SchoolClass, Student
from submissions.models import PackageState, RosterPackage
from submissions.services import rosters
from submissions.services.packages import STALE_AFTER
from tests.builders.concurrency import at_once
from tests.builders.people import acting
from tests.builders.rosters import BIRTH, code, valid_id
from tests.builders.worker import REAL_WORKER_MARKS, real_worker, wait_for

STUDENTS, COURSES = 2000, 15


def _grades(school) -> Term:
    """STUDENTS students with COURSES graded courses each in the first term (bulk)."""
    term = Term.objects.filter(school=school).order_by("number").first()
    klass = SchoolClass.objects.create(
        school=school, school_year=term.school_year, name="101", grade=10
    )
    Student.objects.bulk_create(
        Student(
            school=school, student_number=f"S{n:05d}", name=f"生{n}", school_class=klass,
            seat_number=n % 60 + 1, national_id=valid_id(n), birth_date=BIRTH,
        )
        for n in range(STUDENTS)
    )  # fmt: skip
    courses = Course.objects.bulk_create(
        Course(school=school, term=term, code=code(school, n=n + 1), name=f"科目{n}", grade=10,
               credits=2)
        for n in range(COURSES)
    )  # fmt: skip
    CourseEnrolment.objects.bulk_create(
        (
            CourseEnrolment(school=school, student=s, course=c, score=80, passed=True)
            for s in Student.objects.filter(school=school)
            for c in courses
        ),
        batch_size=5000,
    )
    return term


@pytest.mark.usefixtures("transactional_db")
class TestOnARealWorker:
    pytestmark = REAL_WORKER_MARKS

    def test_a_worker_killed_mid_build_leaves_nothing_done_and_the_next_build_completes(
        self, school, make_member, storage_dir
    ):
        app.control.purge()
        term = _grades(school)
        by = acting(make_member(school, Role.REGISTRY))
        kind = rosters.KINDS_BY_KEY["grades"]
        env = {"PRIVATE_MEDIA_ROOT": str(storage_dir)}
        with real_worker("roster-kill", env) as process:
            stuck = rosters.package_start(
                acting=by, kind=kind, school_year=term.school_year, term=term
            )
            # Killed once the build has written part of its rows.
            wait_for(
                lambda: stuck.job.__class__.objects.get(pk=stuck.job_id).progress > 0,
                "progress",
                process,
            )
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        stuck.refresh_from_db()
        assert stuck.state == PackageState.BUILDING and not stuck.workbook
        assert stuck.job.status == JobStatus.RUNNING

        with real_worker("roster-again", env) as process:
            later = timezone.now() + STALE_AFTER + dt.timedelta(seconds=1)
            fresh = rosters.package_start(
                acting=by, kind=kind, school_year=term.school_year, term=term, now=later
            )
            wait_for(
                lambda: RosterPackage.objects.get(pk=fresh.pk).state != PackageState.BUILDING,
                "finished build",
                process,
            )
        fresh.refresh_from_db()
        stuck.refresh_from_db()
        assert fresh.state == PackageState.BUILT, fresh.findings
        assert fresh.row_count == STUDENTS * COURSES and fresh.workbook
        assert stuck.state == PackageState.INTERRUPTED and stuck.job.status == JobStatus.FAILED
        assert not list((storage_dir / "rosters" / school.code / str(stuck.pk)).glob("*"))


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writes: nothing runs at once"
)
@pytest.mark.django_db(transaction=True)
def test_two_starts_at_once_give_one_build(school, make_member):
    term = Term.objects.filter(school=school).order_by("number").first()
    by = acting(make_member(school, Role.REGISTRY))
    start = functools.partial(
        rosters.package_start,
        acting=by,
        kind=rosters.KINDS_BY_KEY["students"],
        school_year=term.school_year,
        term=term,
    )
    results = at_once(start, start, start)
    assert all(isinstance(r, RosterPackage) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert RosterPackage.objects.count() == 1
