"""Taking a decision back: the teacher undoes their own decision from the queue while the
certification window is open and no submitted roster holds the outcome; after that only the
registry reopens it, with a reason the teacher and the student see. All audited."""

import datetime as dt
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from accounts.models import Role
from certification.services import outcome_certify, outcome_reject, outcome_reopen, outcome_undo
from portfolio.models import AuditLog
from submissions.models import OutcomeState, PackageState, RosterPackage
from tests.builders.certification import CertWorld
from tests.builders.people import acting, client_for, english


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def w(school, make_member, storage_dir):
    return CertWorld(school, make_member)


@pytest.fixture
def tan(w):
    return acting(w.teacher)


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


def _certified(w, tan):
    outcome = w.row()
    return outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=outcome.updated_at)


def _frozen(w, outcome):
    package = RosterPackage.objects.create(
        school=w.school, school_year=w.term1.school_year, roster=26, division="day",
        spec_version="108", state=PackageState.SUBMITTED, submitted_at=timezone.now(),
    )  # fmt: skip
    package.outcomes.add(outcome)


def test_the_teacher_undoes_their_own_decision(w, tan):
    outcome = _certified(w, tan)
    undone = outcome_undo(outcome=outcome, by=tan, now=w.now + dt.timedelta(minutes=5))
    undone.refresh_from_db()
    assert undone.state == OutcomeState.SUBMITTED
    assert (undone.certified_by, undone.certified_at, undone.rejection_reason) == (None, None, "")
    log = AuditLog.objects.get(action="outcome.undo")
    assert log.changes == {"state": ["certified", "submitted"]} and log.actor == w.teacher.user
    # A rejection is undone the same way, its reason cleared.
    rejected = outcome_reject(
        outcome=undone, by=tan, now=w.now, reason_code="file_unusable", reason_text="",
        seen_at=undone.updated_at,
    )  # fmt: skip
    assert outcome_undo(outcome=rejected, by=tan, now=w.now).rejection_reason == ""


def test_only_the_decider_within_the_window_and_not_in_a_submitted_roster(w, tan, make_member):
    outcome = _certified(w, tan)
    colleague = make_member(w.school, Role.TEACHER, name="Teacher Lin")
    w.course.teachers.add(colleague.user)
    with pytest.raises(ValidationError) as refused:
        outcome_undo(outcome=outcome, by=acting(colleague), now=w.now)
    assert "Only whoever decided" in " ".join(refused.value.messages)
    stranger = make_member(w.school, Role.TEACHER)
    with pytest.raises(PermissionDenied):
        outcome_undo(outcome=outcome, by=acting(stranger), now=w.now)
    with pytest.raises(ValidationError) as refused:
        outcome_undo(outcome=outcome, by=tan, now=w.cert_closes + dt.timedelta(hours=1))
    assert "window has closed" in " ".join(refused.value.messages)
    _frozen(w, outcome)
    with pytest.raises(ValidationError) as refused:
        outcome_undo(outcome=outcome, by=tan, now=w.now)
    assert "submitted to the central database" in " ".join(refused.value.messages)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.CERTIFIED
    assert not AuditLog.objects.filter(action="outcome.undo").exists()


def test_the_registry_reopens_with_a_reason_the_teacher_and_student_see(
    w, tan, registry, make_member, time_machine
):
    outcome = _certified(w, tan)
    by = acting(registry)
    with pytest.raises(ValidationError) as refused:
        outcome_reopen(outcome=outcome, by=by, reason="  ")
    assert "reason" in refused.value.message_dict
    reopened = outcome_reopen(outcome=outcome, by=by, reason="學生反映認證了錯的檔案")
    assert reopened.is_reopened and reopened.certified_by is None
    log = AuditLog.objects.get(action="outcome.reopen")
    assert log.changes["reason"] == "學生反映認證了錯的檔案"
    assert log.changes["decided_by"] == w.teacher.user.pk
    time_machine.move_to(w.now)
    queue = english(client_for(w.teacher)).get(reverse("certification:queue")).content.decode()
    assert "Reopened by the registry:" in queue and "學生反映認證了錯的檔案" in queue
    member = make_member(w.school, Role.STUDENT)
    w.student.user = member.user
    w.student.save(update_fields=["user"])
    page = english(client_for(member)).get(reverse("outcomes:portfolio")).content.decode()
    assert "學生反映認證了錯的檔案" in page
    # The teacher's next decision answers the reopening.
    again = outcome_certify(outcome=reopened, by=tan, now=w.now, seen_at=reopened.updated_at)
    assert again.reopen_reason == "" and not again.is_reopened


def test_a_submitted_roster_holds_the_decision_even_for_the_registry(w, tan, registry):
    outcome = _certified(w, tan)
    _frozen(w, outcome)
    with pytest.raises(ValidationError) as refused:
        outcome_reopen(outcome=outcome, by=acting(registry), reason="更正")
    assert "cannot change until the registry reopens the roster" in " ".join(refused.value.messages)


def test_undo_reopen_and_export_through_the_pages(w, tan, registry, make_member, time_machine):
    outcome = _certified(w, tan)
    waiting = w.row()
    time_machine.move_to(w.now)
    teacher = english(client_for(w.teacher))
    decided = teacher.get(reverse("certification:queue"), {"show": "decided"}).content.decode()
    assert "Undo this decision" in decided
    back = teacher.post(reverse("certification:undo", args=[outcome.pk]), {"show": "decided"})
    assert back.status_code == 302
    outcome.refresh_from_db()
    assert outcome.is_submitted
    queue = teacher.get(reverse("certification:queue")).content.decode()
    assert 'class="previews"' in queue  # the files start collapsed
    export = teacher.get(reverse("certification:export"))
    rows = list(load_workbook(io.BytesIO(export.content)).active.values)
    assert rows[0][0] == "Course" and {r[7] for r in rows[1:]} == {outcome.title, waiting.title}

    certified = outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=outcome.updated_at)
    office = english(client_for(registry))
    record = office.get(reverse("basicdata:student", args=[certified.student_id])).content.decode()
    assert reverse("certification:reopen", args=[certified.pk]) in record
    empty = office.post(reverse("certification:reopen", args=[certified.pk]), {"reason": ""})
    assert empty.status_code == 400 and 'aria-invalid="true"' in empty.content.decode()
    done = office.post(reverse("certification:reopen", args=[certified.pk]), {"reason": "重新審查"})
    assert done.status_code == 302
    certified.refresh_from_db()
    assert certified.is_reopened
    assert (
        client_for(w.teacher).get(reverse("certification:reopen", args=[certified.pk])).status_code
        == 403
    )
    other = make_member(w.school, Role.TEACHER)
    assert (
        client_for(other).post(reverse("certification:undo", args=[certified.pk])).status_code
        == 404
    )
