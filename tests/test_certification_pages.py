"""The certification pages: the teacher's queue, the registry's proxy page and the decisions
through the views, as the teacher meets them (keyboard, anchors, messages, errors)."""

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts import acting as acting_session
from accounts import services as account_services
from accounts.models import Division, Role
from certification.forms import DecisionForm
from certification.services import outcome_certify, outcome_reject
from portfolio.models import AuditLog
from records.models import SchoolClass
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from tests.builders.certification import CertWorld
from tests.builders.people import acting, client_for, english

QUEUE = reverse("certification:queue")
PROXY = reverse("certification:proxy")
MANY = reverse("certification:certify_many")


def decide_url(outcome, query=""):
    url = reverse("certification:decide", kwargs={"pk": outcome.pk})
    return f"{url}?{query}" if query else url


def seen(outcome) -> dict[str, str]:
    outcome.refresh_from_db()
    return {f"o{outcome.pk}-seen_at": str(timezone.localtime(outcome.updated_at))}


@pytest.fixture
def w(school, make_member, storage_dir):
    world = CertWorld(school, make_member)
    with time_machine.travel(world.now, tick=False):
        yield world


@pytest.fixture
def tan(w):
    return english(client_for(w.teacher))


def text(response) -> str:
    return response.content.decode()


# --- the queue ---------------------------------------------------------------------------------


def test_queue_shows_the_teachers_items_grouped_with_counts_and_files(w, tan, make_member):
    second = SchoolClass.objects.create(
        school=w.school, school_year=w.term1.school_year, name="102", grade=10
    )
    first = w.outcome_of(w.student_in("王小明", seat=7))
    w.outcome_of(w.student_in("李小華", klass=second, seat=3))
    first.student.national_id = "A123456789"
    first.student.save()
    stored = StoredFile.objects.create(
        school=w.school,
        student=first.student,
        storage_key="m" * 32 + ".mp3",
        display_name="talk.mp3",
        extension="mp3",
        mime="audio/mpeg",
        size=2048,
        sha256="0" * 64,
    )
    first.media = stored
    first.save()
    art = w.enrol(w.student, w.term1, "Art").course  # not Tan's course
    not_mine = w.outcome_of(w.student, course=art)
    w.row(state=OutcomeState.DRAFT)  # a draft never reaches the teacher

    page = text(tan.get(QUEUE))
    assert "Certifying confirms only that an outcome is the student's own work" in page
    assert "never a judgement of its quality or a grade" in page
    assert "2 awaiting in all" in page
    assert "Physics" in page and w.course.code in page and "term 1" in page
    assert "2 awaiting" in page
    assert "Certification open: 30 days left" in page
    assert (
        page.index("Class 101")
        < page.index("王小明")
        < page.index("Class 102")
        < page.index("李小華")
    )
    assert "seat 7" in page
    assert "A123456789" not in page and "A12345" not in page
    assert reverse("files:inline", args=[first.document.pk]) in page
    assert reverse("files:inline", args=[stored.pk]) in page and "<audio" in page
    assert f'id="item-{first.pk}"' in page
    assert f'id="item-{not_mine.pk}"' not in page and "Art" not in page
    assert page.count('name="action" value="certify"') == 2
    assert "Certify selected" in page and "Reject…" in page
    assert "not the student" in page.lower()  # the reason list, in place
    assert "quality" not in page.split('id="meaning"')[1].split("</p>", 1)[1]


def test_enter_in_the_queue_form_decides_nothing(w, tan):
    """Enter in a tick box presses the form's first button: one that asks for nothing."""
    outcome = w.row()
    page = text(tan.get(QUEUE))
    form = page[page.index('id="queue-form"') :]
    first_button = re.search(r"<button[^>]*>", form).group(0)
    assert 'name="enter"' in first_button
    assert re.search(r'<div hidden><button type="submit" name="enter"', form)
    response = tan.post(
        MANY, {"enter": "1", "selected": [outcome.pk], **seen(outcome)}, follow=True
    )
    assert "Enter alone decides nothing" in text(response)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED


