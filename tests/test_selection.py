"""The year's selection for the central database: what may be ticked, the caps, the window,
confirmation, the lock when the window closes, the registry's reopening, and the pages."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from portfolio.models import AuditLog
from submissions import performance_categories as categories
from submissions.central import v108
from submissions.models import (
    ExtensionKind,
    FileFault,
    OutcomeState,
    PerformanceSource,
    PerformanceState,
    Selection,
)
from submissions.services import selection as services
from submissions.services.extensions import extension_grant
from tests.builders.people import acting, client_for, english
from tests.builders.selection import SelectionWorld


@pytest.fixture(autouse=True)
def _english():
    """The services' messages are read in English here (the pages' in their own tests)."""
    with translation.override("en"):
        yield


@pytest.fixture
def world(school, make_member):
    return SelectionWorld(school, make_member)


def save(world, outcomes=(), performances=(), now=None):
    return services.selection_save(
        student=world.student,
        school_year=world.year,
        outcome_ids=[o.pk for o in outcomes],
        performance_ids=[p.pk for p in performances],
        by=world.by,
        now=now or timezone.now(),
    )


def chosen(selection):
    return (
        sorted(selection.outcomes.values_list("pk", flat=True)),
        sorted(selection.performances.values_list("pk", flat=True)),
    )


# --- what may be ticked ------------------------------------------------------------------


def test_only_certified_outcomes_with_whole_files_and_own_performances_can_be_ticked(world):
    certified = world.outcome("certified")
    submitted = world.outcome("submitted", state=OutcomeState.SUBMITTED)
    world.outcome("rejected", state=OutcomeState.REJECTED)
    damaged = world.outcome("damaged")
    damaged.document.fault = FileFault.MISMATCH
    damaged.document.save()
    world.outcome("withdrawn", state=OutcomeState.WITHDRAWN)
    own = world.performance("own")
    draft = world.performance("draft", state=PerformanceState.DRAFT)
    world.performance("by the school", source=PerformanceSource.SCHOOL)

    state = services.selection_state(world.student, world.year, timezone.now())

    outcomes = {c.item.title: c for c in state.outcomes}
    assert set(outcomes) == {"certified", "submitted", "rejected", "damaged"}
    assert outcomes["certified"].selectable
    assert "Not certified yet" in outcomes["submitted"].reason
    assert "Rejected" in outcomes["rejected"].reason
    assert "damaged or missing" in outcomes["damaged"].reason
    performances = {c.item.name: c for c in state.performances}
    assert set(performances) == {"own", "draft"}
    assert performances["own"].selectable and "draft" in performances["draft"].reason

    with pytest.raises(ValidationError) as refused:
        save(world, [certified, submitted, damaged], [own, draft])
    problems = refused.value.message_dict
    assert len(problems["outcomes"]) == 2 and len(problems["performances"]) == 1
    assert not Selection.objects.filter(saved_at__isnull=False).exists()


def test_the_school_caps_are_kept_and_a_save_within_them_is_audited(world):
    world.policy.outcome_selection_cap = 2
    world.policy.performance_selection_cap = 1
    world.policy.save()
    outcomes = [world.outcome(f"o{i}") for i in range(3)]
    performances = [world.performance(f"p{i}") for i in range(2)]

    with pytest.raises(ValidationError) as refused:
        save(world, outcomes, performances)
    assert "at most 2" in refused.value.message_dict["outcomes"][0]
    assert "at most 1" in refused.value.message_dict["performances"][0]

    selection = save(world, outcomes[:2], performances[:1])
    assert chosen(selection) == ([o.pk for o in outcomes[:2]], [performances[0].pk])
    entry = AuditLog.objects.get(action="selection.save")
    assert entry.changes == {
        "outcomes": [[], [o.pk for o in outcomes[:2]]],
        "performances": [[], [performances[0].pk]],
    }
    # The same selection again changes and audits nothing.
    save(world, outcomes[:2], performances[:1])
    assert AuditLog.objects.filter(action="selection.save").count() == 1


def test_another_students_items_cannot_be_ticked(world, school, make_member):
    other = SelectionWorld(school, make_member, number="S2")
    theirs = other.outcome()
    with pytest.raises(ValidationError) as refused:
        save(world, [theirs])
    assert "not yours" in refused.value.message_dict["outcomes"][0]


def test_outside_the_window_nothing_changes(world):
    outcome = world.outcome()
    with pytest.raises(ValidationError) as refused:
        save(world, [outcome], now=world.after)
    assert "selection window" in refused.value.messages[0]
    with pytest.raises(ValidationError):
        save(world, [outcome], now=world.opens - dt.timedelta(minutes=1))


def test_a_window_for_another_grade_does_not_open_it(world):
    world.window.grade = 12
    world.window.save()
    with pytest.raises(ValidationError):
        save(world, [world.outcome()])


# --- confirmation -------------------------------------------------------------------------


def test_confirming_needs_a_saved_selection_and_a_change_asks_again(world):
    outcome, other = world.outcome("a"), world.outcome("b")
    with pytest.raises(ValidationError):
        services.selection_confirm(
            student=world.student, school_year=world.year, by=world.by, now=timezone.now()
        )
    save(world, [outcome])
    selection = services.selection_confirm(
        student=world.student, school_year=world.year, by=world.by, now=timezone.now()
    )
    assert selection.is_confirmed
    assert AuditLog.objects.get(action="selection.confirm").changes["outcomes"] == [outcome.pk]
    selection = save(world, [outcome, other])
    assert not selection.is_confirmed


def test_an_item_whose_file_broke_after_saving_cannot_be_confirmed(world):
    outcome = world.outcome()
    save(world, [outcome])
    outcome.document.fault = FileFault.MISSING
    outcome.document.save()
    with pytest.raises(ValidationError) as refused:
        services.selection_confirm(
            student=world.student, school_year=world.year, by=world.by, now=timezone.now()
        )
    assert "can no longer be sent" in refused.value.messages[0]


# --- the lock ------------------------------------------------------------------------------


def test_the_lock_makes_every_selection_of_the_grade_final_once(world, school, make_member):
    outcome = world.outcome()
    save(world, [outcome])
    silent = SelectionWorld(school, make_member, number="S2")  # never saved anything
    grade_11 = SelectionWorld(school, make_member, number="S3", class_name="201", grade=11)
    grade_11.window.ends_at = world.after + dt.timedelta(days=3)
    grade_11.window.save()

    assert services.selections_lock(world.closes - dt.timedelta(minutes=1)) == 0
    assert services.selections_lock(world.after) == 2
    assert services.selections_lock(world.after) == 0

    mine = Selection.objects.get(student=world.student)
    assert mine.is_locked and chosen(mine) == ([outcome.pk], [])
    assert Selection.objects.get(student=silent.student).is_locked
    assert not Selection.objects.filter(student=grade_11.student).exists()
    entries = AuditLog.objects.filter(action="selection.lock")
    assert sorted(int(e.target_id) for e in entries) == sorted(
        Selection.objects.filter(locked_at__isnull=False).values_list("pk", flat=True)
    )
    state = services.selection_state(world.student, world.year, world.after)
    assert state.is_final and not state.may_change


def test_the_registry_reopens_one_selection_which_locks_again_after(world, make_member):
    outcome, later = world.outcome("a"), world.outcome("b")
    save(world, [outcome])
    services.selections_lock(world.after)
    registry = acting(make_member(world.school, Role.REGISTRY))
    until = world.after + dt.timedelta(days=2)
    extension_grant(
        student=world.student,
        term=world.term2,
        kind=ExtensionKind.SELECTION,
        ends_at=until,
        reason="轉入生補勾選",
        by=registry,
        now=world.after,
    )
    assert AuditLog.objects.filter(action="window.extend").exists()
    moment = world.after + dt.timedelta(hours=1)
    state = services.selection_state(world.student, world.year, moment)
    assert state.may_change and not state.is_final

    selection = save(world, [outcome, later], now=moment)
    assert not selection.is_locked
    assert services.selections_lock(moment) == 0  # the extension runs
    assert services.selections_lock(until) == 1
    assert chosen(Selection.objects.get(pk=selection.pk))[0] == sorted([outcome.pk, later.pk])


# --- what will be sent --------------------------------------------------------------------


def test_the_preview_rows_are_roster_26_and_25_columns(world):
    outcome = world.outcome(code="108011302H11101A1010101")
    performance = world.performance()
    save(world, [outcome], [performance])
    sheets = services.preview_sheets(
        services.selection_state(world.student, world.year, timezone.now())
    )
    assert [(s.roster, s.sheet) for s in sheets] == [(26, "學期課程學習成果"), (25, "作品成果紀錄")]
    course = outcome.enrolment.course
    assert sheets[0].rows[0][1] == [
        f"{world.year.roc_year}1", "108011302H11101A1010101", course.name, 10, 2,
        "以單擺測量重力加速度。",
    ]  # fmt: skip
    assert sheets[1].columns == ("名稱", "日期", "內容簡述")
    assert sheets[1].rows[0][1][0] == "校內科展"


def test_every_category_fills_its_roster_25_sheet():
    """Each category's fields land in columns of its sheet, and each column is filled by
    something (證照名稱 is the student's own label: the roster names a certificate by code)."""
    for category in categories.CATEGORY_LIST:
        columns = set(v108.PERFORMANCE_SHEETS[category.sheet])
        filled = {category.name_column, "內容簡述"} | {f.column for f in category.fields}
        if category.dates == categories.RANGE:
            filled |= {"開始日期", "結束日期"}
        elif category.dates == categories.SINGLE:
            filled.add(category.date_column)
        assert columns - filled == set(), category.sheet
        assert filled - columns <= {"證照名稱"}, category.sheet
    assert list(v108.PERFORMANCE_SHEETS) == [c.sheet for c in categories.CATEGORY_LIST]


# --- the pages ------------------------------------------------------------------------------


def url(name, world):
    return reverse(f"selection:{name}", args=[world.year.roc_year])


def test_the_student_selects_previews_and_confirms_without_script(world):
    outcome = world.outcome()
    performance = world.performance()
    client = world.client()
    page = client.get(url("select", world))
    assert page.status_code == 200
    assert b'name="outcomes"' in page.content and b"0 / 6 course outcomes" in page.content

    response = client.post(
        url("select", world), {"outcomes": [outcome.pk], "performances": [performance.pk]}
    )
    assert response.status_code == 302 and response["Location"] == url("preview", world)
    preview = client.get(url("preview", world))
    assert outcome.enrolment.course.code.encode() in preview.content
    assert "學期課程學習成果".encode() in preview.content
    assert b"Confirm this selection" in preview.content

    assert client.post(url("confirm", world)).status_code == 302
    assert Selection.objects.get().is_confirmed
    sheet = client.get(url("sheet", world))
    assert sheet.status_code == 200
    assert world.school.name.encode() in sheet.content and b"sign-line" in sheet.content
    # The index goes straight to the one open year.
    assert client.get(reverse("selection:index"))["Location"] == url("select", world)


def test_a_refused_save_shows_the_ticks_and_the_message_by_the_group(world):
    world.policy.outcome_selection_cap = 1
    world.policy.save()
    outcomes = [world.outcome("a"), world.outcome("b")]
    response = world.client().post(url("select", world), {"outcomes": [o.pk for o in outcomes]})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-summary"' in html and 'href="#outcomes-fieldset"' in html
    assert html.count("checked") == 2
    assert not Selection.objects.filter(saved_at__isnull=False).exists()


def test_a_closed_window_shows_the_form_disabled(world):
    world.outcome()
    with time_machine.travel(world.after):
        html = world.client().get(url("select", world)).content.decode()
    assert 'plain-fieldset" disabled' in html and "Save and preview" not in html


def test_hostile_ids_are_refused_plainly(world):
    response = world.client().post(url("select", world), {"outcomes": ["²", "9" * 30]})
    assert response.status_code == 400


def test_a_year_without_selection_and_another_schools_student_are_404(
    world, other_school, make_member
):
    assert world.client().get(reverse("selection:select", args=[99])).status_code == 404
    stranger = SelectionWorld(other_school, make_member)
    stranger.window.delete()
    response = stranger.client().get(url("select", world))
    assert response.status_code == 404


def test_a_classmate_sees_only_their_own_items(world, school, make_member):
    world.outcome("mine only")
    classmate = SelectionWorld(school, make_member, number="S2")
    html = classmate.client().get(url("select", world)).content.decode()
    assert "mine only" not in html


def test_staff_cannot_open_the_selection_pages(world, school, make_member):
    for role in (Role.REGISTRY, Role.HOMEROOM, Role.TEACHER):
        client = english(client_for(make_member(school, role)))
        assert client.get(url("select", world)).status_code == 403


def test_the_page_queries_do_not_grow_with_items(world):
    client = world.client()

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("select", world)).status_code == 200
        return len(queries)

    world.outcome()
    world.performance()
    few = count()
    for i in range(20):
        world.outcome(f"o{i}")
        world.performance(f"p{i}")
    assert count() == few


def test_a_confirmation_refused_says_why_on_the_preview(world):
    outcome = world.outcome("壞掉的檔案")
    client = world.client()
    client.post(url("select", world), {"outcomes": [outcome.pk]})
    outcome.document.fault = FileFault.MISSING
    outcome.document.save()
    response = client.post(url("confirm", world))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="error-summary"' in html and "can no longer be sent" in html
    assert not Selection.objects.get().is_confirmed


def test_the_registry_reopening_shows_its_reason_to_the_student(world, make_member):
    world.outcome()
    services.selections_lock(world.after)
    registry = acting(make_member(world.school, Role.REGISTRY))
    extension_grant(
        student=world.student,
        term=world.term2,
        kind=ExtensionKind.SELECTION,
        ends_at=world.after + dt.timedelta(days=2),
        reason="轉入生補勾選",
        by=registry,
        now=world.after,
    )
    with time_machine.travel(world.after + dt.timedelta(hours=1)):
        html = world.client().get(url("select", world)).content.decode()
    assert "轉入生補勾選" in html and "Save and preview" in html
