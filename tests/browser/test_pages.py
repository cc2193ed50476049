"""The pages as a person meets them in a real browser: sign in, roles, language, schedule.

Data is built with the real services (tests/conftest.py); the browser talks to
pytest-django's live server. Assertions use what the same process would render, so
they hold whether or not the Traditional Chinese catalogue has a given string yet.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from allauth.account.forms import LoginForm
from django.utils import translation
from django.utils.formats import date_format
from playwright.sync_api import Page, expect

from accounts import services as account_services
from accounts.models import Division, Role
from portfolio import rules
from portfolio.lib import roc
from portfolio.models import AuditLog, Window, WindowKind
from tests.browser.helpers import focused, tab_to
from tests.browser.helpers import sign_in_with_keys as sign_in
from tests.builders.people import PASSWORD

pytestmark = pytest.mark.browser

ZH = "zh-hant"
TAIPEI = ZoneInfo("Asia/Taipei")


def label(choice, language: str = ZH) -> str:
    with translation.override(language):
        return str(choice.label)


def label_of_login(language: str) -> str:
    with translation.override(language):
        return str(LoginForm().fields["login"].label)


def at_home(page: Page, live_server) -> None:
    expect(page).to_have_url(f"{live_server.url}/")


def test_sign_in_with_one_role_goes_straight_home(
    live_server, transactional_db, page, school, make_member
):
    make_member(school, Role.TEACHER, username="tina")
    sign_in(page, "tina")
    at_home(page, live_server)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    expect(page.locator("main h1")).to_contain_text(label(Role.TEACHER))
    expect(page.locator(".site-header .role")).to_have_text(label(Role.TEACHER))
    expect(page.locator(".site-header .school")).to_have_text(school.name)


def test_wrong_password_keeps_you_on_the_sign_in_page(
    live_server, transactional_db, page, school, make_member
):
    make_member(school, Role.TEACHER, username="tina")
    sign_in(page, "tina", password="not-the-password")
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(page.locator("#id_login")).to_have_value("tina")
    expect(page.locator(".site-header .role")).to_have_count(0)


def test_two_roles_pick_one_by_keyboard(live_server, transactional_db, page, school, make_member):
    admin = make_member(school, Role.SCHOOL_ADMIN, username="dana")
    account_services.membership_add(
        school=school, user=admin.user, role=Role.TEACHER, division=Division.DAY, by=None
    )
    sign_in(page, "dana")
    expect(page).to_have_url(re.compile(r"/switch/\?next=(/|%2F)$"))
    radios = page.locator('input[type="radio"][name="context"]')
    expect(radios).to_have_count(2)

    wanted = page.locator(".radio").filter(has_text=label(Role.TEACHER)).locator("input")
    wanted_id = wanted.get_attribute("id")
    tab_to(page, 'input[name="context"]:checked')
    for _ in range(3):
        if wanted.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(wanted).to_be_checked()
    assert focused(page, f"#{wanted_id}")
    page.keyboard.press("Tab")
    assert focused(page, 'form.stacked button[type="submit"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")

    at_home(page, live_server)
    expect(page.locator(".site-header .role")).to_have_text(label(Role.TEACHER))
    # The admin's menu belongs to the other role.
    expect(page.locator('nav a[href="/manage/schedule/"]')).to_have_count(0)


def test_language_defaults_to_traditional_chinese_and_switches_to_english(
    live_server, transactional_db, page, school, make_member
):
    make_member(school, Role.SCHOOL_ADMIN, username="alice")
    page.goto("/accounts/login/")
    html = page.locator("html")
    select = page.locator("#language-select")
    expect(html).to_have_attribute("lang", "zh-Hant-TW")
    expect(select).to_have_value("zh-hant")
    # allauth's own catalogue already says these in Chinese.
    expect(page.locator('label[for="id_password"]')).to_contain_text("密碼")
    expect(page.locator('label[for="id_login"]')).to_contain_text(label_of_login(ZH))

    select.select_option("en")
    with page.expect_navigation():
        page.locator(".language-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/$"))
    expect(html).to_have_attribute("lang", "en")
    expect(select).to_have_value("en")
    expect(page.locator('label[for="id_password"]')).to_contain_text("Password")
    expect(page.locator(".language-form button[type=submit]")).to_have_text("Switch")
    expect(page.locator("main h1")).to_have_text("Sign in")

    # The choice lasts across sign-in.
    page.fill("#id_login", "alice")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    at_home(page, live_server)
    expect(html).to_have_attribute("lang", "en")
    expect(page.locator(".site-header .role")).to_have_text("School administrator")

    # And back, by keyboard this time.
    tab_to(page, "#language-select")
    select.select_option("zh-hant")
    page.keyboard.press("Tab")
    assert focused(page, ".language-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    at_home(page, live_server)
    expect(html).to_have_attribute("lang", "zh-Hant-TW")
    expect(page.locator(".site-header .role")).to_have_text(label(Role.SCHOOL_ADMIN))


@pytest.mark.parametrize(
    "browser_locale",
    [pytest.param("en-US", id="en-US"), pytest.param("fr-FR", id="fr-FR")],
)
def test_the_browser_language_does_not_override_traditional_chinese(
    live_server, transactional_db, browser, browser_context_args, browser_locale
):
    """The site speaks the school's language until someone presses Switch."""
    context = browser.new_context(**{**browser_context_args, "locale": browser_locale})
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
        expect(page.locator("#language-select")).to_have_value("zh-hant")
        expect(page.locator('label[for="id_password"]')).to_contain_text("密碼")
    finally:
        context.close()


