"""The platform operator in a real browser: a second school created at a desk's width, its
first administrator following the mailed link to set a password, signing in and setting up
the school year; the operator's list on a phone."""

import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from accounts.models import Role, User
from portfolio.models import School, SchoolYear
from tests.browser.helpers import no_sideways_scroll, sign_in, zh
from tests.builders.operator import mailed_link, make_operator

pytestmark = pytest.mark.browser

EMAIL = "head@second.example.edu.tw"
NEW_PASSWORD = "Second-school-admin-7"


def _label(choice) -> str:
    with translation.override("zh-hant"):
        return str(choice.label)


def test_operator_creates_a_school_and_its_administrator_sets_it_up(
    live_server, transactional_db, page: Page, new_context, settings, school
):
    settings.SITE_URL = live_server.url
    make_operator()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, "olga")
    expect(page).to_have_url(f"{live_server.url}/operator/")
    expect(page.locator("main h1")).to_have_text(zh("Schools on the platform"))
    expect(page.locator("main")).to_contain_text(school.name)

    page.get_by_role("link", name=zh("Add a school")).click()
    page.get_by_label(zh("School code")).fill("200002")
    page.get_by_label(zh("School name")).fill("第二高級中學")
    page.get_by_label(zh("English name (optional)")).fill("Second Senior High")
    page.get_by_label(zh("The school has a continuing-education division")).check()
    page.get_by_label(zh("First school administrator's e-mail")).fill(EMAIL)
    with page.expect_navigation():
        page.get_by_role("button", name=zh("Create the school")).click()
    expect(page).to_have_url(f"{live_server.url}/operator/schools/200002/")
    expect(page.locator(".messages")).to_contain_text(EMAIL)
    expect(page.locator("main")).to_contain_text(zh("never signed in"))
    assert School.objects.get(code="200002").has_continuing_division

    # The new administrator, in a browser of their own, follows the link in the e-mail.
    link = mailed_link(EMAIL)
    assert link.startswith(f"{live_server.url}/accounts/password/reset/key/")
    newcomer = new_context(viewport={"width": 1280, "height": 900}).new_page()
    newcomer.goto(link)
    newcomer.locator("#id_password1").fill(NEW_PASSWORD)
    newcomer.locator("#id_password2").fill(NEW_PASSWORD)
    with newcomer.expect_navigation():
        newcomer.locator('main form button[name="action"]').click()
    expect(newcomer).to_have_url(re.compile(r"/accounts/password/reset/key/done/$"))
    assert User.objects.get(email=EMAIL).check_password(NEW_PASSWORD)

    newcomer.goto("/accounts/login/")
    newcomer.fill("#id_login", EMAIL)
    newcomer.fill("#id_password", NEW_PASSWORD)
    with newcomer.expect_navigation():
        newcomer.locator("main form button[type=submit]").click()
    expect(newcomer).to_have_url(f"{live_server.url}/")
    expect(newcomer.locator(".site-header .school")).to_have_text("第二高級中學")
    expect(newcomer.locator(".site-header .role")).to_contain_text(_label(Role.SCHOOL_ADMIN))

    # The home page says the year is not set up yet, and leads to where it is.
    expect(newcomer.locator("main")).to_contain_text(
        zh("This school year has not been set up yet.")
    )
    with newcomer.expect_navigation():
        newcomer.locator("main").get_by_role("link", name=zh("Add the school year")).click()
    expect(newcomer).to_have_url(f"{live_server.url}/manage/schedule/years/add/")
    expect(newcomer.locator("main h1")).to_have_text(zh("Add a school year"))
    with newcomer.expect_navigation():
        newcomer.get_by_role("button", name=zh("Add the school year")).click()
    expect(newcomer.locator(".messages")).to_be_visible()
    assert SchoolYear.objects.filter(school__code="200002").count() == 1

    # Back at the operator's list, on a phone: the new school, nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/operator/")
    expect(page.locator("main")).to_contain_text("第二高級中學")
    no_sideways_scroll(page)
