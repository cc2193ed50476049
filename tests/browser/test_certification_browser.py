"""A teacher certifies (認證) course outcomes in a real browser: by keyboard from the
navigation, several at once, safe from a stray Enter, with the PDF in the page, on a phone;
and the registry certifies as proxy for a course whose teachers have all left.

The world is tests/test_certification.py's (a course taught by Teacher Tan), its
certification window moved around now because the live server runs on the real clock.
Outcomes are handed in through the real upload service, with a real PDF each. Expected
words are rendered by this process in the page's language (Traditional Chinese by default).
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext
from playwright.sync_api import Locator, Page, expect

from accounts import services as account_services
from accounts.models import Role
from certification.services import RejectionReason, rejection_text
from records.models import CourseEnrolment
from submissions.models import CourseOutcome, OutcomeState
from submissions.services.outcomes import outcome_upload
from tests.browser.helpers import focused, tab_to
from tests.browser.helpers import sign_in_with_keys as sign_in
from tests.builders.certification import CertWorld
from tests.builders.files import make_pdf

pytestmark = pytest.mark.browser

ZH = "zh-hant"
QUEUE = "/certification/"
PROXY = "/certification/proxy/"
MEANING = (
    "Certifying confirms only that an outcome is the student's own work from that course; "
    "it is never a judgement of its quality or a grade."
)
KEYS = (
    "Keys: J next item, K previous item, C certify the item in view, R open its reject form, "
    "X select it. Keys do nothing while you type in a field."
)
CERTIFIED = "Certified: “%(title)s” by %(student)s."
REJECTED = (
    "Rejected: “%(title)s” by %(student)s. The student sees your reason and may send the work "
    "again."
)
NEEDS_WORDS = "Say what the reason is: “another reason” needs your words."
CHANGED = (
    "It changed since you opened the page (it is now %(state)s); look at it again before deciding."
)
ENTER_DOES_NOTHING = (
    "Nothing was done: Enter alone decides nothing. Press Certify, Reject… or Certify selected."
)


# --- words ---------------------------------------------------------------------------------------


def zh(message: str, **params) -> str:
    """``message`` as the page says it (Traditional Chinese), with its parameters."""
    with translation.override(ZH):
        text = gettext(message)
    return text % params if params else text


def zh_count(singular: str, plural: str, n: int) -> str:
    with translation.override(ZH):
        return ngettext(singular, plural, n) % {"n": n}


def state_label(state: OutcomeState) -> str:
    with translation.override(ZH):
        return str(state.label)


def by_whom(outcome: CourseOutcome) -> dict[str, str]:
    return {"title": outcome.title, "student": outcome.student.name}


# --- the world -----------------------------------------------------------------------------------


@pytest.fixture
def world(school, make_member, storage_dir):
    """Teacher Tan's Physics, its certification window open from yesterday for five days."""
    world = CertWorld(school, make_member)
    now = timezone.now()
    world.cert_window.starts_at = now - dt.timedelta(days=1)
    world.cert_window.ends_at = now + dt.timedelta(days=5)
    world.cert_window.save()
    return world


def hand_in(
    world, name: str, seat: int, course=None, title: str = "", report: bytes | None = None
) -> CourseOutcome:
    """A student of class 101 at ``seat`` hands in a PDF named after them for the course
    (Physics unless told), through the upload service during the upload window."""
    student = world.student_in(name, seat=seat)
    enrolment, _ = CourseEnrolment.objects.get_or_create(
        school=world.school, student=student, course=course or world.course
    )
    return outcome_upload(
        student=student,
        enrolment=enrolment,
        title=title or f"{name}的實驗報告",
        description="測量重力加速度。",
        document=SimpleUploadedFile(
            f"{name}.pdf", report or make_pdf(), content_type="application/pdf"
        ),
        media=None,
        by=None,
        now=world.inside,
    )


def hand_ins(world, n: int) -> list[CourseOutcome]:
    """``n`` students' outcomes, in the queue's order (by seat)."""
    names = ["王小明", "李小華", "陳大文", "林美玲", "張志豪", "黃淑芬"]
    return [hand_in(world, names[i], seat=i + 1) for i in range(n)]


def states(*outcomes: CourseOutcome) -> list[str]:
    found = dict(CourseOutcome.objects.values_list("pk", "state"))
    return [found[o.pk] for o in outcomes]


def item(page: Page, outcome: CourseOutcome) -> Locator:
    return page.locator(f"#item-{outcome.pk}")


def at_item(page: Page, outcome: CourseOutcome, path: str = QUEUE) -> None:
    """The list came back with ``outcome`` in view and the keyboard's focus on it."""
    expect(page).to_have_url(re.compile(rf"{re.escape(path)}(\?[^#]*)?#item-{outcome.pk}$"))
    expect(item(page, outcome)).to_be_focused()


