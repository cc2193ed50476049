"""A student adds a diverse performance (多元表現) in a real browser: the category first,
then its form with a proof PDF and a video link; a link that is not a web link is refused
next to its field, with what was typed kept and nothing stored.

The world is tests/browser/test_portfolio_browser.py's, with this school year's
performance-upload window open now (the live server runs on the real clock).
"""

import datetime as dt
import re

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from portfolio.models import Window, WindowKind
from submissions.models import Performance, PerformanceState, StoredFile
from submissions.services.performances import video_url_problem
from tests.browser.helpers import (
    assert_nothing_lost_or_left,
    file_input,
    give_account,
    on_disk,
    outcome_world,
    sign_in,
    zh,
)
from tests.builders.files import make_pdf

pytestmark = pytest.mark.browser

# The same student, course and open outcome window as the outcome tests.


@pytest.fixture
def world(school, storage_dir):
    return outcome_world(school)


@pytest.fixture
def amy(world, make_member):
    return give_account(world, make_member)


CAP = 10
USED_THIS_YEAR = "%(used)s of %(cap)s used this year; items entered by the school do not count."
VIDEO = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"


@pytest.fixture
def performance_window(world):
    world.policy.performance_upload_cap_per_year = CAP
    world.policy.save()
    now = timezone.now()
    return Window.objects.create(
        school=world.school,
        term=world.term1,
        kind=WindowKind.PERFORMANCE_UPLOAD,
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=10),
    )


def refused_link(url: str) -> str:
    with translation.override("zh-hant"):
        return str(video_url_problem(url))


def test_a_competition_with_a_proof_and_a_video_link(
    live_server, page, world, amy, performance_window, storage_dir
):
    sign_in(page, "amy")
    page.goto("/portfolio/")
    counter = page.locator("main .counter-line")
    expect(counter).to_have_text(zh(USED_THIS_YEAR, used=0, cap=CAP))
    page.locator("main a.button[href='/portfolio/performances/add/']").click()
    page.select_option("#pick-category", "competition")
    page.locator("main form[method=get] button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/portfolio/performances/add/\?category=competition$"))

    day = (timezone.localdate() - dt.timedelta(days=3)).isoformat()
    page.fill("#id_name", "全國科學展覽會")
    page.fill("#id_starts_on", day)
    page.fill("#id_item", "物理科")
    page.select_option("#id_competition_level", "3")
    page.fill("#id_award", "佳作")
    page.select_option("#id_participation", "2")
    page.fill("#id_description", "研究單擺的週期。")
    page.fill("#id_video_url", "javascript:alert(document.cookie)")
    proof = make_pdf()
    page.set_input_files("#id_document", files=file_input("獎狀.pdf", proof))
    page.locator("main form[data-upload] button.primary").click()

    error = page.locator("#id_video_url_error")
    expect(error).to_have_text(refused_link("javascript:alert(document.cookie)"))
    expect(page.locator("#id_video_url")).to_have_attribute(
        "aria-describedby", re.compile("id_video_url_error")
    )
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#id_name")).to_have_value("全國科學展覽會")
    expect(page.locator("#id_award")).to_have_value("佳作")
    expect(page.locator("#id_description")).to_have_value("研究單擺的週期。")
    assert not Performance.objects.exists() and not StoredFile.objects.exists()
    assert on_disk(storage_dir) == set()

    page.fill("#id_video_url", VIDEO)
    page.set_input_files("#id_document", files=file_input("獎狀.pdf", proof))
    page.locator("main form[data-upload] button.primary").click()
    expect(page).to_have_url(re.compile(r"/portfolio/#performance-\d+$"))

    performance = Performance.objects.get()
    assert performance.student == world.student
    assert performance.state == PerformanceState.SAVED
    assert performance.video_url == VIDEO
    item = page.locator(f"#performance-{performance.pk}")
    expect(item.locator("h4")).to_have_text("全國科學展覽會")
    expect(item.locator(f"a[href='{VIDEO}'][target=_blank]")).to_have_count(1)
    expect(item.locator(f"iframe[src='/files/{performance.document_id}/view/']")).to_have_count(1)
    expect(counter).to_have_text(zh(USED_THIS_YEAR, used=1, cap=CAP))
    served = page.request.get(f"/files/{performance.document_id}/download/")
    assert served.ok and served.body() == proof
    assert_nothing_lost_or_left(storage_dir)
