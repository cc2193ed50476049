"""Certification (認證) services: who may decide, when, on what, and what is recorded."""

import datetime as dt
import functools
import time

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone, translation

from accounts import services as account_services
from accounts.models import Division, Role
from certification import services
from certification.services import (
    RejectionReason,
    awaiting_count_for,
    certify_many,
    outcome_certify,
    outcome_reject,
)
from portfolio.models import AuditLog, Window, WindowKind
from records.models import SchoolClass
from submissions.models import CourseOutcome, OutcomeState
from submissions.services.outcomes import outcome_replace_file, outcome_withdraw
from tests.builders.certification import CertWorld
from tests.builders.concurrency import at_once
from tests.builders.people import acting
from tests.builders.portfolio import pdf


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


def refused(exc) -> str:
    return " ".join(exc.value.messages)


# --- certify -----------------------------------------------------------------------------------


def test_certify_records_who_and_when_and_audits(w, tan):
    outcome = w.row()
    done = outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=outcome.updated_at)
    done.refresh_from_db()
    assert done.state == OutcomeState.CERTIFIED
    assert done.certified_by == w.teacher.user
    assert done.certified_at == w.now
    assert done.rejection_reason == ""
    log = AuditLog.objects.get(action="outcome.certify")
    assert log.target_id == str(outcome.pk)
    assert log.actor == w.teacher.user and log.on_behalf_of is None
    assert log.changes == {
        "state": ["submitted", "certified"],
        "certified_by": w.teacher.user.pk,
        "proxy": False,
    }


@pytest.mark.parametrize(
    "state",
    [OutcomeState.DRAFT, OutcomeState.CERTIFIED, OutcomeState.REJECTED, OutcomeState.WITHDRAWN],
)
def test_only_outcomes_awaiting_certification(w, tan, state):
    outcome = w.row(state=state)
    with pytest.raises((ValidationError, PermissionDenied)) as exc:
        outcome_certify(outcome=outcome, by=tan, now=w.now)
    if state == OutcomeState.DRAFT:  # the teacher never sees a draft
        assert exc.type is PermissionDenied
    else:
        assert f"it is {outcome.get_state_display().lower()}" in refused(exc)
    outcome.refresh_from_db()
    assert outcome.state == state
    assert not AuditLog.objects.filter(action__startswith="outcome.c").exists()


def test_only_the_courses_one_teaches(w, tan, make_member, other_school):
    other_course_outcome = w.outcome_of(
        w.student, course=w.enrol(w.student, w.term1, "Chemistry").course
    )
    with pytest.raises(PermissionDenied):
        outcome_certify(outcome=other_course_outcome, by=tan, now=w.now)
    colleague = acting(make_member(w.school, Role.TEACHER))
    with pytest.raises(PermissionDenied):
        outcome_certify(outcome=w.row(), by=colleague, now=w.now)
    # The course's teacher acting in another role may not certify either.
    homeroom = make_member(w.school, Role.HOMEROOM)
    w.course.teachers.add(homeroom.user)
    with pytest.raises(PermissionDenied):
        outcome_certify(outcome=w.row(), by=acting(homeroom), now=w.now)
    # Nor a teacher of another school, even if named on the course.
    outsider = make_member(other_school, Role.TEACHER)
    w.course.teachers.add(outsider.user)
    with pytest.raises(PermissionDenied):
        outcome_certify(outcome=w.row(), by=acting(outsider), now=w.now)
    assert CourseOutcome.objects.filter(state=OutcomeState.CERTIFIED).count() == 0


def test_a_deputy_certifies_for_the_teacher(w, make_member):
    stand_in = make_member(w.school, Role.TEACHER, name="Deputy Lin")
    deputy = account_services.deputy_create(
        school=w.school,
        role=Role.TEACHER,
        division=Division.DAY,
        principal=w.teacher.user,
        deputy=stand_in.user,
        order=1,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=30),
        by=None,
    )
    by = acting(w.teacher, deputy=deputy)
    outcome = outcome_certify(outcome=w.row(), by=by, now=w.now)
    assert outcome.certified_by == w.teacher.user
    log = AuditLog.objects.get(action="outcome.certify")
    assert log.actor == stand_in.user and log.on_behalf_of == w.teacher.user
    # Acting for herself, the deputy (who does not teach Physics) may not.
    with pytest.raises(PermissionDenied):
        outcome_certify(outcome=w.row(), by=acting(stand_in), now=w.now)