def focus_is_visible(page: Page) -> bool:
    """The focused element shows the site's focus ring (not just has the focus)."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          return el.matches(':focus-visible') && getComputedStyle(el).outlineStyle !== 'none';
        }"""
    )


def fits_the_screen(page: Page, width: int = 375) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def open_queue(page: Page, world) -> None:
    sign_in(page, world.teacher.user.username)
    page.goto(QUEUE)
    expect(page.locator("#keys-help")).to_be_visible()  # the script has run


# --- 1. keyboard only ----------------------------------------------------------------------------


def test_a_teacher_certifies_and_rejects_with_the_keyboard_only(live_server, page, world):
    first, second, third, fourth = hand_ins(world, 4)
    sign_in(page, world.teacher.user.username)  # Tab, type, Tab, type, Enter
    expect(page).to_have_url(f"{live_server.url}/")
    link = f"nav a[href='{QUEUE}']"
    expect(page.locator(link)).to_have_text(zh("Certification queue"))
    tab_to(page, link)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}{QUEUE}")
    expect(page.locator(link)).to_have_attribute("aria-current", "page")

    expect(page.locator("#meaning")).to_have_text(zh(MEANING))
    expect(page.locator("#keys-help")).to_have_text(zh(KEYS))
    expect(page.locator("main h1 small")).to_have_text(
        zh_count("%(n)s awaiting in all", "%(n)s awaiting in all", 4)
    )
    group = page.locator("section.course-group")
    expect(group).to_have_count(1)
    expect(group.locator(f"h2#course-{world.course.pk}")).to_contain_text(world.course.name)
    expect(group.locator("> p.meta > .state-submitted")).to_have_text(
        zh_count("%(n)s awaiting", "%(n)s awaiting", 4)
    )
    expect(group.locator("[data-item]")).to_have_count(4)
    ids = group.locator("[data-item]").evaluate_all("items => items.map(i => i.id)")
    assert ids == [f"item-{o.pk}" for o in (first, second, third, fourth)]

    # J and K move between the items, the focus ring on the item.
    for key, outcome in (("j", first), ("j", second), ("j", third), ("k", second)):
        page.keyboard.press(key)
        expect(item(page, outcome)).to_be_focused()
        assert focus_is_visible(page), outcome.title

    with page.expect_navigation():
        page.keyboard.press("c")
    at_item(page, third)
    expect(page.locator(".messages .success")).to_have_text(zh(CERTIFIED, **by_whom(second)))
    expect(item(page, second)).to_have_count(0)
    second.refresh_from_db()
    assert second.state == OutcomeState.CERTIFIED
    assert second.certified_by == world.teacher.user
    assert states(first, third, fourth) == [OutcomeState.SUBMITTED] * 3

    # R opens the third one's reject form, the focus on its first reason.
    page.keyboard.press("r")
    reasons = item(page, third).locator("input[type=radio]")
    expect(item(page, third).locator("details.reject")).to_have_attribute("open", "")
    expect(reasons.first).to_be_focused()
    other = item(page, third).locator(f"input[type=radio][value='{RejectionReason.OTHER}']")
    for _ in range(len(RejectionReason.values)):
        if other.is_checked():
            break
        page.keyboard.press("ArrowDown")
    expect(other).to_be_checked()
    words = f"#id_o{third.pk}-reason_text"
    page.keyboard.press("Tab")
    assert focused(page, words)
    tab_to(page, f"#item-{third.pk} button[value=reject]")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # "another reason" without words

    error = page.locator(f"#id_o{third.pk}-reason_text_error")
    expect(error).to_have_text(zh(NEEDS_WORDS))
    expect(page.locator(words)).to_have_attribute(
        "aria-describedby", re.compile(f"id_o{third.pk}-reason_text_error")
    )
    expect(page.locator("#error-summary")).to_contain_text(zh(NEEDS_WORDS))
    expect(page.locator(f"input[type=radio][value='{RejectionReason.OTHER}']")).to_be_checked()
    # (Where the focus lands: test_the_error_summary_takes_the_focus, below.)
    third.refresh_from_db()
    assert third.state == OutcomeState.SUBMITTED

    reason = "這份報告與上課做的實驗不同，請說明出處。"
    tab_to(page, words)
    page.keyboard.type(reason)
    tab_to(page, "main form button[value=reject]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    at_item(page, fourth)
    expect(page.locator(".messages .success")).to_have_text(zh(REJECTED, **by_whom(third)))
    third.refresh_from_db()
    assert third.state == OutcomeState.REJECTED
    assert third.certified_by == world.teacher.user
    assert third.rejection_reason == rejection_text(RejectionReason.OTHER, reason)
    assert reason in third.rejection_reason
    assert states(first, fourth) == [OutcomeState.SUBMITTED] * 2


def test_the_error_summary_takes_the_focus(live_server, page, world):
    """On the reject page of its own, refused for want of words, a keyboard user lands on
    what is wrong."""
    (outcome,) = hand_ins(world, 1)
    sign_in(page, world.teacher.user.username)
    page.goto(f"/certification/{outcome.pk}/reject/")
    # Straight to the controls (the keyboard walk itself is the first test's): Tab would
    # also pass through the PDF viewer, whose controls come and go while it loads.
    other = page.locator(f"input[type=radio][value='{RejectionReason.OTHER}']")
    other.focus()
    page.keyboard.press("Space")
    expect(other).to_be_checked()
    page.locator("main form button[value=reject]").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(f"#id_o{outcome.pk}-reason_text_error")).to_have_text(zh(NEEDS_WORDS))
    assert states(outcome) == [OutcomeState.SUBMITTED]
    expect(page.locator("#error-summary")).to_be_focused(timeout=2_000)


