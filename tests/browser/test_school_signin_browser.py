"""Sign-in with the school's own accounts in a real browser (issue 14): a student of a school
whose OpenID Connect provider is configured picks the school on the sign-in page, signs in
on the provider's page (a local issuer over real HTTP, tests/builders/oidc.py) and lands on
their home page; at a desk's width with the mouse, on a phone with the keyboard alone."""

import io
import re

import pytest
from django.core.management import call_command
from django.utils import translation
from playwright.sync_api import Page, expect

from accounts import services as account_services
from accounts.models import Role
from tests.browser.helpers import focused, no_sideways_scroll, tab_to, zh
from tests.builders.oidc import Issuer, Person, serving
from tests.builders.people import PASSWORD

pytestmark = pytest.mark.browser

EMAIL = "s1100001@school.example.edu.tw"


@pytest.fixture
def issuer(school, tmp_path):
    issuer = Issuer(client_id="portfolio-browser", client_secret="browser-secret")
    secret = tmp_path / "client-secret"
    secret.write_text("browser-secret")
    with serving(issuer):
        call_command(
            "school_signin",
            school.code,
            "--kind=oidc",
            f"--issuer={issuer.url}",
            "--client-id=portfolio-browser",
            f"--secret-file={secret}",
            "--domains=school.example.edu.tw",
            stdout=io.StringIO(),
        )
        yield issuer


@pytest.mark.parametrize("width", [1280, 390])
def test_a_student_signs_in_with_the_schools_account(
    live_server, transactional_db, page: Page, school, issuer, width
):
    account_services.member_create(
        school=school, username="s1100001", name="林小明", email=EMAIL, password=PASSWORD,
        role=Role.STUDENT, division="day", by=None,
    )  # fmt: skip
    issuer.person = Person(sub="cloud-4711", email=EMAIL)
    page.set_viewport_size({"width": width, "height": 900})

    page.goto("/accounts/login/")
    section = page.get_by_role("region", name=zh("Sign in with your school's account"))
    expect(section.get_by_label(zh("Your school"))).to_have_value(school.code)
    no_sideways_scroll(page)
    if width > 600:
        section.get_by_role("button", name=zh("Continue to my school's sign-in")).click()
    else:
        tab_to(page, "form.school-signin button[type=submit]")
        assert focused(page, "form.school-signin button[type=submit]")
        page.keyboard.press("Enter")

    # The issuer's own page, on another origin.
    expect(page).to_have_url(re.compile("^" + re.escape(f"{issuer.url}/authorize?")))
    page.get_by_role("button", name=f"Sign in as {EMAIL}").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator(".site-header .who")).to_contain_text("林小明")
    expect(page.locator(".site-header .school")).to_have_text(school.name)
    with translation.override("zh-hant"):
        student = str(Role.STUDENT.label)
    expect(page.locator(".site-header .role")).to_contain_text(student)
    no_sideways_scroll(page)
    assert issuer.refusals == []