def test_keys_are_announced_for_the_script_and_the_script_is_loaded(w, tan):
    w.row()
    page = text(tan.get(QUEUE))
    assert "js/certification.js" in page
    assert re.search(r'id="keys-help" hidden data-keys-help>[^<]*J next item', page)


def test_empty_queue_teaches(w, tan):
    page = text(tan.get(QUEUE))
    assert 'id="empty"' in page
    assert "Outcomes appear here when students of the courses you teach upload" in page
    assert "0 awaiting in all" in page


def test_filters_by_course_and_class(w, tan):
    second = SchoolClass.objects.create(
        school=w.school, school_year=w.term1.school_year, name="102", grade=10
    )
    in_101 = w.row()
    in_102 = w.outcome_of(w.student_in("B", klass=second))
    biology = w.enrol(w.student, w.term1, "Biology").course
    biology.teachers.add(w.teacher.user)
    in_bio = w.outcome_of(w.student, course=biology)
    page = text(tan.get(QUEUE, {"school_class": second.pk}))
    assert f'id="item-{in_102.pk}"' in page
    assert f'id="item-{in_101.pk}"' not in page and f'id="item-{in_bio.pk}"' not in page
    page = text(tan.get(QUEUE, {"course": biology.pk}))
    assert f'id="item-{in_bio.pk}"' in page and f'id="item-{in_101.pk}"' not in page
    # A course that is not the teacher's is not a choice: the filter says so, nothing leaks.
    art = w.enrol(w.student, w.term1, "Art").course
    response = tan.get(QUEUE, {"course": art.pk})
    assert "Select a valid choice" in text(response)


def test_decided_outcomes_of_the_last_two_weeks(w, tan, make_member):
    recent = outcome_certify(outcome=w.row(), by=acting(w.teacher))
    rejected = outcome_reject(
        outcome=w.row(),
        reason_code="other",
        reason_text="Whose file is this?",
        by=acting(w.teacher),
    )
    old = outcome_certify(outcome=w.row(), by=acting(w.teacher))
    CourseOutcome.objects.filter(pk=old.pk).update(certified_at=w.now - dt.timedelta(days=15))
    waiting = w.row()
    page = text(tan.get(QUEUE, {"show": "decided"}))
    assert f'id="item-{recent.pk}"' in page and f'id="item-{rejected.pk}"' in page
    assert f'id="item-{old.pk}"' not in page and f'id="item-{waiting.pk}"' not in page
    assert "Certified by Teacher Tan" in page and "Rejected by Teacher Tan" in page
    assert "Whose file is this?" in page
    assert 'value="certify"' not in page
    page = text(tan.get(QUEUE))
    assert f'id="item-{waiting.pk}"' in page and f'id="item-{recent.pk}"' not in page


def test_window_not_open_shows_dates_and_no_buttons(w, make_member):
    w.row()
    with time_machine.travel(w.cert_opens - dt.timedelta(days=2), tick=False):
        page = text(english(client_for(w.teacher)).get(QUEUE))
    opens = timezone.localtime(w.cert_opens).strftime("%Y-%m-%d %H:%M")
    assert "Certification not open yet" in page and opens in page
    assert 'value="certify"' not in page and 'name="selected"' not in page
    assert "while the certification window is open" in page


def test_query_count_does_not_grow_with_items(
    w, tan, django_assert_num_queries, django_assert_max_num_queries
):
    second = SchoolClass.objects.create(
        school=w.school, school_year=w.term1.school_year, name="102", grade=10
    )

    def add(n, start):
        for i in range(start, start + n):
            klass = second if i % 2 else w.klass
            w.outcome_of(w.student_in(f"S{i}", klass=klass, seat=i % 40 + 1))

    add(5, 0)
    tan.get(QUEUE)  # the session's first use may write; measure the pages after it
    with django_assert_max_num_queries(25) as few:
        assert tan.get(QUEUE).status_code == 200
    add(45, 5)
    with django_assert_num_queries(len(few.captured_queries)):
        page = text(tan.get(QUEUE))
    assert page.count('name="selected"') == 50


# --- one decision --------------------------------------------------------------------------------