# --- 2. several at once --------------------------------------------------------------------------


def test_certify_selected_certifies_each_unless_it_changed(live_server, page, world):
    outcomes = hand_ins(world, 6)
    open_queue(page, world)
    certify_selected = page.locator("#queue-form > p.actions button.primary").first
    expect(certify_selected).to_have_text(zh("Certify selected"))

    # X ticks the item in view; Space ticks the box that has the focus.
    a, b, c, d, e, f = outcomes
    for outcome in (a, b):
        page.keyboard.press("j")
        expect(item(page, outcome)).to_be_focused()
        page.keyboard.press("x")
        expect(page.locator(f"#select-{outcome.pk}")).to_be_checked()
    page.locator(f"#select-{c.pk}").focus()  # (Tab would first walk the PDF viewers)
    page.keyboard.press("Space")
    expect(page.locator(f"#select-{c.pk}")).to_be_checked()
    with page.expect_navigation():
        certify_selected.click()
    expect(page).to_have_url(f"{live_server.url}{QUEUE}")
    expect(page.locator(".messages .success")).to_have_text(
        zh_count("%(n)s outcome certified.", "%(n)s outcomes certified.", 3)
    )
    assert states(a, b, c) == [OutcomeState.CERTIFIED] * 3
    assert states(d, e, f) == [OutcomeState.SUBMITTED] * 3  # not ticked, not touched
    expect(page.locator("[data-item]")).to_have_count(3)

    for outcome in (d, e, f):
        page.locator(f"#select-{outcome.pk}").check()
    # The student edits one after the page was drawn.
    CourseOutcome.objects.filter(pk=e.pk).update(title="修正後的報告", updated_at=timezone.now())
    e.refresh_from_db()
    with page.expect_navigation():
        certify_selected.click()

    at_item(page, e)
    changed = zh(CHANGED, state=state_label(OutcomeState.SUBMITTED).lower())
    refusal = zh("“%(title)s” by %(student)s: %(reason)s", **by_whom(e), reason=changed)
    expect(page.locator(".messages .warning")).to_have_text(
        zh(
            "%(done)s certified, %(refused)s refused: %(reasons)s",
            done=2,
            refused=1,
            reasons=refusal,
        )
    )
    expect(item(page, e).locator("h4")).to_have_text("修正後的報告")  # as it is now
    assert states(d, e, f) == [
        OutcomeState.CERTIFIED,
        OutcomeState.SUBMITTED,
        OutcomeState.CERTIFIED,
    ]
    certified = CourseOutcome.objects.filter(state=OutcomeState.CERTIFIED)
    assert {o.certified_by for o in certified} == {world.teacher.user}


# --- 3. Enter decides nothing --------------------------------------------------------------------


def test_enter_on_a_tick_box_certifies_nothing(live_server, page, world):
    a, b = hand_ins(world, 2)
    open_queue(page, world)
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.locator(f"#select-{a.pk}").focus()
    page.keyboard.press("Space")
    expect(page.locator(f"#select-{a.pk}")).to_be_checked()
    page.keyboard.press("Enter")
    # Enter in a reason (a radio) sends nothing either.
    page.keyboard.press("j")
    page.keyboard.press("r")
    expect(item(page, b).locator("input[type=radio]").first).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.reload()  # anything sent before would have been seen by now
    expect(page.locator("[data-item]")).to_have_count(2)
    assert posts == []
    assert states(a, b) == [OutcomeState.SUBMITTED] * 2


def test_without_the_script_enter_on_a_tick_box_certifies_nothing(live_server, new_context, world):
    """The form's first button, hidden, asks the server to do nothing."""
    (outcome,) = hand_ins(world, 1)
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, world.teacher.user.username)
    page.goto(QUEUE)
    expect(page.locator("#keys-help")).to_be_hidden()  # keys are announced only with the script
    page.locator(f"#select-{outcome.pk}").focus()
    page.keyboard.press("Space")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".messages .info")).to_have_text(zh(ENTER_DOES_NOTHING))
    assert states(outcome) == [OutcomeState.SUBMITTED]


