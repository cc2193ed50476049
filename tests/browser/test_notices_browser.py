"""Notices in a real browser: the homeroom teacher ticks three students in the class at a
glance and reminds them (by keyboard), a second reminder the same day is not sent again; a
student finds the reminder and a certification decision behind the header's unread count,
reads it, marks it read and turns e-mail off for one kind; at desktop and phone width, with
nothing scrolling sideways. E-mail goes to Django's locmem outbox of the live server's process."""

import pytest
from django.core import mail
from django.utils import translation
from playwright.sync_api import expect

from accounts.models import NoticeKind, Role
from tests.browser.helpers import focused, no_sideways_scroll, tab_to, zh
from tests.browser.helpers import sign_in_with_keys as sign_in
from tests.builders.flows import FlowWorld

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _outbox(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def world(school, make_member, storage_dir):
    w = FlowWorld(school, make_member)
    w.homeroom = w.member(Role.HOMEROOM, "wu", "吳導師")
    w.klass.homeroom_teacher = w.homeroom.user
    w.klass.save()
    w.pupils = [w.pupil(name, seat, username) for name, seat, username in (
        ("王小明", 2, "ming"), ("陳小華", 3, "hua"), ("林小美", 4, "mei"), ("張小強", 5, "chiang"),
    )]  # fmt: skip
    for index, pupil in enumerate(w.pupils):
        pupil.user.email = f"p{index}@example.edu.tw"
        pupil.user.save()
    return w


def plural(singular: str, plural_: str, n: int) -> str:
    with translation.override("zh-hant"):
        return translation.ngettext(singular, plural_, n) % {"n": n}


@pytest.mark.parametrize("width", [1280, 390])
def test_the_homeroom_teacher_reminds_three_students_who_read_it(live_server, page, world, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server.url + "/accounts/login/")
    sign_in(page, "wu")
    page.goto(live_server.url + "/homeroom/class/")
    no_sideways_scroll(page)
    for pupil in world.pupils[:3]:
        tab_to(page, f"#remind-{pupil.pk}")
        page.keyboard.press("Space")
    tab_to(page, "#id_what")
    page.select_option("#id_what", "selection")
    page.fill("#id_message", "週五前完成勾選")
    tab_to(page, "#remind-form button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text(
        plural("%(n)d student reminded.", "%(n)d students reminded.", 3)
    )
    no_sideways_scroll(page)
    # The same again today: not sent again, and the page says so.
    for pupil in world.pupils[:3]:
        page.check(f"#remind-{pupil.pk}")
    page.select_option("#id_what", "selection")
    with page.expect_navigation():
        page.locator("#remind-form button[type=submit]").click()
    expect(page.locator(".messages")).to_contain_text(
        plural(
            "%(n)d student already had this reminder today; not sent again.",
            "%(n)d students already had this reminder today; not sent again.",
            3,
        )
    )
    # Nothing ticked: the error is on the form, nothing sent.
    with page.expect_navigation():
        page.locator("#remind-form button[type=submit]").click()
    expect(page.locator("#remind-form .form-errors")).to_contain_text(
        zh("Tick at least one student of the class to remind.")
    )
    assert sorted(m.to[0] for m in mail.outbox) == [f"p{i}@example.edu.tw" for i in range(3)]

    # A student reads it: the header's count, the notices page, marked read.
    outcome = world.hand_in(world.pupils[0], "擺錘實驗報告")
    world.certify(outcome)
    page.context.clear_cookies()
    page.goto(live_server.url + "/accounts/login/")
    sign_in(page, "ming")
    link = page.locator("a.notices-link")
    expect(link).to_contain_text(plural("%(n)s unread", "%(n)s unread", 2))
    tab_to(page, "a.notices-link")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    no_sideways_scroll(page)
    notices = page.locator("ul.notices li.notice")
    expect(notices).to_have_count(2)
    expect(notices.nth(0)).to_contain_text(zh("Certified: “%(title)s”", title="擺錘實驗報告"))
    expect(notices.nth(1)).to_contain_text(zh("A reminder from your homeroom teacher"))
    expect(notices.nth(1)).to_contain_text("週五前完成勾選")
    mark = notices.nth(1).locator("button[name=notice]")
    tab_to(page, f"button[name=notice][value='{mark.get_attribute('value')}']")
    assert focused(page, "button[name=notice]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("a.notices-link")).to_contain_text(
        plural("%(n)s unread", "%(n)s unread", 1)
    )
    with page.expect_navigation():
        page.get_by_role("button", name=zh("Mark all as read")).click()
    expect(page.locator("a.notices-link .badge")).to_have_count(0)

    # E-mail off for one kind.
    with page.expect_navigation():
        page.get_by_role("link", name=zh("Which notices also come by e-mail")).click()
    no_sideways_scroll(page)
    with translation.override("zh-hant"):
        box = page.get_by_label(str(NoticeKind.FROM_STAFF.label))
    expect(box).to_be_checked()
    box.uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name=zh("Save")).click()
    expect(page.locator(".messages")).to_contain_text(zh("Your e-mail settings are saved."))
    world.pupils[0].user.refresh_from_db()
    assert world.pupils[0].user.notice_email_off == [NoticeKind.FROM_STAFF]
