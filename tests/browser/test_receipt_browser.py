"""The receipt's path in Chromium, at desktop and phone width: the registry fetches the receipt
from the simulated central database (real HTTP to the live server), sees the line the
simulator dropped, releases it; one student confirms by keyboard, another reports the missing
line; the registry answers the dispute and the roster is reopened for resubmission."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from portfolio.models import Window, WindowKind
from submissions.models import AnswerState, Dispute, PackageState, ReceiptAnswer, RosterPackage
from submissions.services import rosters
from tests.browser.helpers import sign_in, tab_to, zh
from tests.builders.people import acting
from tests.builders.rosters import SelectedYear, build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(settings, live_server, school, make_member, tmp_path, django_capture_on_commit_callbacks):
    settings.CENTRAL_TRANSPORT = "http"
    settings.CENTRAL_HTTP_URL = f"{live_server.url}/centralsim/iscom_api/"
    settings.CENTRAL_API_KEY = settings.CENTRAL_SIM_API_KEY = "sim-key"
    world = SelectedYear(school)
    world.registry = make_member(school, Role.REGISTRY, username="reg")
    by = acting(world.registry)
    for kind in ("outcomes", "performances"):
        package = build(by, kind, world.year, capture=django_capture_on_commit_callbacks)
        with django_capture_on_commit_callbacks(execute=True):
            rosters.package_submit(package=package, acting=by)
    for n, student in enumerate(world.students):
        member = make_member(school, Role.STUDENT, username=f"stu{n}")
        student.user = member.user
        student.save(update_fields=["user"])
    call_command(
        "centralsim", "receipt", school.code, str(world.year.roc_year),
        "--drop", world.students[0].national_id, "--out", str(tmp_path),
    )  # fmt: skip
    now = timezone.now()
    Window.objects.create(
        school=school, term=world.term, kind=WindowKind.RECEIPT_CONFIRMATION,
        starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=6),
    )  # fmt: skip
    return world


def _no_sideways_scroll(page) -> None:
    """No sideways scrolling; when there is, the elements wider than their box say where."""
    wide = page.evaluate(
        "() => [...document.querySelectorAll('main *')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).slice(0, 5)"
        ".map(e => e.tagName + ': ' + (e.textContent || '').trim().slice(0, 40))"
    )
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), wide


@pytest.mark.parametrize("width", [1280, 390])
def test_fetch_release_confirm_dispute_and_answer(live_server, page, world, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "reg")
    page.goto("/submissions/receipts/")
    with page.expect_navigation():
        page.get_by_role("button", name=zh("Fetch and import the receipt")).click()
    page.reload()  # the fetch ran when the request committed
    page.get_by_role("link", name=zh("Open the receipt %(name)s", name="")).first.click()
    main = page.locator("main")
    expect(main).to_contain_text(zh("Missing: sent but not in the receipt"))
    expect(main).to_contain_text(world.students[0].name)
    _no_sideways_scroll(page)
    page.get_by_role("button", name=zh("Release the receipt to the students")).click()
    expect(page.locator(".messages")).to_contain_text(
        zh("The receipt is released: its students see their lines.")
    )

    # The second student confirms by keyboard.
    page.context.clear_cookies()
    sign_in(page, "stu1")
    page.goto("/submissions/my-receipt/")
    expect(main).to_contain_text(zh("Course outcomes (課程學習成果)"))
    _no_sideways_scroll(page)
    tab_to(page, "button[value='confirm']", limit=200)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".messages")).to_contain_text(
        zh("Your answer is saved. You may change it until the window closes.")
    )

    # The first student reports the missing outcome.
    page.context.clear_cookies()
    sign_in(page, "stu0")
    page.goto("/submissions/my-receipt/")
    problem = page.locator("li.receipt-problem").first
    problem.get_by_text(zh("Something is wrong with this line")).click()
    problem.get_by_label(zh("What is wrong, and what it should be")).fill("我的成果沒有收到")
    page.get_by_role("button", name=zh("Send what is wrong (the lines I wrote beside)")).click()
    expect(main).to_contain_text("我的成果沒有收到")
    _no_sideways_scroll(page)

    # The registry answers and asks for the roster again.
    page.context.clear_cookies()
    sign_in(page, "reg")
    page.goto("/submissions/disputes/")
    expect(main).to_contain_text("我的成果沒有收到")
    page.get_by_label(zh("Your answer to the student")).fill("已補傳成果")
    page.get_by_label(zh("I corrected the data: send the roster again")).check()
    page.get_by_role("button", name=zh("Send the answer")).click()
    expect(page.locator(".messages")).to_contain_text(zh("Your answer is sent to the student."))
    _no_sideways_scroll(page)

    assert ReceiptAnswer.objects.get(student=world.students[1]).state == AnswerState.CONFIRMED
    assert Dispute.objects.get().is_answered
    assert RosterPackage.objects.get(roster=26).state == PackageState.REOPENED
