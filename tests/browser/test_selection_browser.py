"""The student's selection in Chromium: live counters, the cap, preview, confirm, at desktop
and phone width, by mouse and by keyboard."""

import pytest
from playwright.sync_api import expect

from submissions.models import Selection
from tests.browser.helpers import sign_in, tab_to, zh
from tests.builders.selection import SelectionWorld

pytestmark = pytest.mark.browser


@pytest.fixture
def world(school, make_member):
    world = SelectionWorld(school, make_member)
    world.policy.outcome_selection_cap = 2
    world.policy.save()
    world.outcomes = [world.outcome(f"成果{i}") for i in range(3)]
    world.outcome("待認證的成果", state="submitted")
    world.performances = [world.performance("科展作品")]
    return world


def select_url(world):
    return f"/portfolio/selection/{world.year.roc_year}/"


@pytest.mark.parametrize("width", [1280, 390])
def test_the_student_selects_within_the_cap_and_confirms(live_server, page, world, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, world.member.user.username)
    page.goto(select_url(world))
    counter = page.locator("#outcomes-count")
    expect(counter).to_contain_text("0 / 2")
    # The uncertified outcome cannot be ticked, and says why.
    expect(page.get_by_label("待認證的成果")).to_be_disabled()
    expect(page.locator(".why")).to_contain_text(
        zh("Not certified yet: only outcomes the teacher has certified can be selected.")
    )

    page.get_by_label("成果0").check()
    page.get_by_label("成果1").check()
    expect(counter).to_contain_text("2 / 2")
    expect(page.get_by_label("成果2")).to_be_disabled()  # the cap is reached
    page.get_by_label("成果1").uncheck()
    expect(page.get_by_label("成果2")).to_be_enabled()
    page.get_by_label("成果2").check()
    page.get_by_label("科展作品").check()
    expect(page.locator("#performances-count")).to_contain_text("1 / 10")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name=zh("Save and preview")).click()
    expect(page.locator("h1")).to_contain_text(
        zh("What will be sent, %(year)s school year", year=world.year.roc_year)
    )
    # The roster names the course, not the title: the rows show what is sent.
    expect(page.locator("table").first).to_contain_text(world.outcomes[0].enrolment.course.name)
    expect(page.locator("main")).to_contain_text("作品成果紀錄")
    page.get_by_role("button", name=zh("Confirm this selection")).click()
    expect(page.locator("#selection-status")).to_contain_text(zh("Confirmed"))

    selection = Selection.objects.get()
    assert selection.is_confirmed
    assert sorted(o.title for o in selection.outcomes.all()) == ["成果0", "成果2"]


def test_the_selection_works_by_keyboard(live_server, page, world):
    sign_in(page, world.member.user.username)
    page.goto(select_url(world))
    tab_to(page, f"#pick-outcome-{world.outcomes[0].pk}")
    page.keyboard.press("Space")
    expect(page.locator("#outcomes-count")).to_contain_text("1 / 2")
    tab_to(page, "#selection-form button[type=submit]", limit=60)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert [o.pk for o in Selection.objects.get().outcomes.all()] == [world.outcomes[0].pk]