def test_certify_returns_to_the_next_item_with_the_filters(w, tan):
    first, second = w.outcome_of(w.student_in("A", seat=1)), w.outcome_of(w.student_in("B", seat=2))
    query = f"school_class={w.klass.pk}&page=1"
    response = tan.post(
        decide_url(first, f"{query}&next={second.pk}"), {"action": "certify", **seen(first)}
    )
    assert response.status_code == 302
    assert response.url == f"{QUEUE}?{query}#item-{second.pk}"
    first.refresh_from_db()
    assert first.state == OutcomeState.CERTIFIED and first.certified_by == w.teacher.user
    page = text(tan.get(response.url))
    assert "Certified: “t” by A." in page
    assert f'id="item-{first.pk}"' not in page


def test_the_queue_page_carries_what_the_buttons_need(w, tan):
    first, second = w.outcome_of(w.student_in("A", seat=1)), w.outcome_of(w.student_in("B", seat=2))
    page = text(tan.get(QUEUE, {"school_class": w.klass.pk}))
    action = f'formaction="{decide_url(first)}?school_class={w.klass.pk}&amp;next={second.pk}"'
    assert action in page
    first.refresh_from_db()
    hidden = re.search(rf'name="o{first.pk}-seen_at" value="([^"]+)"', page).group(1)
    # What the page carries is what the view reads back as the moment it showed.
    response = tan.post(decide_url(first), {"action": "certify", f"o{first.pk}-seen_at": hidden})
    first.refresh_from_db()
    assert first.state == OutcomeState.CERTIFIED, response


def test_the_time_a_page_carries_reads_back_as_the_same_moment():
    moment = dt.datetime(2026, 1, 26, 0, 0, 0, 123456, tzinfo=dt.UTC)
    shown = str(DecisionForm(pk=5, initial={"seen_at": moment})["seen_at"])
    value = re.search(r'value="([^"]+)"', shown).group(1)
    form = DecisionForm({"o5-seen_at": value}, pk=5)
    assert form.is_valid() and form.cleaned_data["seen_at"] == moment


def test_certify_refused_when_the_outcome_changed(w, tan):
    outcome = w.row()
    stale = {f"o{outcome.pk}-seen_at": "2020-01-01 00:00:00+08:00"}
    response = tan.post(decide_url(outcome, "next=99"), {"action": "certify", **stale}, follow=True)
    assert response.redirect_chain[-1][0] == f"{QUEUE}#item-{outcome.pk}"
    assert "changed since you opened the page" in text(response)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    response = tan.post(decide_url(outcome), {"action": "certify"}, follow=True)
    assert "The page was out of date" in text(response)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED


def test_reject_through_the_view(w, tan):
    outcome, following = w.row(), w.row()
    response = tan.post(
        decide_url(outcome, f"next={following.pk}"),
        {
            "action": "reject",
            f"o{outcome.pk}-reason_code": "description_mismatch",
            f"o{outcome.pk}-reason_text": "The description is about another experiment.",
            **seen(outcome),
        },
    )
    assert response.status_code == 302 and response.url == f"{QUEUE}#item-{following.pk}"
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.REJECTED
    assert outcome.rejection_reason.endswith("\nThe description is about another experiment.")
    assert "Rejected: “t” by 甲" in text(tan.get(QUEUE))


def test_reject_without_a_reason_shows_the_error_next_to_the_field(w, tan):
    outcome = w.row()
    response = tan.post(decide_url(outcome), {"action": "reject", **seen(outcome)})
    assert response.status_code == 200
    page = text(response)
    assert "Choose the reason for sending the outcome back." in page
    assert 'class="field has-error"' in page
    assert 'id="error-summary"' in page and f'href="#id_o{outcome.pk}-reason_code"' in page
    response = tan.post(
        decide_url(outcome),
        {"action": "reject", f"o{outcome.pk}-reason_code": "other", **seen(outcome)},
    )
    page = text(response)
    assert "needs your words" in page
    assert (
        f'aria-describedby="id_o{outcome.pk}-reason_text_helptext id_o{outcome.pk}-reason_text_error"'
        in page
    )
    assert re.search(r'<input type="radio"[^>]*value="other"[^>]*checked', page)  # kept
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    assert not AuditLog.objects.filter(action="outcome.reject").exists()