# --- reject -------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [c for c in RejectionReason.values if c != "other"])
def test_reject_with_each_reason(w, tan, code):
    outcome = w.row()
    done = outcome_reject(outcome=outcome, reason_code=code, reason_text="", by=tan, now=w.now)
    done.refresh_from_db()
    with translation.override(settings.LANGUAGE_CODE):
        label = str(RejectionReason(code).label)
    assert done.state == OutcomeState.REJECTED
    assert done.rejection_reason == label
    assert done.certified_by == w.teacher.user and done.certified_at == w.now
    log = AuditLog.objects.get(action="outcome.reject")
    assert log.changes["reason"] == code
    assert log.changes["state"] == ["submitted", "rejected"]


def test_reject_keeps_the_teachers_words_after_the_reason(w, tan):
    outcome = outcome_reject(
        outcome=w.row(),
        reason_code=RejectionReason.FILE_UNUSABLE,
        reason_text="  Page 2 is blank.\r\nPlease scan again. ",
        by=tan,
        now=w.now,
    )
    with translation.override(settings.LANGUAGE_CODE):
        label = str(RejectionReason.FILE_UNUSABLE.label)
    assert outcome.rejection_reason == f"{label}\nPage 2 is blank.\nPlease scan again."
    assert AuditLog.objects.get(action="outcome.reject").changes["reason_text"] == (
        "Page 2 is blank.\nPlease scan again."
    )


def test_other_needs_words_and_the_code_must_be_known(w, tan):
    outcome = w.row()
    with pytest.raises(ValidationError) as exc:
        outcome_reject(outcome=outcome, reason_code="other", reason_text="  ", by=tan, now=w.now)
    assert "needs your words" in exc.value.message_dict["reason_text"][0]
    with pytest.raises(ValidationError) as exc:
        outcome_reject(outcome=outcome, reason_code="poor_quality", by=tan, now=w.now)
    assert "reason_code" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        outcome_reject(
            outcome=outcome, reason_code="other", reason_text="x" * 501, by=tan, now=w.now
        )
    assert "at most 500" in exc.value.message_dict["reason_text"][0]
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    done = outcome_reject(
        outcome=outcome,
        reason_code="other",
        reason_text="Two students handed in this file.",
        by=tan,
        now=w.now,
    )
    assert done.rejection_reason.endswith("\nTwo students handed in this file.")


def test_quality_is_never_a_reason():
    labels = " ".join(str(label).lower() for label in RejectionReason.labels)
    assert "quality" not in labels and "grade" not in labels


def test_a_rejected_outcome_comes_back_when_the_student_replaces_the_file(w, tan):
    with time_machine.travel(w.inside, tick=False):
        outcome = w.upload()
    outcome_reject(outcome=outcome, reason_code="file_unusable", by=tan, now=w.now)
    outcome_replace_file(outcome=outcome, document=pdf(), by=None, now=w.now)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    assert outcome_certify(outcome=outcome, by=tan, now=w.now).state == OutcomeState.CERTIFIED


# --- the window ---------------------------------------------------------------------------------


def test_before_the_window_names_the_next_one(w, tan):
    outcome = w.row()
    before = w.cert_opens - dt.timedelta(minutes=1)
    with pytest.raises(ValidationError) as exc:
        outcome_certify(outcome=outcome, by=tan, now=before)
    message = exc.value.message_dict[NON_FIELD_ERRORS][0]
    assert "certification window" in message
    assert timezone.localtime(w.cert_opens).strftime("%Y-%m-%d %H:%M") in message
    assert timezone.localtime(w.cert_closes).strftime("%Y-%m-%d %H:%M") in message
    with pytest.raises(ValidationError):
        outcome_reject(outcome=outcome, reason_code="not_own_work", by=tan, now=before)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED


