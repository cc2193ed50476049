"""The student's course-outcome pages: upload (with its progress-bar path), edit, replace,
withdraw and send, through the views with real files; windows, caps and limits as the
student meets them; nobody else's outcome reachable."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from portfolio.models import AuditLog, Window, WindowKind
from records.models import CourseEnrolment, Student
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from submissions.services import outcomes as outcome_services
from tests.builders.concurrency import at_once
from tests.builders.files import HTML, MB, make_mp3, make_pdf, make_png, stored_files
from tests.builders.people import client_for, english
from tests.builders.portfolio import World, student_client

ADD = reverse("outcomes:add")
PORTFOLIO = reverse("outcomes:portfolio")
XHR = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}


def pdf(name="report.pdf", data=None):
    return SimpleUploadedFile(name, data if data is not None else make_pdf(), "application/pdf")


@pytest.fixture
def world(school, storage_dir):
    world = World(school)
    world.policy.outcome_upload_cap_per_term = 6
    world.policy.save()
    return world


@pytest.fixture
def inside(world):
    """Inside the outcome-upload window (time stands still, so sessions stay valid)."""
    with time_machine.travel(world.inside, tick=False):
        yield world.inside


@pytest.fixture
def alice(world, make_member, inside):
    return student_client(world, make_member)


def form_data(world, **overrides):
    data = {
        "enrolment": world.enrolment.pk,
        "title": "Pendulum lab",
        "description": "Measuring g with a pendulum.",
        "document": pdf(),
        "action": "submit",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_url(name, outcome):
    return reverse(f"outcomes:{name}", kwargs={"pk": outcome.pk})


# --- the upload page ---------------------------------------------------------------------------


def test_upload_page_states_the_rules_and_the_places_used(world, alice):
    world.row()
    world.row()
    world.row()
    response = alice.get(ADD)
    assert response.status_code == 200
    page = response.content.decode()
    assert "3 of 6 used this term" in page
    assert "PDF, JPG or PNG, up to 4 MB" in page
    assert "MP3 or MP4, up to 10 MB" in page
    assert 'accept=".pdf,application/pdf,.jpg,.jpeg,image/jpeg,.png,image/png"' in page
    assert 'accept=".mp3,audio/mpeg,.mp4,video/mp4"' in page
    assert 'data-counter-max="100"' in page
    assert "in at most 100 characters" in page
    assert 'name="action" value="submit"' in page and "Upload and send for certification" in page
    assert 'name="action" value="draft"' in page and "Save as draft" in page
    assert "<progress" in page and "js/upload.js" in page
    assert 'enctype="multipart/form-data"' in page
    assert "Open: 18 days left" in page


def test_upload_page_offers_only_credited_courses_of_open_terms(world, alice):
    uncredited = world.enrol(world.student, world.term1, "Assembly", credits=0)
    other_term = world.enrol(world.student, world.term2, "Chemistry")
    page = alice.get(ADD).content.decode()
    assert f'value="{world.enrolment.pk}"' in page
    assert f'value="{uncredited.pk}"' not in page
    assert f'value="{other_term.pk}"' not in page
    response = alice.post(ADD, form_data(world, enrolment=other_term.pk))
    assert "Choose one of your credited courses" in response.content.decode()
    assert CourseOutcome.objects.count() == 0


def test_course_can_be_preselected(world, alice):
    second = world.enrol(world.student, world.term1, "Biology")
    page = alice.get(f"{ADD}?enrolment={second.pk}").content.decode()
    assert f'<option value="{second.pk}" selected>' in page


def test_upload_stores_file_and_row_and_goes_to_the_portfolio(world, alice, storage_dir):
    response = alice.post(ADD, form_data(world, media=SimpleUploadedFile("talk.mp3", make_mp3())))
    outcome = CourseOutcome.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{PORTFOLIO}#outcome-{outcome.pk}"
    assert outcome.state == OutcomeState.SUBMITTED
    assert outcome.student == world.student
    assert outcome.title == "Pendulum lab"
    assert len(stored_files(storage_dir)) == 2
    page = alice.get(response["Location"]).content.decode()
    assert "was uploaded and sent to your teacher for certification" in page
    assert "Awaiting certification" in page
    log = AuditLog.objects.get(action="outcome.upload")
    assert log.actor == world.student.user


def test_progress_bar_path_gets_json_on_success(world, alice):
    response = alice.post(ADD, form_data(world), **XHR)
    outcome = CourseOutcome.objects.get()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"redirect": f"{PORTFOLIO}#outcome-{outcome.pk}"}
    # The message waits for the page the script goes to.
    assert "was uploaded" in alice.get(PORTFOLIO).content.decode()


def test_progress_bar_path_gets_the_page_with_errors(world, alice):
    response = alice.post(ADD, form_data(world, description=""), **XHR)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'id="error-summary"' in page
    assert "Write a short description of the outcome." in page
    assert CourseOutcome.objects.count() == 0


def test_file_over_the_schools_limit_is_refused_with_the_limit(world, alice, storage_dir):
    world.policy.document_max_mb = 1
    world.policy.save()
    big = pdf(data=make_pdf() + b"\n%" + b"x" * (MB + 1 - len(make_pdf()) - 2))
    assert big.size == MB + 1
    response = alice.post(ADD, form_data(world, document=big))
    page = response.content.decode()
    assert response.status_code == 200
    assert "This file is larger than 1 MB, the limit for documents." in page
    assert "choose your file(s) again" in page
    assert 'value="Pendulum lab"' in page  # what was typed is kept
    assert "Measuring g with a pendulum." in page
    assert CourseOutcome.objects.count() == 0
    assert StoredFile.objects.count() == 0
    assert stored_files(storage_dir) == []


def test_file_over_every_limit_is_cut_off_while_it_arrives(world, alice, storage_dir, monkeypatch):
    world.policy.document_max_mb = 1
    world.policy.media_max_mb = 1
    world.policy.save()

    def never(**kwargs):
        raise AssertionError("the service must not see a file that was cut off")

    monkeypatch.setattr(outcome_services, "outcome_upload", never)
    big = SimpleUploadedFile("talk.mp3", make_mp3() + bytes(2 * MB), "audio/mpeg")
    response = alice.post(ADD, form_data(world, document=None, media=big))
    page = response.content.decode()
    assert "This file is larger than 1 MB, the limit for media files." in page
    assert 'value="Pendulum lab"' in page
    assert stored_files(storage_dir) == []


def test_html_renamed_pdf_is_refused_saying_what_it_is(world, alice, storage_dir):
    response = alice.post(ADD, form_data(world, document=pdf("report.pdf", HTML)))
    page = response.content.decode()
    assert "Only PDF, JPG or PNG documents up to 4 MB are accepted" in page
    assert "this file is an HTML page" in page
    assert CourseOutcome.objects.count() == 0
    assert stored_files(storage_dir) == []


def test_missing_title_and_description_are_named_and_nothing_stored(world, alice, storage_dir):
    response = alice.post(ADD, form_data(world, title="", description="  "))
    page = response.content.decode()
    assert "Give the outcome a title." in page
    assert "Write a short description of the outcome." in page
    assert 'href="#id_description"' in page  # the summary links to the field
    assert 'aria-invalid="true"' in page
    assert stored_files(storage_dir) == []


def test_over_length_description_is_refused_and_kept(world, alice):
    world.policy.short_description_max = 10
    world.policy.save()
    response = alice.post(ADD, form_data(world, description="一二三四五六七八九十十"))
    page = response.content.decode()
    assert "The short description may have at most 10 characters; it has 11." in page
    assert "一二三四五六七八九十十</textarea>" in page
    assert 'data-counter-max="10"' in page
    assert CourseOutcome.objects.count() == 0


def test_a_line_break_counts_as_one_character(world, alice):
    world.policy.short_description_max = 10
    world.policy.save()
    alice.post(ADD, form_data(world, description="一二三四\r\n五六七八九"))
    assert CourseOutcome.objects.get().description == "一二三四\n五六七八九"


def test_a_file_is_required(world, alice):
    response = alice.post(ADD, form_data(world, document=None))
    assert "Attach a document or a media file (or both)." in response.content.decode()


def test_outside_the_window_the_page_gives_the_next_dates_and_refuses(
    world, make_member, storage_dir
):
    opens = world.closes + dt.timedelta(days=150)
    Window.objects.create(
        school=world.school,
        term=world.term2,
        kind=WindowKind.OUTCOME_UPLOAD,
        starts_at=opens,
        ends_at=opens + dt.timedelta(days=14),
    )
    world.enrol(world.student, world.term2, "Chemistry")
    with time_machine.travel(world.closes + dt.timedelta(days=1), tick=False):
        client = student_client(world, make_member)
        page = client.get(ADD).content.decode()
        start = timezone.localtime(opens).strftime("%Y-%m-%d %H:%M")
        end = timezone.localtime(opens + dt.timedelta(days=14)).strftime("%Y-%m-%d %H:%M")
        assert f"The next one opens on {start} and closes on {end}." in page
        assert '<form method="post" enctype' not in page
        response = client.post(ADD, form_data(world))
    page = response.content.decode()
    assert "Nothing was uploaded: the outcome-upload window is not open for you." in page
    assert CourseOutcome.objects.count() == 0
    assert stored_files(storage_dir) == []


def test_with_no_window_at_all_the_page_says_so(world, make_member):
    world.window.delete()
    with time_machine.travel(world.inside, tick=False):
        page = student_client(world, make_member).get(ADD).content.decode()
    assert "none is open or scheduled" in page


def test_an_extension_opens_the_page_after_the_window(world, make_member, admin):
    after = world.closes + dt.timedelta(days=3)
    world.student.window_extensions.create(
        school=world.school,
        term=world.term1,
        kind=WindowKind.OUTCOME_UPLOAD,
        starts_at=after - dt.timedelta(days=1),
        ends_at=after + dt.timedelta(days=4),
        reason="住院治療",
        granted_by=admin.user,
    )
    with time_machine.travel(after, tick=False):
        client = student_client(world, make_member)
        page = client.get(ADD).content.decode()
        assert "Extended for you by the registry" in page
        assert "Open: 4 days left" in page
        assert client.post(ADD, form_data(world)).status_code == 302


def test_cap_reached_disables_the_form_and_says_how_to_free_a_place(world, alice):
    world.policy.outcome_upload_cap_per_term = 2
    world.policy.save()
    world.row()
    world.row(state=OutcomeState.DRAFT)
    page = alice.get(ADD).content.decode()
    assert "2 of 2 used" in page
    assert "withdraw one you no longer need" in page
    assert '<fieldset class="plain-fieldset" disabled>' in page
    response = alice.post(ADD, form_data(world))
    assert 'id="cap-reached" role="alert"' in response.content.decode()
    assert CourseOutcome.objects.count() == 2


# --- draft, send, edit, withdraw, replace ------------------------------------------------------


def test_save_as_draft_then_send_for_certification(world, alice):
    response = alice.post(ADD, form_data(world, action="draft"))
    outcome = CourseOutcome.objects.get()
    assert outcome.state == OutcomeState.DRAFT
    page = alice.get(response["Location"]).content.decode()
    assert "was saved as a draft" in page
    assert edit_url("submit", outcome) in page and "Send for certification" in page
    response = alice.post(edit_url("submit", outcome))
    assert response.status_code == 302
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    assert AuditLog.objects.filter(action="outcome.submit", target_id=str(outcome.pk)).exists()
    assert "was sent to your teacher" in alice.get(PORTFOLIO).content.decode()
    # Sent once: sending again is refused in words.
    alice.post(edit_url("submit", outcome))
    assert "Only a draft or a rejected outcome" in alice.get(PORTFOLIO).content.decode()


def test_send_is_post_only(world, alice):
    outcome = world.row(state=OutcomeState.DRAFT)
    assert alice.get(edit_url("submit", outcome)).status_code == 405


def test_edit_changes_title_description_and_course(world, alice):
    outcome = world.row()
    second = world.enrol(world.student, world.term1, "Biology")
    page = alice.get(edit_url("edit", outcome)).content.decode()
    assert 'value="t"' in page and 'data-counter-max="100"' in page
    response = alice.post(
        edit_url("edit", outcome),
        {"enrolment": second.pk, "title": "New title", "description": "New words."},
    )
    assert response.status_code == 302
    outcome.refresh_from_db()
    assert (outcome.title, outcome.description, outcome.enrolment) == (
        "New title",
        "New words.",
        second,
    )
    assert outcome.state == OutcomeState.SUBMITTED
    log = AuditLog.objects.get(action="outcome.edit")
    assert log.changes["title"] == ["t", "New title"]


def test_edit_keeps_the_limit_and_what_was_typed(world, alice):
    world.policy.short_description_max = 10
    world.policy.save()
    outcome = world.row()
    response = alice.post(
        edit_url("edit", outcome),
        {"enrolment": world.enrolment.pk, "title": "Kept", "description": "x" * 12},
    )
    page = response.content.decode()
    assert "at most 10 characters; it has 12" in page
    assert 'value="Kept"' in page
    outcome.refresh_from_db()
    assert outcome.title == "t"


def test_a_certified_outcome_cannot_be_edited_replaced_or_withdrawn(world, alice):
    outcome = world.row(state=OutcomeState.CERTIFIED)
    for name in ("edit", "replace", "withdraw"):
        page = alice.get(edit_url(name, outcome)).content.decode()
        assert "Certified by your teacher" in page, name
        assert "<textarea" not in page and 'type="file"' not in page
    alice.post(edit_url("edit", outcome), {"enrolment": world.enrolment.pk, "title": "x"})
    alice.post(edit_url("withdraw", outcome))
    outcome.refresh_from_db()
    assert (outcome.title, outcome.state) == ("t", OutcomeState.CERTIFIED)


def test_after_the_window_edit_says_why_not(world, make_member):
    outcome = world.row()
    with time_machine.travel(world.closes + dt.timedelta(hours=1), tick=False):
        client = student_client(world, make_member)
        page = client.get(edit_url("edit", outcome)).content.decode()
    assert "The outcome-upload window for this term is over" in page
    assert "<textarea" not in page


def test_withdraw_asks_then_frees_a_place(world, alice):
    world.policy.outcome_upload_cap_per_term = 2
    world.policy.save()
    first = world.row()
    world.row()
    page = alice.get(edit_url("withdraw", first)).content.decode()
    assert "Withdraw this outcome" in page
    first.refresh_from_db()
    assert first.state == OutcomeState.SUBMITTED  # asking changes nothing
    response = alice.post(edit_url("withdraw", first))
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.state == OutcomeState.WITHDRAWN
    assert "1 of 2 used this term" in alice.get(ADD).content.decode()
    assert alice.post(ADD, form_data(world)).status_code == 302


def test_replace_after_rejection_goes_back_to_awaiting_certification(world, alice, storage_dir):
    outcome = world.upload()
    CourseOutcome.objects.filter(pk=outcome.pk).update(
        state=OutcomeState.REJECTED, rejection_reason="Not from this course."
    )
    page = alice.get(edit_url("replace", outcome)).content.decode()
    assert "Not from this course." in page
    assert "Upload and send back for certification" in page
    new = SimpleUploadedFile("photo.png", make_png(), "image/png")
    response = alice.post(edit_url("replace", outcome), {"document": new}, **XHR)
    assert response.json() == {"redirect": f"{PORTFOLIO}#outcome-{outcome.pk}"}
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    assert outcome.document.display_name == "photo.png"
    assert "sent back for certification" in alice.get(PORTFOLIO).content.decode()


def test_replace_refuses_a_bad_file_and_keeps_the_old_one(world, alice, storage_dir):
    outcome = world.upload()
    old = outcome.document
    response = alice.post(edit_url("replace", outcome), {"document": pdf("x.pdf", HTML)})
    assert "this file is an HTML page" in response.content.decode()
    response = alice.post(edit_url("replace", outcome), {})
    assert "Choose the new file." in response.content.decode()
    outcome.refresh_from_db()
    assert outcome.document == old
    assert len(stored_files(storage_dir)) == 1


def test_send_again_after_rejection(world, alice):
    outcome = world.row(state=OutcomeState.REJECTED)
    alice.post(edit_url("submit", outcome))
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED


# --- whose outcome ---------------------------------------------------------------------------

PK_PAGES = [
    ("get", "edit"),
    ("post", "edit"),
    ("get", "replace"),
    ("post", "replace"),
    ("get", "withdraw"),
    ("post", "withdraw"),
    ("post", "submit"),
]


def test_another_students_outcome_is_404_on_every_page(world, alice):
    bob = Student.objects.create(
        school=world.school, student_number="S2", name="乙", school_class=world.klass
    )
    theirs = world.row(
        CourseEnrolment.objects.create(
            school=world.school, student=bob, course=world.enrolment.course
        ),
        state=OutcomeState.DRAFT,
    )
    for method, name in PK_PAGES:
        response = getattr(alice, method)(edit_url(name, theirs), {"title": "x"})
        assert response.status_code == 404, (method, name)
    theirs.refresh_from_db()
    assert (theirs.title, theirs.state) == ("t", OutcomeState.DRAFT)


def test_another_schools_outcome_is_404(world, other_school, make_member, inside):
    stranger = World(other_school)
    theirs = stranger.row(state=OutcomeState.DRAFT)
    client = student_client(stranger, make_member)
    assert client.get(edit_url("edit", world.row())).status_code == 404
    client = student_client(world, make_member)
    for method, name in PK_PAGES:
        assert getattr(client, method)(edit_url(name, theirs)).status_code == 404


def test_a_student_without_a_record_gets_the_explanation(world, make_member, inside):
    client = english(client_for(make_member(world.school, Role.STUDENT)))
    for url in (ADD, PORTFOLIO):
        assert "not linked to your account yet" in client.get(url).content.decode()
    assert client.get(edit_url("edit", world.row())).status_code == 404


@pytest.mark.parametrize("role", [Role.TEACHER, Role.HOMEROOM, Role.REGISTRY, Role.SCHOOL_ADMIN])
def test_staff_are_refused(world, as_role, role, inside):
    client = as_role(role)
    outcome = world.row()
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form_data(world)).status_code == 403
    assert client.get(PORTFOLIO).status_code == 403
    for method, name in PK_PAGES:
        assert getattr(client, method)(edit_url(name, outcome)).status_code == 403
    assert CourseOutcome.objects.count() == 1


# --- the edit service, beyond what the page offers -------------------------------------------


def edit(world, outcome, **overrides):
    args = {"outcome": outcome, "title": "t", "description": "d", "by": None, "now": world.inside}
    args.update(overrides)
    with translation.override("en"):
        return outcome_services.outcome_edit(**args)


def test_moving_to_a_term_whose_window_is_closed_is_refused(world):
    outcome = world.row()
    other = world.enrol(world.student, world.term2, "Chemistry")
    with pytest.raises(ValidationError) as exc:
        edit(world, outcome, enrolment=other)
    assert "only during the outcome-upload window" in " ".join(exc.value.messages)


def test_moving_to_another_term_respects_its_cap(world):
    world.policy.outcome_upload_cap_per_term = 1
    world.policy.save()
    Window.objects.create(
        school=world.school,
        term=world.term2,
        kind=WindowKind.OUTCOME_UPLOAD,
        starts_at=world.opens,
        ends_at=world.closes,
    )
    other = world.enrol(world.student, world.term2, "Chemistry")
    outcome = world.row()
    world.row(other)
    with pytest.raises(ValidationError) as exc:
        edit(world, outcome, enrolment=other)
    assert "1 of 1 used" in exc.value.message_dict["enrolment"][0]
    CourseOutcome.objects.filter(enrolment=other).update(state=OutcomeState.WITHDRAWN)
    assert edit(world, outcome, enrolment=other).enrolment == other


def test_an_uncredited_or_foreign_course_is_refused(world, other_school):
    outcome = world.row()
    uncredited = world.enrol(world.student, world.term1, "Assembly", credits=0)
    for enrolment in (uncredited, World(other_school).enrolment):
        with pytest.raises(ValidationError) as exc:
            edit(world, outcome, enrolment=enrolment)
        assert list(exc.value.message_dict) == ["enrolment"]


def test_an_edit_that_changes_nothing_writes_no_audit(world):
    outcome = world.row()
    edit(world, outcome, title=" t ", description="d")
    assert not AuditLog.objects.filter(action="outcome.edit").exists()


# --- two requests at once ------------------------------------------------------------------------


@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="SQLite serializes writes; the service-level test covers the sequential case",
)
@pytest.mark.django_db(transaction=True)
def test_two_upload_requests_at_cap_minus_one_accept_exactly_one(
    school, storage_dir, make_member, monkeypatch
):
    import time

    world = World(school)  # a cap of two per term
    with time_machine.travel(world.inside, tick=False):
        client = student_client(world, make_member)
        world.row()  # one of two used
        real_row = outcome_services.stored_file_row

        def slow_row(*args, **kwargs):  # widen the gap between counting and creating
            time.sleep(0.3)
            return real_row(*args, **kwargs)

        monkeypatch.setattr(outcome_services, "stored_file_row", slow_row)

        def post():
            return client.post(ADD, form_data(world)).status_code

        statuses = at_once(post, post)
    assert sorted(statuses) == [200, 302]  # one redirected to the portfolio, one refused
    assert CourseOutcome.objects.count() == 2
    assert StoredFile.objects.count() == 2
    assert len(stored_files(storage_dir)) == 1  # the row made by world.row() has no file


# --- the upload's reads (issue 13: the upload path from the school's calendar) ----------------


def test_an_upload_reads_the_same_few_rows_whatever_the_student_has(
    world, alice, django_assert_max_num_queries
):
    for name in ("Biology", "Chemistry", "History", "Music"):
        world.enrol(world.student, world.term1, name)
    alice.post(ADD, form_data(world))
    # Session, user, membership, student, enrolments, extensions, places used, the cap
    # looked at, then under the lock: student, cap, stored file, outcome, audit.
    with django_assert_max_num_queries(15):
        response = alice.post(ADD, form_data(world, title="Second"))
    assert response.status_code == 302
    assert CourseOutcome.objects.count() == 2


def test_a_window_closed_after_the_page_was_read_refuses_the_upload_at_once(world, alice):
    page = alice.get(ADD).content.decode()
    assert '<form method="post" enctype' in page
    # The registry closes the window a minute ago, between the page and the post.
    world.window.ends_at = timezone.now() - dt.timedelta(minutes=1)
    world.window.save()
    response = english(alice).post(ADD, form_data(world))
    assert "Nothing was uploaded: the outcome-upload window is not open for you." in (
        response.content.decode()
    )
    assert CourseOutcome.objects.count() == 0
