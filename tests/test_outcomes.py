"""Course outcomes: upload within the window and the cap, files and rows written together."""

import datetime as dt
import time

import pytest
import time_machine
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone, translation

from portfolio.models import AuditLog
from records.models import CourseEnrolment, Student
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from submissions.services import outcomes as outcome_services
from submissions.services import stored_files as stored_files_service
from submissions.services.outcomes import outcome_replace_file, outcome_upload, outcome_withdraw
from tests.builders.concurrency import at_once
from tests.builders.files import HTML, make_mp3, make_pdf, stored_files
from tests.builders.portfolio import World, pdf


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(school, storage_dir):
    return World(school)


def errors_of(exc: pytest.ExceptionInfo) -> dict[str, list[str]]:
    return exc.value.message_dict


# --- upload ----------------------------------------------------------------------------------


def test_upload_in_the_window_stores_file_and_row(world, storage_dir):
    with time_machine.travel(world.inside, tick=False):
        outcome = outcome_upload(
            student=world.student,
            enrolment=world.enrolment,
            title="Lab report",
            description="Measuring g with a pendulum.",
            document=pdf("實驗報告.pdf"),
            media=SimpleUploadedFile("talk.mp3", make_mp3(), content_type="audio/mpeg"),
            by=None,
        )
    assert outcome.state == OutcomeState.SUBMITTED
    assert outcome.school == world.school
    assert outcome.document.display_name == "實驗報告.pdf"
    assert outcome.media.extension == "mp3"
    path = outcome.document.storage_path
    assert path == f"files/{world.school.code}/{outcome.document.storage_key}"
    assert default_storage.exists(path)
    with default_storage.open(path) as f:
        assert f.read() == make_pdf()
    assert len(stored_files(storage_dir)) == 2
    log = AuditLog.objects.get(action="outcome.upload")
    assert log.target_id == str(outcome.pk)
    assert log.changes["files"]["document"]["name"] == "實驗報告.pdf"


def test_save_as_draft(world):
    outcome = world.upload(save_as_draft=True)
    assert outcome.state == OutcomeState.DRAFT


def test_window_not_yet_open_names_the_next_window(world, storage_dir):
    with (
        time_machine.travel(world.opens - dt.timedelta(hours=1), tick=False),
        pytest.raises(ValidationError) as exc,
    ):
        world.upload(now=None)
    message = errors_of(exc)[NON_FIELD_ERRORS][0]
    opens = timezone.localtime(world.opens).strftime("%Y-%m-%d %H:%M")
    closes = timezone.localtime(world.closes).strftime("%Y-%m-%d %H:%M")
    assert opens in message and closes in message
    assert CourseOutcome.objects.count() == 0
    assert stored_files(storage_dir) == []


def test_window_closed_with_none_scheduled(world):
    with (
        time_machine.travel(world.closes + dt.timedelta(minutes=1), tick=False),
        pytest.raises(ValidationError) as exc,
    ):
        world.upload(now=None)
    assert "none is open or scheduled" in errors_of(exc)[NON_FIELD_ERRORS][0]


def test_window_open_until_its_last_moment(world):
    with time_machine.travel(world.closes - dt.timedelta(seconds=1), tick=False):
        assert world.upload(now=None).pk


def test_a_window_for_another_grade_does_not_open_uploads(world):
    world.window.grade = 11
    world.window.save()
    with pytest.raises(ValidationError):
        world.upload()
    world.window.grade = 10
    world.window.save()
    assert world.upload().pk


def test_a_window_of_another_term_does_not_open_uploads(world):
    world.window.term = world.term2
    world.window.save()
    with pytest.raises(ValidationError):
        world.upload()


def test_cap_is_enforced(world, storage_dir):
    world.upload()
    world.upload()
    with pytest.raises(ValidationError) as exc:
        world.upload()
    assert "2 of 2 used" in errors_of(exc)[NON_FIELD_ERRORS][0]
    assert CourseOutcome.objects.count() == 2
    assert len(stored_files(storage_dir)) == 2


def test_cap_counts_only_this_terms_outcomes_and_not_withdrawn(world):
    other_term = world.enrol(world.student, world.term2, "Chemistry")
    world.row(other_term)
    world.row(other_term)
    world.row(state=OutcomeState.WITHDRAWN)
    world.row(state=OutcomeState.WITHDRAWN)
    world.row(state=OutcomeState.REJECTED)  # a rejected one still counts
    assert CourseOutcome.objects.counting_toward_cap(world.student, world.term1).count() == 1
    world.upload()
    with pytest.raises(ValidationError):
        world.upload()