def test_after_the_window_with_none_scheduled(w, tan):
    with pytest.raises(ValidationError) as exc:
        outcome_certify(outcome=w.row(), by=tan, now=w.cert_closes)
    assert "none is open or scheduled" in refused(exc)
    # Open until its last moment, using the clock when no time is given.
    with time_machine.travel(w.cert_closes - dt.timedelta(seconds=1), tick=False):
        assert outcome_certify(outcome=w.row(), by=tan).state == OutcomeState.CERTIFIED


def test_other_kinds_and_other_terms_do_not_open_certification(w, tan):
    w.cert_window.delete()
    Window.objects.create(
        school=w.school,
        term=w.term1,
        kind=WindowKind.OUTCOME_UPLOAD,
        starts_at=w.now - dt.timedelta(days=1),
        ends_at=w.now + dt.timedelta(days=1),
    )
    Window.objects.create(
        school=w.school,
        term=w.term2,
        kind=WindowKind.CERTIFICATION,
        starts_at=w.now - dt.timedelta(days=1),
        ends_at=w.now + dt.timedelta(days=1),
    )
    with pytest.raises(ValidationError):
        outcome_certify(outcome=w.row(), by=tan, now=w.now)


def test_grade_specific_windows(w, tan):
    w.cert_window.grade = 11
    w.cert_window.save()
    with pytest.raises(ValidationError) as exc:
        outcome_certify(outcome=w.row(), by=tan, now=w.now)
    assert "none is open or scheduled" in refused(exc)
    # A window for the course's grade (10) opens it; the student's class does not matter.
    w.cert_window.grade = 10
    w.cert_window.save()
    eleventh = SchoolClass.objects.create(
        school=w.school, school_year=w.term1.school_year, name="201", grade=11
    )
    older = w.outcome_of(w.student_in("乙", klass=eleventh))
    assert outcome_certify(outcome=older, by=tan, now=w.now).state == OutcomeState.CERTIFIED


def test_certification_window_for_reads(w):
    window = services.certification_window(w.course, w.now)
    assert window.is_open and window.closes_at == w.cert_closes
    assert window.days_left() == 30
    assert (
        services.windows_for([w.course], w.cert_opens - dt.timedelta(days=1))[
            w.course.pk
        ].next_window
        == w.cert_window
    )


# --- a page out of date --------------------------------------------------------------------------


def test_an_outcome_changed_since_the_page_was_shown_is_refused(w, tan):
    with time_machine.travel(w.inside, tick=False):
        outcome = w.upload()
    seen = outcome.updated_at
    with time_machine.travel(w.inside + dt.timedelta(hours=1), tick=False):
        outcome_replace_file(outcome=outcome, document=pdf("new.pdf"), by=None)
    with pytest.raises(ValidationError) as exc:
        outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=seen)
    assert "changed since you opened the page" in refused(exc)
    assert "awaiting certification" in refused(exc)  # its state now, in words
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    # Looked at again, it can be decided.
    assert outcome_certify(outcome=outcome, by=tan, now=w.now, seen_at=outcome.updated_at).pk


def test_withdrawn_or_decided_meanwhile_is_refused_as_out_of_date(w, tan, make_member):
    with time_machine.travel(w.inside, tick=False):
        outcome = w.upload()
        seen = outcome.updated_at
    with time_machine.travel(w.inside + dt.timedelta(hours=1), tick=False):
        outcome_withdraw(outcome=outcome, by=None)
    with pytest.raises(ValidationError) as exc:
        outcome_reject(outcome=outcome, reason_code="not_own_work", by=tan, now=w.now, seen_at=seen)
    assert "changed since you opened the page (it is now withdrawn)" in refused(exc)

    second = w.row()
    seen = second.updated_at
    colleague = make_member(w.school, Role.TEACHER)
    w.course.teachers.add(colleague.user)
    with time_machine.travel(w.now, tick=False):
        outcome_certify(outcome=second, by=acting(colleague), seen_at=seen)
    with (
        time_machine.travel(w.now + dt.timedelta(minutes=1), tick=False),
        pytest.raises(ValidationError) as exc,
    ):
        outcome_reject(outcome=second, reason_code="not_own_work", by=tan, seen_at=seen)
    assert "(it is now certified)" in refused(exc)
    second.refresh_from_db()
    assert second.certified_by == colleague.user


