"""A student's course outcomes in a real browser, as a new user meets them on a desktop and
on a phone: upload (with the progress bar), preview, download, edit, replace, withdraw; a
clear refusal for every bad file with nothing stored; nobody else's files reachable; the
whole portfolio as a zip.

The live server runs on the real clock, so the upload window is moved around now. Expected
words are rendered by this process in the page's language (Traditional Chinese by default),
so the tests hold whether or not the catalogue has a given string yet.
"""

import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation
from PIL import ExifTags, Image
from playwright.sync_api import Locator, Page, expect

from accounts.models import Role
from records.models import Student
from submissions.files import FileRefused, check_upload, mb_to_bytes
from submissions.models import CourseOutcome, OutcomeState, StoredFile
from tests.browser.helpers import (
    PDF,
    ZH,
    assert_nothing_lost_or_left,
    choose_file_with_keys,
    file_input,
    focused,
    give_account,
    on_disk,
    outcome_world,
    sign_in,
    tab_to,
    zh,
)
from tests.builders.files import HTML, MB, gps_exif, make_mp3, make_pdf, make_png

pytestmark = pytest.mark.browser

PORTFOLIO_ITEM = re.compile(r"/portfolio/#outcome-\d+$")
USED_THIS_TERM = "%(used)s of %(cap)s used this term"


# --- words and files ---------------------------------------------------------------------------


def state_label(state: OutcomeState) -> str:
    with translation.override(ZH):
        return str(state.label)


def chars_left(n: int) -> str:
    """The live counter's words (static/js/upload.js fills ``{n}``)."""
    return zh("{n} characters left").replace("{n}", str(n))


def refusal(data: bytes, name: str, policy, kind: str = "document") -> str:
    """What the server says of this file under this policy, in the page's language."""
    types, max_mb = (
        (policy.document_types, policy.document_max_mb)
        if kind == "document"
        else (policy.media_types, policy.media_max_mb)
    )
    with pytest.raises(FileRefused) as refused:
        check_upload(
            io.BytesIO(data),
            original_name=name,
            kind=kind,
            allowed_types=types,
            max_bytes=mb_to_bytes(max_mb),
        )
    with translation.override(ZH):
        return refused.value.message()


# --- the world ---------------------------------------------------------------------------------


@pytest.fixture
def world(school, storage_dir):
    return outcome_world(school)


@pytest.fixture
def amy(world, make_member):
    return give_account(world, make_member)


def term_counter(page: Page, world) -> Locator:
    return page.locator(f"#term-{world.term1.pk} h4 small")


def watch_progress_bar(page: Page) -> None:
    """Record (in sessionStorage, which outlives the page) what the progress bar says once
    it is shown: the upload is over before any assertion could look at it."""
    page.evaluate(
        """() => {
          const box = document.querySelector('[data-progress]');
          const text = box.querySelector('[data-progress-text]');
          new MutationObserver(() => {
            if (!box.hidden) sessionStorage.setItem('progress-seen', text.textContent);
          }).observe(box, {attributes: true, childList: true, subtree: true, characterData: true});
        }"""
    )


def progress_words() -> re.Pattern:
    sending = re.escape(zh("Sending: {percent}")).replace(re.escape("{percent}"), r"\d+%")
    return re.compile(f"^(?:{sending}|{re.escape(zh('Sent. Checking the file(s)…'))})$")


def fill_outcome(page: Page, world, title: str, description: str) -> None:
    page.select_option("#id_enrolment", str(world.enrolment.pk))
    page.fill("#id_title", title)
    page.fill("#id_description", description)


def send(page: Page) -> None:
    page.locator("main button[name=action][value=submit]").click()


# --- 1. desktop: upload, preview, download, edit, withdraw -------------------------------------