def test_cap_counts_only_the_students_own(world):
    other = Student.objects.create(
        school=world.school, student_number="S2", name="乙", school_class=world.klass
    )
    other_enrolment = CourseEnrolment.objects.create(
        school=world.school, student=other, course=world.enrolment.course
    )
    world.row(other_enrolment)
    world.row(other_enrolment)
    world.upload()
    world.upload()
    # Another student's two outcomes took none of this student's two places.
    assert CourseOutcome.objects.counting_toward_cap(world.student, world.term1).count() == 2
    assert CourseOutcome.objects.counting_toward_cap(other, world.term1).count() == 2


def test_non_credited_course_is_refused(world):
    enrolment = world.enrol(world.student, world.term1, "Assembly", credits=0)
    with pytest.raises(ValidationError) as exc:
        world.upload(enrolment=enrolment)
    assert "credited" in errors_of(exc)["enrolment"][0]


def test_another_students_enrolment_is_refused(world, storage_dir):
    other = Student.objects.create(
        school=world.school, student_number="S2", name="乙", school_class=world.klass
    )
    theirs = CourseEnrolment.objects.create(
        school=world.school, student=other, course=world.enrolment.course
    )
    with pytest.raises(ValidationError) as exc:
        world.upload(enrolment=theirs)
    assert list(errors_of(exc)) == ["enrolment"]
    assert stored_files(storage_dir) == []


def test_another_schools_enrolment_is_refused(world, other_school):
    stranger = World(other_school)
    with pytest.raises(ValidationError) as exc:
        world.upload(enrolment=stranger.enrolment)
    assert list(errors_of(exc)) == ["enrolment"]


def test_description_is_required_and_limited_by_policy(world):
    world.policy.short_description_max = 10
    world.policy.save()
    with pytest.raises(ValidationError) as exc:
        world.upload(description="x" * 11, title=" ")
    errors = errors_of(exc)
    assert "at most 10 characters" in errors["description"][0]
    assert "title" in errors
    with pytest.raises(ValidationError) as exc:
        world.upload(description="   ")
    assert "description" in errors_of(exc)
    assert world.upload(description="x" * 10).description == "x" * 10


def test_a_file_is_required(world):
    with pytest.raises(ValidationError) as exc:
        world.upload(document=None, media=None)
    assert "document" in errors_of(exc)


