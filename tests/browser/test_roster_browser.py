"""The registry's roster for the central database in Chromium: build roster 26, read what it
holds, record the submission, reopen it with a reason; at desktop and phone width, the build
started by keyboard."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from submissions.models import PackageState, RosterPackage
from tests.browser.helpers import sign_in, tab_to, zh
from tests.builders.rosters import RosterClass, code, stored_bytes

pytestmark = pytest.mark.browser


@pytest.fixture
def registry(school, make_member):
    from django.utils import timezone

    from submissions.models import CourseOutcome, OutcomeState, Selection

    roster = RosterClass(school)
    student = roster.student(gender="2")
    roster.enrol(student, roster.course(code(school), "物理"))
    outcome = CourseOutcome.objects.create(
        school=school, student=student, enrolment=student.enrolments.get(), title="單擺實驗",
        description="測量重力加速度。", state=OutcomeState.CERTIFIED,
        document=stored_bytes(student, b"%PDF-1.4 browser"),
    )  # fmt: skip
    selection = Selection.objects.create(
        school=school, student=student, school_year=roster.term.school_year,
        locked_at=timezone.now(),
    )  # fmt: skip
    selection.outcomes.set([outcome])
    return make_member(school, Role.REGISTRY)


@pytest.mark.parametrize("width", [1280, 390])
def test_registry_builds_submits_and_reopens_roster_26(live_server, page, registry, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, registry.user.username)
    page.goto("/submissions/rosters/")
    expect(page.locator("main table.rosters")).to_contain_text(zh("Not built"))
    tab_to(page, "main form:has(input[value='outcomes']) button", limit=120)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.reload()  # the build ran when the request committed
    main = page.locator("main")
    expect(main).to_contain_text(zh("Ready to submit"))
    expect(main).to_contain_text(
        zh("Nothing of this roster was submitted before: every row is new.")
    )
    with page.expect_download() as download:
        page.get_by_role(
            "link", name=zh("Download the students' files (zip with manifest.csv)")
        ).click()
    assert download.value.suggested_filename.endswith("_files.zip")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name=zh("Record as submitted")).click()
    expect(page.locator(".messages")).to_contain_text(zh("The roster is recorded as submitted."))
    expect(main).to_contain_text(zh("Students' items frozen"))
    page.get_by_role("button", name=zh("Reopen the roster")).click()
    # The reason is required: the browser keeps the form until it is given.
    page.get_by_label(zh("Why the roster is reopened")).fill("學生更正成果簡述")
    page.get_by_role("button", name=zh("Reopen the roster")).click()
    expect(main).to_contain_text("學生更正成果簡述")
    package = RosterPackage.objects.get()
    assert package.state == PackageState.REOPENED
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