# --- several at once -----------------------------------------------------------------------------


def test_certify_many_partial_success(w, tan, make_member):
    first, second, third = w.row(), w.row(), w.row()
    stale_seen = third.updated_at - dt.timedelta(seconds=1)
    not_mine = w.outcome_of(w.student, course=w.enrol(w.student, w.term1, "Art").course)
    result = certify_many(
        outcomes=[first, second, third, not_mine],
        by=tan,
        now=w.now,
        seen_at={first.pk: first.updated_at, third.pk: stale_seen},
    )
    assert [o.pk for o in result.done] == [first.pk, second.pk]
    assert [(o.pk, "changed since" in why) for o, why in result.refused] == [
        (third.pk, True),
        (not_mine.pk, False),
    ]
    assert "not an outcome you may decide on" in result.refused[1][1]
    states = dict(CourseOutcome.objects.values_list("pk", "state"))
    assert states[first.pk] == states[second.pk] == OutcomeState.CERTIFIED
    assert states[third.pk] == states[not_mine.pk] == OutcomeState.SUBMITTED
    assert AuditLog.objects.filter(action="outcome.certify").count() == 2


def test_certify_many_outside_the_window_refuses_each(w, tan):
    result = certify_many(outcomes=[w.row(), w.row()], by=tan, now=w.cert_closes)
    assert result.done == [] and len(result.refused) == 2


# --- the registry as proxy ------------------------------------------------------------------------


@pytest.fixture
def registry(w, make_member):
    return acting(make_member(w.school, Role.REGISTRY))


def test_registry_certifies_only_when_every_teacher_has_left(w, registry, make_member):
    outcome = w.row()
    with pytest.raises(PermissionDenied):
        outcome_certify(outcome=outcome, by=registry, now=w.now)
    second_teacher = make_member(w.school, Role.TEACHER)
    w.course.teachers.add(second_teacher.user)
    w.teacher.is_active = False
    w.teacher.save()
    with pytest.raises(PermissionDenied):  # one teacher is still here
        outcome_certify(outcome=outcome, by=registry, now=w.now)
    second_teacher.is_active = False
    second_teacher.save()
    done = outcome_certify(outcome=outcome, by=registry, now=w.now)
    assert done.certified_by == registry.user
    assert AuditLog.objects.get(action="outcome.certify").changes["proxy"] is True


def test_a_teacher_still_here_in_another_role_only_does_not_count(w, registry, make_member):
    """Leaving the teaching role is leaving: a homeroom membership kept does not keep the
    course from the registry."""
    w.teacher.is_active = False
    w.teacher.save()
    homeroom = w.teacher.user.memberships.create(
        school=w.school, role=Role.HOMEROOM, division=Division.DAY
    )
    assert homeroom.is_active
    assert outcome_certify(outcome=w.row(), by=registry, now=w.now).state == "certified"


def test_registry_proxy_for_a_course_without_teachers(w, registry):
    w.course.teachers.clear()
    outcome = outcome_reject(outcome=w.row(), reason_code="not_this_course", by=registry, now=w.now)
    assert outcome.state == OutcomeState.REJECTED and outcome.certified_by == registry.user


def test_registry_proxy_is_bound_by_the_window_and_its_division(w, registry, make_member):
    w.course.teachers.clear()
    with pytest.raises(ValidationError):
        outcome_certify(outcome=w.row(), by=registry, now=w.cert_closes)
    evening = SchoolClass.objects.create(
        school=w.school,
        school_year=w.term1.school_year,
        name="夜101",
        grade=10,
        division=Division.CONTINUING,
    )
    night_outcome = w.outcome_of(w.student_in("丙", klass=evening))
    with pytest.raises(PermissionDenied):
        outcome_certify(outcome=night_outcome, by=registry, now=w.now)
    night_registry = acting(make_member(w.school, Role.REGISTRY, division=Division.CONTINUING))
    assert outcome_certify(outcome=night_outcome, by=night_registry, now=w.now).pk


def test_other_roles_may_not_decide(w, make_member):
    outcome = w.row()
    for role in (Role.STUDENT, Role.HOMEROOM, Role.CURRICULUM, Role.SCHOOL_ADMIN):
        with pytest.raises(PermissionDenied):
            outcome_certify(outcome=outcome, by=acting(make_member(w.school, role)), now=w.now)