def test_a_new_student_uploads_downloads_edits_and_withdraws(
    live_server, page, world, amy, storage_dir
):
    sign_in(page, "amy")
    page.goto("/portfolio/")
    expect(page.locator("#empty-portfolio")).to_be_visible()
    expect(term_counter(page, world)).to_have_text(zh(USED_THIS_TERM, used=0, cap=2))
    page.locator("main .actions a.button.primary[href='/portfolio/outcomes/add/']").click()
    expect(page).to_have_url(re.compile(r"/portfolio/outcomes/add/$"))

    page.select_option("#id_enrolment", str(world.enrolment.pk))
    page.fill("#id_title", "單擺實驗")
    description = page.locator("#id_description")
    counter = page.locator("#id_description_counter")
    limit = world.policy.short_description_max
    expect(counter).to_have_text(chars_left(limit))
    expect(description).to_have_attribute("aria-describedby", re.compile("id_description_counter"))
    description.press_sequentially("測量重力加速度。")
    expect(counter).to_have_text(chars_left(limit - 8))
    # Screen readers hear the count once typing pauses.
    expect(page.locator("#id_description ~ p[aria-live=polite]")).to_have_text(
        chars_left(limit - 8)
    )

    report = make_pdf(pages=2)
    page.set_input_files("#id_document", files=file_input("單擺實驗報告.pdf", report))
    watch_progress_bar(page)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        send(page)
    assert answer.value.request.header_value("x-requested-with") == "XMLHttpRequest"
    assert answer.value.header_value("content-type") == "application/json"
    expect(page).to_have_url(PORTFOLIO_ITEM)
    assert progress_words().match(page.evaluate("sessionStorage.getItem('progress-seen')"))

    outcome = CourseOutcome.objects.get()
    assert outcome.student == world.student and outcome.state == OutcomeState.SUBMITTED
    item = page.locator(f"#outcome-{outcome.pk}")
    expect(page.locator(".messages .success")).to_have_count(1)
    expect(item.locator("h5")).to_have_text("單擺實驗")
    expect(item.locator(".chip")).to_have_text(state_label(OutcomeState.SUBMITTED))
    document = outcome.document
    expect(item.locator(f"iframe[src='/files/{document.pk}/view/']")).to_have_count(1)
    expect(term_counter(page, world)).to_have_text(zh(USED_THIS_TERM, used=1, cap=2))
    assert on_disk(storage_dir) == {document.storage_path}  # the test's own folder

    with page.expect_download() as download:
        item.locator(f"a[href='/files/{document.pk}/download/']").click()
    assert download.value.suggested_filename == "單擺實驗報告.pdf"
    assert Path(download.value.path()).read_bytes() == report

    item.locator(f"a[href='/portfolio/outcomes/{outcome.pk}/edit/']").click()
    expect(page.locator("#id_title")).to_have_value("單擺實驗")
    page.fill("#id_title", "單擺實驗（修正）")
    page.locator("main form button.primary").click()
    expect(page).to_have_url(PORTFOLIO_ITEM)
    expect(item.locator("h5")).to_have_text("單擺實驗（修正）")
    expect(item.locator(".chip")).to_have_text(state_label(OutcomeState.SUBMITTED))

    item.locator(f"a[href='/portfolio/outcomes/{outcome.pk}/withdraw/']").click()
    expect(page.locator("main h1")).to_contain_text(zh("Withdraw a course outcome"))
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED  # asking is not withdrawing
    page.locator("main form button.danger").click()
    expect(page.locator(f"details.withdrawn #outcome-{outcome.pk}")).to_contain_text(
        state_label(OutcomeState.WITHDRAWN)
    )
    expect(term_counter(page, world)).to_have_text(zh(USED_THIS_TERM, used=0, cap=2))
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.WITHDRAWN
    assert_nothing_lost_or_left(storage_dir)


# --- 2. refusals ---------------------------------------------------------------------------------


def test_a_renamed_html_page_is_refused_next_to_its_field(
    live_server, page, world, amy, storage_dir
):
    sign_in(page, "amy")
    page.goto("/portfolio/outcomes/add/")
    fill_outcome(page, world, "實驗報告", "我的報告。")
    page.set_input_files("#id_document", files=file_input("report.pdf", HTML))
    send(page)

    expected = refusal(HTML, "report.pdf", world.policy)
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hant-TW")
    expect(page.locator("#id_document_error")).to_have_text(expected)
    expect(page.locator("#id_document")).to_have_attribute(
        "aria-describedby", re.compile("id_document_error")
    )
    expect(page.locator("#error-summary")).to_contain_text(expected)
    expect(page.locator("#id_title")).to_have_value("實驗報告")
    expect(page.locator("#id_description")).to_have_value("我的報告。")
    expect(page).to_have_url(re.compile(r"/portfolio/outcomes/add/$"))
    assert not CourseOutcome.objects.exists() and not StoredFile.objects.exists()
    assert on_disk(storage_dir) == set()


def test_a_file_over_the_limit_is_stopped_in_the_page(live_server, page, world, amy, storage_dir):
    """The script flags it as soon as it is chosen, and nothing is sent."""
    world.policy.document_max_mb = 1
    world.policy.save()
    sign_in(page, "amy")
    page.goto("/portfolio/outcomes/add/")
    fill_outcome(page, world, "海報", "我的海報。")
    posts = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    big = make_pdf() + bytes(MB + 1 - len(make_pdf()))
    page.set_input_files("#id_document", files=file_input("poster.pdf", big))

    warning = page.locator("#id_document_toolarge[role=alert]")
    expect(warning).to_contain_text("1 MB")
    send(page)
    assert focused(page, "#id_document")
    expect(page.locator("#id_title")).to_have_value("海報")
    assert posts == []
    page.set_input_files("#id_document", files=file_input("poster.pdf", make_pdf()))
    expect(warning).to_have_count(0)
    assert not StoredFile.objects.exists() and on_disk(storage_dir) == set()