# --- 4. the PDF in the page ----------------------------------------------------------------------


def test_the_pdf_is_previewed_and_downloads_for_the_teacher(live_server, page, world):
    report = make_pdf(pages=2)
    outcome = hand_in(world, "王小明", seat=3, report=report)
    document = outcome.document
    open_queue(page, world)

    preview = item(page, outcome).locator(f"iframe[src='/files/{document.pk}/view/']")
    expect(preview).to_have_count(1)
    # The files start collapsed (few Tab stops per item); the teacher opens them.
    expect(preview).to_be_hidden()
    item(page, outcome).get_by_text(zh("Show the files")).click()
    expect(preview).to_be_visible()
    expect(preview).to_have_attribute("title", zh("PDF preview: %(name)s", name="王小明.pdf"))
    served = page.request.get(f"/files/{document.pk}/view/")
    assert served.ok and served.headers["content-type"] == "application/pdf"
    assert served.body() == report

    with page.expect_download() as download:
        item(page, outcome).locator(f"a[href='/files/{document.pk}/download/']").click()
    assert download.value.suggested_filename == "王小明.pdf"
    assert Path(download.value.path()).read_bytes() == report


# --- 5. on a phone -------------------------------------------------------------------------------


@pytest.mark.browser_context_args(
    viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
)
def test_on_a_phone_the_queue_fits_and_certifies_with_a_tap(live_server, page, world):
    a, b = hand_ins(world, 2)
    open_queue(page, world)
    fits_the_screen(page)
    button = item(page, a).locator("button[data-key-certify]")
    button.scroll_into_view_if_needed()
    with page.expect_navigation():
        button.tap()
    at_item(page, b)
    expect(page.locator(".messages .success")).to_have_text(zh(CERTIFIED, **by_whom(a)))
    assert states(a, b) == [OutcomeState.CERTIFIED, OutcomeState.SUBMITTED]
    fits_the_screen(page)
    page.goto(f"/certification/{b.pk}/reject/")
    expect(page.locator("main h1")).to_contain_text(zh("Reject a course outcome"))
    fits_the_screen(page)


# --- 6. the registry as proxy --------------------------------------------------------------------


def test_the_registry_certifies_for_a_course_whose_teacher_left(
    live_server, page, world, make_member
):
    mine = hand_in(world, "王小明", seat=1)  # Physics: Teacher Tan is still here
    art = world.enrol(world.student, world.term1, "Art").course
    fang = make_member(world.school, Role.TEACHER, name="Former Fang")
    art.teachers.add(fang.user)
    account_services.membership_set_active(membership=fang, active=False, by=None)
    orphan = hand_in(world, "李小華", seat=2, course=art, title="素描作品")
    waiting = hand_in(world, "陳大文", seat=3, course=art, title="水彩作品")
    rita = make_member(world.school, Role.REGISTRY, username="rita")

    sign_in(page, "rita")
    link = page.locator(f"nav a[href='{PROXY}']")
    expect(link).to_have_text(zh("Proxy certification"))
    with page.expect_navigation():
        link.click()
    expect(page.locator("#meaning")).to_have_text(zh(MEANING))
    expect(page.locator(f"section.course-group h2#course-{art.pk}")).to_contain_text("Art")
    expect(page.locator("section.course-group > p.helptext")).to_contain_text("Former Fang")
    expect(page.locator("[data-item]")).to_have_count(2)
    expect(item(page, mine)).to_have_count(0)
    with page.expect_navigation():
        item(page, orphan).locator("button[data-key-certify]").click()
    at_item(page, waiting, PROXY)
    expect(page.locator(".messages .success")).to_have_text(zh(CERTIFIED, **by_whom(orphan)))
    orphan.refresh_from_db()
    assert orphan.state == OutcomeState.CERTIFIED and orphan.certified_by == rita.user

    # Teacher Tan teaches Physics, not Art: neither Art outcome is his to open.
    page.context.clear_cookies()
    sign_in(page, world.teacher.user.username)
    for outcome in (orphan, waiting):
        response = page.goto(f"/certification/{outcome.pk}/reject/")
        assert response.status == 404, outcome.title
        expect(page.locator("main")).not_to_contain_text(outcome.title)
    assert page.goto(PROXY).status == 403
    page.goto(QUEUE)
    expect(page.locator("[data-item]")).to_have_count(1)
    expect(item(page, mine)).to_have_count(1)
    assert states(waiting, mine) == [OutcomeState.SUBMITTED] * 2