def test_outcome_window_closing_too_early_is_refused_next_to_the_field(
    live_server, transactional_db, page, school, make_member, current_roc_year
):
    make_member(school, Role.SCHOOL_ADMIN, username="alice")
    term1 = school.terms.get(school_year__roc_year=current_roc_year, number=1)
    y = current_roc_year + roc.ROC_OFFSET
    assert term1.closing_day == dt.date(y + 1, 1, 20)
    opens = f"{y + 1}-01-05T08:00"
    too_early = f"{y + 1}-01-27T17:00"  # one week after the closing day
    audit_before = AuditLog.objects.count()

    sign_in(page, "alice")
    at_home(page, live_server)
    page.goto("/manage/schedule/")
    add = page.locator(f'a[href="/manage/schedule/windows/add/?term={term1.pk}"]')
    expect(add).to_have_count(1)
    with page.expect_navigation():
        add.click()
    expect(page.locator("#id_term")).to_have_value(str(term1.pk))

    page.locator("#id_kind").select_option(WindowKind.OUTCOME_UPLOAD.value)
    page.fill("#id_starts_at", opens)
    page.fill("#id_ends_at", too_early)
    with page.expect_navigation():
        page.locator("main form.stacked button[type=submit]").click()

    ends = page.locator("#id_ends_at")
    expect(ends).to_have_attribute("aria-invalid", "true")
    expect(ends).to_have_attribute("aria-describedby", re.compile(r"\bid_ends_at_error\b"))
    error = page.locator("#id_ends_at_error")
    expect(error).to_be_visible()
    # The error sits in the same field group as the input, not only at the top.
    group = page.locator(".field.has-error").filter(has=page.locator("#id_ends_at"))
    expect(group.locator("#id_ends_at_error")).to_have_count(1)
    earliest = term1.closing_day + dt.timedelta(weeks=2)
    with translation.override(ZH):
        expected = rules.window_problems(
            term=term1,
            kind=WindowKind.OUTCOME_UPLOAD,
            grade=None,
            starts_at=_aware(y + 1, 1, 5, 8),
            ends_at=_aware(y + 1, 1, 27, 17),
            self_check_on=None,
        )["ends_at"][0]
        # Shown as YYYY-MM-DD, or in the language's own date format.
        earliest_texts = {f"{earliest:%Y-%m-%d}", date_format(earliest)}
    expect(error).to_contain_text(re.compile("|".join(map(re.escape, earliest_texts))))
    expect(error).to_contain_text("2")
    expect(error).to_have_text(expected)
    # The opening time was fine: no error there.
    expect(page.locator("#id_starts_at")).not_to_have_attribute("aria-invalid", "true")

    # Everything typed is still there, and nothing was saved.
    expect(page.locator("#id_term")).to_have_value(str(term1.pk))
    expect(page.locator("#id_kind")).to_have_value(WindowKind.OUTCOME_UPLOAD.value)
    expect(page.locator("#id_starts_at")).to_have_value(opens)
    expect(ends).to_have_value(too_early)
    assert not Window.objects.filter(school=school).exists()
    assert AuditLog.objects.count() == audit_before

    # Closing on the earliest allowed day is accepted.
    fixed = earliest.strftime("%Y-%m-%d") + "T17:00"
    page.fill("#id_ends_at", fixed)
    with page.expect_navigation():
        page.locator("main form.stacked button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/manage/schedule/\?year={current_roc_year}$"))
    expect(page.locator(".messages .success")).to_have_count(1)
    window = Window.objects.get(school=school)
    assert window.term == term1
    assert window.kind == WindowKind.OUTCOME_UPLOAD
    assert window.grade is None
    assert window.starts_at == _aware(y + 1, 1, 5, 8)
    assert window.ends_at == _aware(earliest.year, earliest.month, earliest.day, 17)
    assert AuditLog.objects.filter(action="window.create", target_id=str(window.pk)).count() == 1
    row = page.locator(f"section[aria-labelledby='term-{term1.pk}'] tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(f"{earliest:%Y-%m-%d} 17:00")


def _aware(year: int, month: int, day: int, hour: int) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=TAIPEI)


@pytest.mark.browser_context_args(viewport={"width": 320, "height": 640})
def test_home_fits_a_320px_phone(live_server, transactional_db, page, school, make_member):
    make_member(school, Role.SCHOOL_ADMIN, username="alice")
    page.goto("/accounts/login/")
    assert _scroll_width(page) <= 320
    page.fill("#id_login", "alice")
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    at_home(page, live_server)
    expect(page.locator(".site-header .role")).to_be_visible()
    assert _scroll_width(page) <= 320


def _scroll_width(page: Page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")