def test_without_the_script_the_server_refuses_a_file_over_the_limit(
    live_server, new_context, world, amy, storage_dir
):
    """The same refusal from the server, in the words of the school's limit."""
    world.policy.document_max_mb = 1
    world.policy.save()
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, "amy")
    page.goto("/portfolio/outcomes/add/")
    fill_outcome(page, world, "海報", "我的海報。")
    big = make_pdf() + bytes(MB + 1 - len(make_pdf()))
    page.set_input_files("#id_document", files=file_input("poster.pdf", big))
    with page.expect_navigation():
        send(page)

    expected = refusal(big, "poster.pdf", world.policy)
    assert "1 MB" in expected
    expect(page.locator("#id_document_error")).to_have_text(expected)
    expect(page.locator("#error-summary")).to_be_visible()
    expect(page.locator("#id_title")).to_have_value("海報")
    expect(page.locator("#id_description")).to_have_value("我的海報。")
    assert not CourseOutcome.objects.exists() and not StoredFile.objects.exists()
    assert on_disk(storage_dir) == set()


# --- 3. phone: image and recording, rejection, replacement -------------------------------------


def fits_the_screen(page: Page, width: int = 375) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.browser_context_args(
    viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
)
def test_on_a_phone_a_photo_and_a_recording_then_a_replacement_after_rejection(
    live_server, page, world, amy, storage_dir
):
    sign_in(page, "amy")
    page.goto("/portfolio/outcomes/add/")
    fits_the_screen(page)
    fill_outcome(page, world, "科展海報與口頭報告", "海報照片與錄音。")
    page.set_input_files(
        "#id_document",
        files=file_input("IMG_0001.png", make_png((600, 400), exif=gps_exif()), "image/png"),
    )
    page.set_input_files("#id_media", files=file_input("talk.mp3", make_mp3(), "audio/mpeg"))
    page.locator("main button[name=action][value=submit]").tap()
    expect(page).to_have_url(PORTFOLIO_ITEM)

    outcome = CourseOutcome.objects.get()
    item = page.locator(f"#outcome-{outcome.pk}")
    photo = item.locator(f"img[src='/files/{outcome.document_id}/view/']")
    photo.scroll_into_view_if_needed()
    expect(photo).to_have_attribute("alt", "科展海報與口頭報告")
    page.wait_for_function(
        "img => img.complete && img.naturalWidth === 600", arg=photo.element_handle()
    )
    expect(item.locator(f"audio[controls][src='/files/{outcome.media_id}/view/']")).to_have_count(1)
    fits_the_screen(page)
    # The photo as served carries no trace of where it was taken.
    served = page.request.get(f"/files/{outcome.document_id}/view/")
    assert served.ok
    assert ExifTags.Base.GPSInfo not in Image.open(io.BytesIO(served.body())).getexif()

    reason = "照片看不清楚，請重新上傳掃描檔。"
    CourseOutcome.objects.filter(pk=outcome.pk).update(
        state=OutcomeState.REJECTED, rejection_reason=reason
    )
    page.reload()
    expect(item.locator(".chip")).to_have_text(state_label(OutcomeState.REJECTED))
    expect(item.locator(".rejection")).to_contain_text(reason)
    fits_the_screen(page)

    item.locator(f"a[href='/portfolio/outcomes/{outcome.pk}/replace/']").tap()
    expect(page.locator("main .facts .rejection")).to_have_text(reason)
    fits_the_screen(page)
    page.set_input_files("#id_document", files=file_input("poster-scan.pdf", make_pdf()))
    page.locator("main form[data-upload] button.primary").tap()
    expect(page).to_have_url(PORTFOLIO_ITEM)
    expect(item.locator(".chip")).to_have_text(state_label(OutcomeState.SUBMITTED))
    expect(item.locator(".rejection")).to_have_count(0)
    expect(item.locator("iframe")).to_have_count(1)
    expect(item.locator("audio[controls]")).to_have_count(1)  # the recording stays
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED
    assert outcome.document.display_name == "poster-scan.pdf"
    assert_nothing_lost_or_left(storage_dir)  # the photo went with its row


# --- 4. another student ------------------------------------------------------------------------