def test_bad_file_is_refused_with_its_message_and_nothing_stored(world, storage_dir):
    fake = SimpleUploadedFile("report.pdf", HTML, content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        world.upload(document=fake, media=SimpleUploadedFile("a.mp3", make_mp3()))
    errors = errors_of(exc)
    assert "an HTML page" in errors["document"][0]
    assert "media" not in errors
    assert stored_files(storage_dir) == []
    assert StoredFile.objects.count() == 0
    assert CourseOutcome.objects.count() == 0


def test_file_over_the_schools_limit_is_refused(world, storage_dir):
    world.policy.document_types = ["png"]
    world.policy.save()
    with pytest.raises(ValidationError) as exc:
        world.upload()
    assert "PNG" in errors_of(exc)["document"][0]
    assert stored_files(storage_dir) == []


def test_failure_creating_rows_leaves_no_file(world, storage_dir, monkeypatch):
    def broken_audit(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(outcome_services, "audit_write", broken_audit)
    with pytest.raises(RuntimeError):
        world.upload(media=SimpleUploadedFile("a.mp3", make_mp3()))
    assert stored_files(storage_dir) == []
    assert StoredFile.objects.count() == 0
    assert CourseOutcome.objects.count() == 0


def test_failure_storing_the_second_file_removes_the_first(world, storage_dir, monkeypatch):
    real_store = stored_files_service.store
    calls = {"n": 0}

    def store_once(school, checked):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        return real_store(school, checked)

    monkeypatch.setattr(stored_files_service, "store", store_once)
    with pytest.raises(OSError):
        world.upload(media=SimpleUploadedFile("a.mp3", make_mp3()))
    assert stored_files(storage_dir) == []
    assert StoredFile.objects.count() == 0


# --- withdraw and replace --------------------------------------------------------------------


def test_withdraw_frees_a_place_under_the_cap(world):
    first = world.upload()
    world.upload()
    outcome = outcome_withdraw(outcome=first, by=None, now=world.inside)
    assert outcome.state == OutcomeState.WITHDRAWN
    assert AuditLog.objects.filter(action="outcome.withdraw", target_id=str(first.pk)).exists()
    assert world.upload().pk


def test_withdraw_refused_once_certified_or_outside_the_window(world):
    outcome = world.upload()
    CourseOutcome.objects.filter(pk=outcome.pk).update(state=OutcomeState.CERTIFIED)
    outcome.refresh_from_db()
    with pytest.raises(ValidationError):
        outcome_withdraw(outcome=outcome, by=None, now=world.inside)
    CourseOutcome.objects.filter(pk=outcome.pk).update(state=OutcomeState.REJECTED)
    outcome.refresh_from_db()
    with (
        time_machine.travel(world.closes + dt.timedelta(days=1), tick=False),
        pytest.raises(ValidationError),
    ):
        outcome_withdraw(outcome=outcome, by=None)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.REJECTED
    assert outcome_withdraw(outcome=outcome, by=None, now=world.inside).state == "withdrawn"


def test_replace_after_rejection_goes_back_to_submitted(
    world, storage_dir, django_capture_on_commit_callbacks
):
    outcome = world.upload()
    old = outcome.document
    CourseOutcome.objects.filter(pk=outcome.pk).update(
        state=OutcomeState.REJECTED, rejection_reason="Not from this course."
    )
    outcome.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = outcome_replace_file(
            outcome=outcome, document=pdf("new.pdf"), by=None, now=world.inside
        )
    assert outcome.state == OutcomeState.SUBMITTED
    assert outcome.document.display_name == "new.pdf"
    assert not StoredFile.objects.filter(pk=old.pk).exists()
    assert [p.name for p in stored_files(storage_dir)] == [outcome.document.storage_key]
    assert AuditLog.objects.filter(action="outcome.replace_file").count() == 1


def test_replace_keeps_old_file_until_commit_and_refuses_bad_file(
    world, storage_dir, django_capture_on_commit_callbacks
):
    outcome = world.upload()
    old_key = outcome.document.storage_key
    fake = SimpleUploadedFile("x.pdf", HTML)
    with pytest.raises(ValidationError) as exc:
        outcome_replace_file(outcome=outcome, document=fake, by=None, now=world.inside)
    assert "document" in errors_of(exc)
    assert [p.name for p in stored_files(storage_dir)] == [old_key]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome_replace_file(outcome=outcome, document=pdf(), by=None, now=world.inside)
    assert len(stored_files(storage_dir)) == 2  # the old one goes only after commit
    for callback in callbacks:
        callback()
    assert len(stored_files(storage_dir)) == 1


def test_replace_refused_when_certified_or_outside_the_window(world, storage_dir):
    outcome = world.upload()
    with pytest.raises(ValidationError):
        outcome_replace_file(
            outcome=outcome, document=pdf(), by=None, now=world.closes + dt.timedelta(hours=1)
        )
    CourseOutcome.objects.filter(pk=outcome.pk).update(state=OutcomeState.CERTIFIED)
    outcome.refresh_from_db()
    with pytest.raises(ValidationError):
        outcome_replace_file(outcome=outcome, document=pdf(), by=None, now=world.inside)
    assert len(stored_files(storage_dir)) == 1


# --- two uploads at once ---------------------------------------------------------------------


def _upload_in_parallel(world, storage_dir) -> list[object]:
    return at_once(world.upload, world.upload)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite serializes writes; see the next test"
)
@pytest.mark.django_db(transaction=True)
def test_two_parallel_uploads_at_cap_minus_one_accept_exactly_one(school, storage_dir, monkeypatch):
    world = World(school)
    world.upload()  # one of two used
    real_row = outcome_services.stored_file_row

    def slow_row(*args, **kwargs):  # widen the gap between counting and creating
        time.sleep(0.3)
        return real_row(*args, **kwargs)

    monkeypatch.setattr(outcome_services, "stored_file_row", slow_row)
    results = _upload_in_parallel(world, storage_dir)
    accepted = [r for r in results if isinstance(r, CourseOutcome)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(accepted) == 1 and len(refused) == 1, results
    assert "2 of 2 used" in refused[0].message_dict[NON_FIELD_ERRORS][0]
    assert CourseOutcome.objects.count() == 2
    assert StoredFile.objects.count() == 2
    assert len(stored_files(storage_dir)) == 2


def test_two_uploads_at_cap_minus_one_one_after_the_other(world, storage_dir):
    world.upload()
    results = []
    for _ in range(2):
        try:
            results.append(world.upload())
        except ValidationError as exc:
            results.append(exc)
    assert isinstance(results[0], CourseOutcome)
    assert isinstance(results[1], ValidationError)
    assert len(stored_files(storage_dir)) == 2
