"""The demo teacher's certification queue: dozens of outcomes awaiting from several students
and classes in an open window, a few decided in the last days that can be undone, one
concern waiting for the teacher's answer; whatever day the demo is loaded, and nothing added
by a second run."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import EmailState, Membership, Notice, Role
from certification import concerns
from certification.access import concerns_visible_to
from certification.models import Concern, ConcernMessage
from certification.services import (
    DECIDED_DAYS,
    Show,
    certification_window,
    outcome_undo,
    queue_items,
    queue_options,
    undo_refusal,
)
from portfolio.lib import roc
from portfolio.models import AuditLog, School, Window, WindowKind
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from submissions.services.rosters import freezing_package
from tests.builders.people import acting, client_for


def _teacher() -> Membership:
    school = School.objects.get(code="999001")
    return Membership.objects.select_related("user", "school").get(
        user__username="teacher", school=school, role=Role.TEACHER
    )


def _counts() -> dict[str, object]:
    teacher = acting(_teacher())
    now = timezone.now()
    return {
        "outcomes": sorted(CourseOutcome.objects.values_list("pk", "state", "updated_at")),
        "stored": StoredFile.objects.count(),
        "windows": Window.objects.count(),
        "concerns": sorted(Concern.objects.values_list("pk", "answered_at")),
        "messages": ConcernMessage.objects.count(),
        "audit": AuditLog.objects.count(),
        "awaiting": queue_items(teacher, now=now).count(),
        "decided": queue_items(teacher, now=now, show=Show.DECIDED).count(),
        "notices": sorted(Notice.objects.values_list("user__username", "key")),
    }


def test_the_demo_teacher_has_a_queue_to_try(db):
    call_command("seed_demo", verbosity=0)
    membership = _teacher()
    teacher = acting(membership)
    now = timezone.now()

    awaiting = queue_items(teacher, now=now)
    assert awaiting.count() >= 30
    assert awaiting.values("student").distinct().count() >= 20
    assert awaiting.values("student__school_class").distinct().count() >= 3
    assert awaiting.values("enrolment__course").distinct().count() >= 4
    options = queue_options(teacher, now=now)
    assert options.total_awaiting == awaiting.count()
    assert all(options.windows[course_id].is_open for course_id in options.awaiting)
    for outcome in awaiting:
        with default_storage.open(outcome.document.storage_path) as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == outcome.document.sha256

    decided = queue_items(teacher, now=now, show=Show.DECIDED).filter(certified_by=membership.user)
    assert decided.filter(state=OutcomeState.CERTIFIED).count() >= 3
    assert decided.filter(state=OutcomeState.REJECTED).count() >= 2
    recently = now - dt.timedelta(days=DECIDED_DAYS)
    for outcome in decided:
        assert recently <= outcome.certified_at <= now
        window = certification_window(outcome.enrolment.course, now)
        frozen = freezing_package(outcome) is not None
        assert undo_refusal(outcome, teacher, window, frozen) is None, outcome
    certified = decided.filter(state=OutcomeState.CERTIFIED).first()
    undone = outcome_undo(outcome=certified, by=teacher)
    assert undone.state == OutcomeState.SUBMITTED
    assert queue_items(teacher, now=timezone.now()).count() == awaiting.count() + 1

    concern = Concern.objects.get()
    assert concern.is_waiting
    assert concern.outcome.state == OutcomeState.REJECTED
    assert concern.outcome.certified_by == membership.user
    assert concern.outcome.rejection_reason
    assert [m.is_student for m in concern.messages.all()] == [True]
    assert concern.messages.get().author == concern.student.user
    assert list(concerns_visible_to(teacher)) == [concern]
    assert concerns.waiting_count_for(teacher) == 1

    client = client_for(membership)
    assert client.get(reverse("certification:queue")).status_code == 200
    decided_page = client.get(reverse("certification:queue"), {"show": Show.DECIDED})
    assert decided_page.status_code == 200
    assert client.get(reverse("certification:concern", args=[concern.pk])).status_code == 200


def test_the_demo_student_and_teacher_find_notices(db):
    call_command("seed_demo", verbosity=0)
    student = Notice.objects.filter(user__username="s001")
    assert {"homeroom", "certified"} <= set(student.values_list("topic", flat=True))
    assert Notice.objects.filter(user__username="teacher", topic="digest").count() == 1
    assert set(Notice.objects.values_list("email", flat=True)) == {EmailState.OFF}
    page = client_for(_teacher()).get(reverse("notices:index")).content.decode()
    assert "notice unread" in page


def test_a_second_run_changes_nothing(db, storage_dir):
    call_command("seed_demo", verbosity=0)
    counts = _counts()
    files = sorted(p.name for p in storage_dir.rglob("*") if p.is_file())
    call_command("seed_demo", verbosity=0)
    assert _counts() == counts
    assert sorted(p.name for p in storage_dir.rglob("*") if p.is_file()) == files


def _on(month: int, day: int) -> dt.datetime:
    """A day of this school year, at ten in the morning."""
    start, _end = roc.school_year_bounds(roc.current_school_year())
    year = start.year if month >= 8 else start.year + 1
    return dt.datetime(year, month, day, 10, tzinfo=timezone.get_current_timezone())


@pytest.mark.parametrize(
    ("month", "day"),
    [
        (8, 20),  # before term 1's certification window opens
        (11, 10),  # a few days before it opens
        (12, 1),  # while it is open
        (3, 1),  # after it closed
        (5, 20),  # while term 2's is open
    ],
)
def test_the_window_is_open_whatever_day_the_demo_is_loaded(db, month, day):
    with time_machine.travel(_on(month, day), tick=False):
        call_command("seed_demo", verbosity=0)
        teacher = acting(_teacher())
        now = timezone.now()
        options = queue_options(teacher, now=now)
        assert options.total_awaiting >= 30
        assert all(options.windows[course_id].is_open for course_id in options.awaiting)
        decided = queue_items(teacher, now=now, show=Show.DECIDED).filter(certified_by=teacher.user)
        assert decided.count() >= 5
        windows = Window.objects.filter(kind=WindowKind.CERTIFICATION).count()
        call_command("seed_demo", verbosity=0)
        assert Window.objects.filter(kind=WindowKind.CERTIFICATION).count() == windows
