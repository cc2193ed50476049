"""A registry clerk imports the student roster in a real browser: a file with errors
first (every bad row listed, nothing written), then the corrected file, confirmed.

The preview and the import run as background jobs; in tests Celery runs them eagerly
when the request commits, so the page after each redirect shows the finished job.
"""

import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from accounts.models import Role
from portfolio.models import AuditLog
from records.imports.messages import describe
from records.models import SchoolClass, Student
from tests.browser.helpers import sign_in
from tests.builders.imports import bad_checksum, roster, xlsx_bytes

pytestmark = pytest.mark.browser

ZH = "zh-hant"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(page: Page, name: str, data: bytes) -> None:
    page.goto("/records/imports/")
    page.locator('input[name="kind"][value="students"]').check()
    page.locator("#id_file").set_input_files(
        files=[{"name": name, "mimeType": XLSX, "buffer": data}]
    )
    with page.expect_navigation():
        page.locator("main form.stacked button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/records/imports/\d+/$"))


def zh(code: str, **params) -> str:
    with translation.override(ZH):
        return describe(code, params)


def test_import_with_errors_then_success(live_server, transactional_db, page, school, make_member):
    make_member(school, Role.REGISTRY, username="rita")
    sign_in(page, "rita")

    rows = roster(4)
    rows[2][1] = bad_checksum(rows[2][1])  # row 3
    rows[4][4] = "1140230"  # row 5: 30 February
    upload(page, "roster.xlsx", xlsx_bytes(rows))

    problems = page.locator("main table tbody tr")
    expect(problems).to_have_count(2)
    first, second = problems.nth(0), problems.nth(1)
    expect(first.locator("td").nth(0)).to_have_text("3")
    expect(first.locator("td").nth(1)).to_have_text("身分證號")
    expect(first.locator("td").nth(2)).to_have_text(zh("national_id_checksum"))
    expect(second.locator("td").nth(0)).to_have_text("5")
    expect(second.locator("td").nth(1)).to_have_text("出生日期")
    expect(second.locator("td").nth(2)).to_have_text(zh("date_invalid", value="1140230"))
    expect(page.locator("form[action$='/apply/']")).to_have_count(0)  # nothing to confirm
    expect(page.locator(".form-errors[role=alert]")).to_be_visible()
    assert not Student.objects.exists() and not SchoolClass.objects.exists()

    # The good rows are listed as the corrected file would add them.
    page.locator("nav a[href='?show=added']").click()
    expect(page.locator("main table tbody tr")).to_have_count(2)

    upload(page, "roster-fixed.xlsx", xlsx_bytes(roster(4)))
    expect(page.locator("main table tbody tr")).to_have_count(4)  # the rows to add
    confirm = page.locator("form[action$='/apply/'] button[type=submit]")
    expect(confirm).to_be_visible()
    with page.expect_navigation():
        confirm.click()
    expect(page.locator(".messages .success")).to_have_count(1)
    expect(page.locator(".counter .value").nth(1)).to_have_text("4")
    assert Student.objects.filter(school=school).count() == 4
    assert SchoolClass.objects.get(school=school).name == "101"
    assert AuditLog.objects.filter(action="import.students").count() == 1

    # Both runs are on the imports page, to come back to.
    page.goto("/records/imports/")
    expect(page.locator("section[aria-labelledby='history-title'] tbody tr")).to_have_count(3)


@pytest.mark.browser_context_args(viewport={"width": 320, "height": 640})
def test_the_preview_fits_a_320px_screen(live_server, transactional_db, page, school, make_member):
    make_member(school, Role.REGISTRY, username="rita")
    sign_in(page, "rita")
    rows = roster(3)
    rows[1][1] = "A12"
    upload(page, "roster.xlsx", xlsx_bytes(rows))
    expect(page.locator("main table tbody tr")).to_have_count(1)
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    page.goto("/records/imports/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