def test_reject_page_of_its_own(w, tan):
    outcome = w.row()
    url = reverse("certification:reject", kwargs={"pk": outcome.pk})
    page = text(tan.get(url))
    assert "Reject a course outcome" in page and "Certifying confirms only" in page
    assert f'action="{decide_url(outcome)}"' in page
    assert f'name="o{outcome.pk}-seen_at"' in page
    assert "It is not the student&#x27;s own work." in page
    with time_machine.travel(w.cert_closes, tick=False):
        page = text(english(client_for(w.teacher)).get(url))
    assert 'id="window-closed"' in page and "none is open or scheduled" in page
    assert 'value="reject"' not in page
    CourseOutcome.objects.filter(pk=outcome.pk).update(state=OutcomeState.CERTIFIED)
    page = text(tan.get(url))
    assert 'id="not-awaiting"' in page and 'value="reject"' not in page


def test_an_unknown_action_decides_nothing(w, tan):
    outcome = w.row()
    response = tan.post(decide_url(outcome), {"action": "delete", **seen(outcome)}, follow=True)
    assert "Choose Certify or Reject." in text(response)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED


# --- several at once -----------------------------------------------------------------------------


def test_certify_selected_partial_success(w, tan, make_member):
    a, b, c = w.row(), w.row(), w.row()
    art = w.enrol(w.student, w.term1, "Art").course
    other_teachers = w.outcome_of(w.student, course=art)
    art.teachers.add(make_member(w.school, Role.TEACHER).user)
    data = {
        "selected": [a.pk, b.pk, c.pk, other_teachers.pk, "x"],
        **seen(a),
        **seen(b),
        f"o{c.pk}-seen_at": "2020-01-01 00:00:00+08:00",
    }
    response = tan.post(f"{MANY}?show=awaiting", data)
    assert response.status_code == 302
    assert response.url == f"{QUEUE}?show=awaiting#item-{c.pk}"
    states = dict(CourseOutcome.objects.values_list("pk", "state"))
    assert states[a.pk] == states[b.pk] == OutcomeState.CERTIFIED
    assert states[c.pk] == states[other_teachers.pk] == OutcomeState.SUBMITTED
    page = text(tan.get(response.url))
    assert "2 certified, 2 refused:" in page
    assert "changed since you opened the page" in page
    assert "not yours to decide on" in page


def test_certify_selected_all_done_and_nothing_selected(w, tan):
    a, b = w.row(), w.row()
    response = tan.post(MANY, {"selected": [a.pk, b.pk], **seen(a), **seen(b)}, follow=True)
    assert "2 outcomes certified." in text(response)
    response = tan.post(MANY, {}, follow=True)
    assert "Tick the outcomes to certify first." in text(response)
    # An item whose time the page did not carry is refused, not certified blind.
    c = w.row()
    response = tan.post(MANY, {"selected": [c.pk]}, follow=True)
    assert "0 certified, 1 refused" in text(response) and "out of date" in text(response)


# --- who may --------------------------------------------------------------------------------------


def test_another_teacher_of_the_school_gets_404(w, make_member):
    outcome = w.row()
    bob = english(client_for(make_member(w.school, Role.TEACHER)))
    assert f'id="item-{outcome.pk}"' not in text(bob.get(QUEUE))
    assert bob.post(decide_url(outcome), {"action": "certify", **seen(outcome)}).status_code == 404
    assert bob.get(reverse("certification:reject", kwargs={"pk": outcome.pk})).status_code == 404
    bob.post(MANY, {"selected": [outcome.pk], **seen(outcome)})
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED


def test_a_teacher_of_another_school_gets_404(w, make_member, other_school):
    outcome = w.row()
    charlie_member = make_member(other_school, Role.TEACHER)
    w.course.teachers.add(charlie_member.user)  # even if named on the course by mistake
    charlie = client_for(charlie_member)
    assert (
        charlie.post(decide_url(outcome), {"action": "certify", **seen(outcome)}).status_code == 404
    )
    assert (
        charlie.get(reverse("certification:reject", kwargs={"pk": outcome.pk})).status_code == 404
    )
    assert f'id="item-{outcome.pk}"' not in text(charlie.get(QUEUE))