# --- the home page's counter and the queue's reads -----------------------------------------------


def test_awaiting_count_for(w, tan, registry, make_member, django_assert_num_queries):
    w.row()
    w.row()
    w.row(state=OutcomeState.DRAFT)
    w.row(state=OutcomeState.CERTIFIED)
    w.outcome_of(w.student, course=w.enrol(w.student, w.term1, "Art").course)
    with django_assert_num_queries(1):
        assert awaiting_count_for(tan) == 2
    assert awaiting_count_for(registry) == 1  # Art has no teacher
    assert awaiting_count_for(acting(make_member(w.school, Role.TEACHER))) == 0
    assert awaiting_count_for(acting(make_member(w.school, Role.HOMEROOM))) == 0


def test_queue_groups_by_course_then_class(w, tan):
    second_class = SchoolClass.objects.create(
        school=w.school, school_year=w.term1.school_year, name="102", grade=10
    )
    a = w.outcome_of(w.student_in("A", seat=2))
    b = w.outcome_of(w.student_in("B", klass=second_class, seat=1))
    c = w.outcome_of(w.student_in("C", seat=1))
    biology = w.enrol(w.student, w.term1, "Biology").course
    biology.teachers.add(w.teacher.user)
    d = w.outcome_of(w.student, course=biology)
    options = services.queue_options(tan, now=w.now)
    assert options.awaiting == {w.course.pk: 3, biology.pk: 1}
    groups = services.group_items(services.queue_items(tan, now=w.now), options, w.now)
    assert [g.course for g in groups] == [biology, w.course]
    physics = groups[1]
    assert [cg.school_class.name for cg in physics.classes] == ["101", "102"]
    assert [i.outcome.pk for i in physics.items] == [c.pk, a.pk, b.pk]
    # Each item names the one to show once it is decided: the next, or the one before.
    assert [i.next_pk for i in (*groups[0].items, *physics.items)] == [c.pk, a.pk, b.pk, a.pk]
    assert d.pk == groups[0].items[0].outcome.pk


# --- two decisions at once -----------------------------------------------------------------------


def _decide_in_parallel(outcome, contexts, now) -> list[object]:
    return at_once(
        *(
            functools.partial(
                outcome_certify, outcome=outcome, by=by, now=now, seen_at=outcome.updated_at
            )
            for by in contexts
        )
    )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writes: nothing runs at once"
)
@pytest.mark.django_db(transaction=True)
def test_two_teachers_deciding_at_once_end_with_one_decision(school, make_member, monkeypatch):
    w = CertWorld(school, make_member)
    colleague = make_member(school, Role.TEACHER)
    w.course.teachers.add(colleague.user)
    outcome = w.row()
    real_window = services.certification_window

    def slow_window(*args, **kwargs):  # widen the gap between locking and writing
        time.sleep(0.3)
        return real_window(*args, **kwargs)

    monkeypatch.setattr(services, "certification_window", slow_window)
    results = _decide_in_parallel(outcome, [acting(w.teacher), acting(colleague)], w.now)
    done = [r for r in results if isinstance(r, CourseOutcome)]
    refusals = [r for r in results if isinstance(r, ValidationError)]
    assert len(done) == 1 and len(refusals) == 1, results
    assert "changed since you opened the page" in " ".join(refusals[0].messages)
    assert AuditLog.objects.filter(action="outcome.certify").count() == 1
    outcome.refresh_from_db()
    assert outcome.certified_by == done[0].certified_by


def test_one_decision_after_another_on_the_same_page(w, tan, make_member):
    colleague = make_member(w.school, Role.TEACHER)
    w.course.teachers.add(colleague.user)
    outcome = w.row()
    seen = outcome.updated_at
    outcome_certify(outcome=outcome, by=acting(colleague), now=w.now, seen_at=seen)
    with pytest.raises(ValidationError):
        outcome_certify(outcome=outcome, by=tan, now=w.now + dt.timedelta(seconds=1), seen_at=seen)
    assert AuditLog.objects.filter(action="outcome.certify").count() == 1