def test_another_student_cannot_open_the_files_nor_the_outcome(
    live_server, page, world, amy, make_member, storage_dir
):
    outcome = world.upload(
        document=SimpleUploadedFile("secret.pdf", make_pdf(), content_type=PDF),
        media=SimpleUploadedFile("talk.mp3", make_mp3(), content_type="audio/mpeg"),
        now=timezone.now(),
    )
    ben = make_member(world.school, Role.STUDENT, username="ben")
    other = Student.objects.create(
        school=world.school, student_number="S2", name="乙", school_class=world.klass, user=ben.user
    )
    world.enrol(other, world.term1, "Chemistry")
    sign_in(page, "ben")

    urls = [
        f"/files/{outcome.document_id}/download/",
        f"/files/{outcome.document_id}/view/",
        f"/files/{outcome.media_id}/view/",
        *(f"/portfolio/outcomes/{outcome.pk}/{name}/" for name in ("edit", "replace", "withdraw")),
    ]
    for url in urls:
        response = page.goto(url)
        assert response.status == 404, url
        expect(page.locator("main")).not_to_contain_text("secret.pdf")
    page.goto("/portfolio/")
    expect(page.locator("main")).not_to_contain_text(outcome.title)
    expect(page.locator(f"#outcome-{outcome.pk}")).to_have_count(0)
    # Posts with a valid token of his own session change nothing either.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    posts = {
        "withdraw": {"csrfmiddlewaretoken": token},
        "submit": {"csrfmiddlewaretoken": token},
        "edit": {"csrfmiddlewaretoken": token, "enrolment": str(world.enrolment.pk), "title": "x"},
        "replace": {
            "csrfmiddlewaretoken": token,
            "document": {"name": "mine.pdf", "mimeType": PDF, "buffer": make_pdf()},
        },
    }
    for name, form in posts.items():
        answer = page.request.post(f"/portfolio/outcomes/{outcome.pk}/{name}/", multipart=form)
        assert answer.status == 404, name
    outcome.refresh_from_db()
    assert (outcome.state, outcome.title) == (OutcomeState.SUBMITTED, "Lab report")
    assert outcome.document.display_name == "secret.pdf"
    assert StoredFile.objects.count() == 2
    assert_nothing_lost_or_left(storage_dir)


# --- 5. keyboard only ----------------------------------------------------------------------------


def test_the_add_form_works_with_the_keyboard_only(live_server, page, world, amy, storage_dir):
    sign_in(page, "amy")
    page.goto("/portfolio/outcomes/add/")
    tab_to(page, "#id_title")
    page.keyboard.type("鍵盤上傳")
    page.keyboard.press("Tab")
    assert focused(page, "#id_description")
    page.keyboard.type("只用鍵盤。")
    tab_to(page, "main button[value=submit]")
    page.keyboard.press("Enter")  # no course chosen yet

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text(zh("Choose the course this outcome comes from."))
    expect(summary).to_be_focused()
    expect(page.locator("#id_title")).to_have_value("鍵盤上傳")
    # The summary's link takes the focus to the field.
    tab_to(page, "#error-summary a[href='#id_enrolment']")
    page.keyboard.press("Enter")
    expect(page.locator("#id_enrolment")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_enrolment")).to_have_value(str(world.enrolment.pk))

    choose_file_with_keys(page, "#id_document", file_input("keyboard.pdf", make_pdf()))
    tab_to(page, "main button[value=submit]")
    page.keyboard.press("Space")
    expect(page).to_have_url(PORTFOLIO_ITEM)
    outcome = CourseOutcome.objects.get()
    assert (outcome.title, outcome.description) == ("鍵盤上傳", "只用鍵盤。")
    assert outcome.document.display_name == "keyboard.pdf"


# --- 7. the whole portfolio as a zip -------------------------------------------------------------


def test_the_whole_portfolio_downloads_as_a_zip(live_server, page, world, amy, storage_dir):
    report = make_pdf(pages=3)
    world.upload(
        document=SimpleUploadedFile("實驗報告.pdf", report, content_type=PDF), now=timezone.now()
    )
    sign_in(page, "amy")
    page.goto("/portfolio/")
    page.locator("main form[action='/portfolio/export/'] button").click()
    expect(page).to_have_url(re.compile(r"/portfolio/export/\d+/$"))
    link = page.locator("main a.button.primary[href$='/download/']")
    expect(link).to_be_visible()
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.value.path()) as zipped:
        names = zipped.namelist()
        assert "index.html" in names
        pdfs = [n for n in names if n.endswith("實驗報告.pdf")]
        assert len(pdfs) == 1, names
        assert zipped.read(pdfs[0]) == report
        assert "Lab report" in zipped.read("index.html").decode()