@pytest.mark.parametrize(
    "role", [Role.STUDENT, Role.HOMEROOM, Role.CURRICULUM, Role.SCHOOL_ADMIN, Role.WORKING_GROUP]
)
def test_other_roles_get_403(w, make_member, role):
    outcome = w.row()
    client = client_for(make_member(w.school, role))
    assert client.get(QUEUE).status_code == 403
    assert client.get(PROXY).status_code == 403
    assert (
        client.post(decide_url(outcome), {"action": "certify", **seen(outcome)}).status_code == 403
    )
    assert client.post(MANY, {"selected": [outcome.pk]}).status_code == 403


def test_a_deputy_decides_for_the_teacher(w, make_member):
    stand_in = make_member(w.school, Role.TEACHER, name="Deputy Lin")
    deputy = account_services.deputy_create(
        school=w.school,
        role=Role.TEACHER,
        division=Division.DAY,
        principal=w.teacher.user,
        deputy=stand_in.user,
        order=1,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=5),
        by=None,
    )
    client = english(client_for(stand_in))
    session = client.session
    session[acting_session.SESSION_KEY] = {"membership": w.teacher.pk, "deputy": deputy.pk}
    session.save()
    outcome = w.row()
    assert f'id="item-{outcome.pk}"' in text(client.get(QUEUE))
    client.post(decide_url(outcome), {"action": "certify", **seen(outcome)})
    outcome.refresh_from_db()
    assert outcome.certified_by == w.teacher.user
    log = AuditLog.objects.get(action="outcome.certify")
    assert (log.actor, log.on_behalf_of) == (stand_in.user, w.teacher.user)


# --- the registry's proxy page -------------------------------------------------------------------


@pytest.fixture
def rita(w, make_member):
    return english(client_for(make_member(w.school, Role.REGISTRY)))


def test_proxy_page_lists_courses_whose_teachers_left(w, rita, make_member):
    kept = w.row()  # Physics: Tan is still here
    art = w.enrol(w.student, w.term1, "Art").course
    gone = make_member(w.school, Role.TEACHER, name="Former Fang")
    art.teachers.add(gone.user)
    gone.is_active = False
    gone.save()
    orphan = w.outcome_of(w.student, course=art)
    music = w.enrol(w.student, w.term1, "Music").course
    no_teacher = w.outcome_of(w.student, course=music)
    page = text(rita.get(PROXY))
    assert "Proxy certification" in page and "Certifying confirms only" in page
    assert f'id="item-{orphan.pk}"' in page and f'id="item-{no_teacher.pk}"' in page
    assert f'id="item-{kept.pk}"' not in page
    assert "Former Fang" in page and "No teacher is recorded for this course." in page
    assert "2 awaiting in all" in page


def test_registry_decides_through_the_same_url_and_returns_to_the_proxy_page(w, rita):
    w.course.teachers.clear()
    outcome, following = w.row(), w.row()
    response = rita.post(
        decide_url(outcome, f"next={following.pk}"), {"action": "certify", **seen(outcome)}
    )
    assert response.url == f"{PROXY}#item-{following.pk}"
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.CERTIFIED
    assert AuditLog.objects.get(action="outcome.certify").changes["proxy"] is True
    response = rita.post(MANY, {"selected": [following.pk], **seen(following)}, follow=True)
    assert "1 outcome certified." in text(response)
    assert response.redirect_chain[-1][0] == PROXY


def test_registry_gets_404_on_a_course_with_a_teacher(w, rita):
    outcome = w.row()
    assert rita.post(decide_url(outcome), {"action": "certify", **seen(outcome)}).status_code == 404
    assert rita.get(QUEUE).status_code == 403


def test_empty_proxy_page_teaches(w, rita):
    w.row()
    page = text(rita.get(PROXY))
    assert 'id="empty"' in page and "none of its teachers is still an active teacher" in page
