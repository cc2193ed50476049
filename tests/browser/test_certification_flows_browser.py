"""What happens around a certification decision, in Chromium as the people involved meet it:
a teacher undoes a decision made by mistake; the registry reopens one with a reason the
teacher and the student then read; a student raises a concern about a rejection and reads
the teacher's answer; the working group follows the term's progress and downloads it; a
certified outcome whose file storage lost or altered is uploaded again, the same bytes
keeping the certification and other bytes sending it back to the teacher.

Every path at desktop width (1280 px); the reopening and the concern also on a phone
(390 px), where no page may scroll sideways. The world is tests/builders/flows.py's (Teacher
Tan's Physics, its certification window open now: the live server runs on the real clock);
outcomes are handed in through the real upload service with real PDFs. Expected words are
rendered by this process in the page's language (Traditional Chinese by default).
"""

import hashlib
import io
import re
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.utils import translation
from openpyxl import load_workbook
from playwright.sync_api import Locator, Page, expect

from accounts.models import Role
from certification.models import Concern
from certification.services import RejectionReason, rejection_text
from submissions.models import CourseOutcome, FileFault, OutcomeState, StoredFile
from submissions.tasks import sweep_stored_files
from tests.browser.helpers import (
    ZH,
    choose_file_with_keys,
    file_input,
    focused,
    no_sideways_scroll,
    sign_in,
    tab_to,
    zh,
)
from tests.builders.files import make_pdf
from tests.builders.flows import FlowWorld

pytestmark = pytest.mark.browser

QUEUE = "/certification/"
DESKTOP, PHONE = 1280, 390
BOTH_WIDTHS = pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desktop", "phone"])


# --- words and places ----------------------------------------------------------------------------


def state_label(state: OutcomeState) -> str:
    with translation.override(ZH):
        return str(state.label)


def zh_count(singular: str, plural: str, n: int) -> str:
    with translation.override(ZH):
        return translation.ngettext(singular, plural, n) % {"n": n}


def by_whom(outcome: CourseOutcome) -> dict[str, str]:
    return {"title": outcome.title, "student": outcome.student.name}


def at_width(page: Page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 900})


def switch_to(page: Page, username: str) -> None:
    """Another person signs in on the same browser."""
    page.context.clear_cookies()
    sign_in(page, username)


def messages(page: Page, kind: str = "success") -> Locator:
    return page.locator(f".messages .{kind}")


def queue_item(page: Page, outcome: CourseOutcome) -> Locator:
    return page.locator(f"#item-{outcome.pk}")


def portfolio_item(page: Page, outcome: CourseOutcome) -> Locator:
    return page.locator(f"#outcome-{outcome.pk}")


def state_of(outcome: CourseOutcome) -> str:
    return CourseOutcome.objects.values_list("state", flat=True).get(pk=outcome.pk)


@pytest.fixture
def world(school, make_member, storage_dir):
    return FlowWorld(school, make_member)


# --- 1. the teacher undoes a decision made by mistake --------------------------------------------


def test_a_teacher_undoes_a_certification_made_by_mistake(live_server, page, world):
    ming = world.pupil("王小明", seat=1, username="ming")
    hua = world.pupil("李小華", seat=2, username="hua")
    wrong = world.hand_in(ming, "單擺實驗報告")
    other = world.hand_in(hua, "自由落體實驗")
    at_width(page, DESKTOP)
    sign_in(page, world.teacher.user.username)
    page.goto(QUEUE)
    expect(page.locator("#keys-help")).to_be_visible()  # the script has run

    # The teacher meant to open the files and pressed Certify instead.
    with page.expect_navigation():
        queue_item(page, wrong).locator("button[data-key-certify]").click()
    expect(messages(page)).to_have_text(
        zh("Certified: “%(title)s” by %(student)s.", **by_whom(wrong))
    )
    expect(queue_item(page, wrong)).to_have_count(0)
    assert state_of(wrong) == OutcomeState.CERTIFIED

    # "Decided in the last two weeks" shows it, with the way back.
    page.select_option("#id_show", "decided")
    with page.expect_navigation():
        page.locator("form[role=search] button[type=submit]").click()
    expect(page.locator("#id_show")).to_have_value("decided")
    expect(page.locator("[data-item]")).to_have_count(1)
    decided = queue_item(page, wrong)
    expect(decided.locator(".chip").first).to_have_text(state_label(OutcomeState.CERTIFIED))
    expect(decided.locator("button[data-key-certify]")).to_have_count(0)
    undo = decided.locator("button[value=undo]")
    expect(undo).to_contain_text(zh("Undo this decision"))
    expect(decided).to_contain_text(zh("It then awaits your decision again."))
    expect(page.get_by_role("button", name=zh("Certify selected"))).to_have_count(0)

    # By keyboard: J to the item, Tab to its undo button, Enter.
    page.keyboard.press("j")
    expect(decided).to_be_focused()
    tab_to(page, f"#item-{wrong.pk} button[value=undo]", limit=5)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"{QUEUE}\?show=decided#item-{wrong.pk}$"))
    expect(messages(page)).to_have_text(
        zh("Undone: “%(title)s” by %(student)s awaits your decision again.", **by_whom(wrong))
    )
    wrong.refresh_from_db()
    assert wrong.state == OutcomeState.SUBMITTED
    assert (wrong.certified_by, wrong.certified_at) == (None, None)
    expect(page.locator("#empty")).to_contain_text(
        zh("Nothing was decided in the last two weeks among these outcomes.")
    )

    # Back to what awaits: both outcomes, the undone one decidable again.
    with page.expect_navigation():
        page.locator("#empty a").click()
    expect(page.locator("main h1 small")).to_have_text(
        zh_count("%(n)s awaiting in all", "%(n)s awaiting in all", 2)
    )
    expect(page.locator("[data-item]")).to_have_count(2)
    again = queue_item(page, wrong)
    expect(again.locator(".chip").first).to_have_text(state_label(OutcomeState.SUBMITTED))
    expect(again.locator("button[data-key-certify]")).to_be_visible()
    expect(again.locator("button[value=undo]")).to_have_count(0)
    assert state_of(other) == OutcomeState.SUBMITTED


# --- 2. the registry reopens a decision with a reason --------------------------------------------


@BOTH_WIDTHS
def test_the_registry_reopens_a_decision_and_teacher_and_student_read_why(
    live_server, page, world, width
):
    ming = world.pupil("王小明", seat=1, username="ming")
    outcome = world.certify(world.hand_in(ming, "單擺實驗報告"))
    world.member(Role.REGISTRY, "rita", "註冊組 Rita")
    reason = "學生反映檔案上傳錯誤，已補正，請老師重新認證。"
    at_width(page, width)

    sign_in(page, "rita")
    page.goto(f"/records/students/{ming.pk}/#portfolio")
    row = page.locator("section[aria-labelledby=portfolio] tr", has_text=outcome.title)
    expect(row.locator(".chip")).to_have_text(state_label(OutcomeState.CERTIFIED))
    no_sideways_scroll(page)
    reopen = row.locator(f"a[href='/certification/{outcome.pk}/reopen/']")
    expect(reopen).to_contain_text(zh("Reopen the decision"))
    reopen.click()

    expect(page.locator("main h1")).to_have_text(
        zh("Reopen the decision on “%(title)s”", title=outcome.title)
    )
    no_sideways_scroll(page)
    button = page.locator("main form button.primary")
    expect(button).to_have_text(zh("Reopen the decision"))
    # No reason: refused, the error next to the field and tied to it.
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        button.click()
    assert answer.value.status == 400
    field = page.locator("#id_reason")
    expect(page.locator("#id_reason_error")).to_have_text(zh("This field is required."))
    expect(field).to_have_attribute("aria-describedby", re.compile(r"\bid_reason_error\b"))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_reason_error")).to_be_visible()
    no_sideways_scroll(page)
    assert state_of(outcome) == OutcomeState.CERTIFIED

    field.fill(reason)
    with page.expect_navigation():
        button.click()
    expect(page).to_have_url(re.compile(rf"/records/students/{ming.pk}/#portfolio$"))
    expect(messages(page)).to_have_text(
        zh(
            "Reopened: “%(title)s” by %(student)s awaits certification again.",
            **by_whom(outcome),
        )
    )
    expect(row.locator(".chip")).to_have_text(state_label(OutcomeState.SUBMITTED))
    expect(row.locator(".reason")).to_have_text(f"{zh('Reopened:')} {reason}")
    expect(row.locator(f"a[href='/certification/{outcome.pk}/reopen/']")).to_have_count(0)
    no_sideways_scroll(page)
    outcome.refresh_from_db()
    assert outcome.state == OutcomeState.SUBMITTED and outcome.reopen_reason == reason
    assert outcome.certified_by is None

    # The teacher's queue has it again, with the registry's reason.
    switch_to(page, world.teacher.user.username)
    page.goto(QUEUE)
    item = queue_item(page, outcome)
    expect(item.locator(".rejection")).to_have_text(f"{zh('Reopened by the registry:')} {reason}")
    expect(item.locator("button[data-key-certify]")).to_be_visible()
    no_sideways_scroll(page)

    # The student's portfolio says why it awaits certification again.
    switch_to(page, "ming")
    page.goto("/portfolio/")
    mine = portfolio_item(page, outcome)
    expect(mine.locator(".chip").first).to_have_text(state_label(OutcomeState.SUBMITTED))
    expect(mine.locator(".rejection")).to_have_text(
        zh("The registry reopened the decision; it awaits certification again. Reason:")
        + f" {reason}"
    )
    no_sideways_scroll(page)


# --- 3. a student's concern, answered ------------------------------------------------------------


@BOTH_WIDTHS
def test_a_student_raises_a_concern_and_reads_the_teachers_answer(live_server, page, world, width):
    hua = world.pupil("李小華", seat=2, username="hua")
    outcome = world.reject(world.hand_in(hua, "自由落體實驗"), RejectionReason.NOT_THIS_COURSE)
    concern_text = "這是物理課第三週做的實驗，課堂講義可以證明。"
    answer = "我看了講義，確實是本課程的實驗，會請註冊組重新開放。"
    at_width(page, width)

    sign_in(page, "hua")
    page.goto("/portfolio/")
    mine = portfolio_item(page, outcome)
    expect(mine.locator(".chip").first).to_have_text(state_label(OutcomeState.REJECTED))
    expect(mine.locator(".rejection")).to_contain_text(
        rejection_text(RejectionReason.NOT_THIS_COURSE, "")
    )
    no_sideways_scroll(page)
    link = mine.locator(f"a[href='/certification/outcomes/{outcome.pk}/concern/']")
    expect(link).to_contain_text(zh("Disagree with this decision? Raise a concern"))
    link.click()

    expect(page.locator("main h1")).to_have_text(
        zh("A concern about “%(title)s”", title=outcome.title)
    )
    expect(page.locator("main .rejection")).to_contain_text(
        rejection_text(RejectionReason.NOT_THIS_COURSE, "")
    )
    no_sideways_scroll(page)
    page.get_by_label(zh("Your message")).fill(concern_text)
    with page.expect_navigation():
        page.get_by_role("button", name=zh("Send the concern")).click()
    concern = Concern.objects.get(outcome=outcome)
    expect(page).to_have_url(re.compile(rf"/certification/concerns/{concern.pk}/$"))
    expect(messages(page)).to_have_text(
        zh("Your concern is sent to the course's teachers and the registry.")
    )
    expect(page.locator("main .thread li")).to_have_count(1)
    expect(page.locator("main .thread li").first).to_contain_text(concern_text)
    expect(page.locator("main .facts")).to_contain_text(zh("Waiting for an answer"))
    no_sideways_scroll(page)

    # The teacher finds it from the queue and answers with the keyboard.
    switch_to(page, world.teacher.user.username)
    page.goto(QUEUE)
    page.get_by_role("link", name=zh("Concerns about certification")).click()
    expect(page.locator("main h1")).to_have_text(zh("Concerns about certification"))
    listed = page.locator("main tbody tr", has_text=outcome.title)
    expect(listed).to_contain_text(zh("Waiting for an answer"))
    expect(listed).to_contain_text(hua.name)
    no_sideways_scroll(page)
    listed.get_by_role("link", name=outcome.title).click()
    expect(page.locator("main .thread")).to_contain_text(concern_text)
    no_sideways_scroll(page)
    tab_to(page, "#id_text", limit=80)
    page.keyboard.type(answer)
    page.keyboard.press("Tab")
    assert focused(page, "main form button.primary")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(messages(page)).to_have_text(zh("Your message is sent."))
    expect(page.locator("main .thread li")).to_have_count(2)
    expect(page.locator("main .facts")).to_contain_text(zh("Answered"))
    concern.refresh_from_db()
    assert not concern.is_waiting
    assert list(concern.messages.values_list("text", flat=True)) == [concern_text, answer]

    # The student comes back by the same link and reads the answer.
    switch_to(page, "hua")
    page.goto("/portfolio/")
    portfolio_item(page, outcome).locator(
        f"a[href='/certification/outcomes/{outcome.pk}/concern/']"
    ).click()
    expect(page).to_have_url(re.compile(rf"/certification/concerns/{concern.pk}/$"))
    reply = page.locator("main .thread li").nth(1)
    expect(reply).to_contain_text(answer)
    with translation.override(ZH):
        teacher_role = str(Role.TEACHER.label)
    expect(reply.locator(".meta")).to_contain_text(teacher_role)
    expect(reply.locator(".meta")).to_contain_text(str(world.teacher.user))
    expect(page.locator("main .facts")).to_contain_text(zh("Answered"))
    no_sideways_scroll(page)
    assert state_of(outcome) == OutcomeState.REJECTED  # a concern decides nothing by itself


# --- 4. the working group's progress page and its workbook ---------------------------------------


def test_the_working_group_follows_progress_and_downloads_the_workbook(
    live_server, page, world, school
):
    names = ["王小明", "李小華", "陳大文"]
    outcomes = [
        world.hand_in(world.pupil(name, seat=n + 1, username=f"s{n}"), f"{name}的實驗報告")
        for n, name in enumerate(names)
    ]
    world.certify(outcomes[0])
    world.reject(outcomes[1])  # the third awaits
    world.member(Role.WORKING_GROUP, "wendy", "工作小組 Wendy")
    at_width(page, DESKTOP)

    sign_in(page, "wendy")
    page.locator("nav a[href='/progress/']").click()
    expect(page.locator("main h1")).to_contain_text(zh("Progress"))
    expect(page.locator("main h1 small")).to_contain_text(world.term1.label)
    counters = page.locator("main .counters .value")
    expect(counters.nth(0)).to_have_text("1")  # awaiting
    expect(counters.nth(1)).to_have_text("2 / 3")  # decided of counted
    page.get_by_role("link", name=zh("by course")).click()
    row = page.locator("main tbody tr", has_text="Physics")
    expect(row.locator("td").nth(0)).to_have_text("1")
    expect(row.locator("td").nth(1)).to_have_text("1")
    expect(row.locator("td").nth(2)).to_have_text("1")
    expect(row).to_contain_text("66.7%")
    expect(row).to_contain_text("Teacher Tan")

    # The workbook, by keyboard: Tab to the link, Enter.
    tab_to(page, "main a.file-button[href^='/progress/export/']", limit=80)
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    name = download.value.suggested_filename
    assert name.startswith(f"{school.code}-progress-{world.term1.label}-all-"), name
    assert name.endswith(".xlsx")
    book = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()), read_only=True)
    assert zh("Courses") in book.sheetnames and zh("Teachers") in book.sheetnames
    courses = [list(r) for r in book[zh("Courses")].iter_rows(values_only=True)]
    assert courses[0][:8] == [
        zh("Course code"), zh("Section"), zh("Subject name"), zh("Grade"), zh("Teachers"),
        zh("Awaiting"), zh("Certified"), zh("Rejected"),
    ]  # fmt: skip
    assert len(courses) == 3  # the header, Physics, the total
    code, section, subject, grade, teachers, awaiting, certified, rejected, share = courses[1][:9]
    assert (code, section, subject, grade, teachers) == (
        world.course.code, None, "Physics", 10, "Teacher Tan",
    )  # fmt: skip
    assert (awaiting, certified, rejected, share) == (1, 1, 1, 66.7)
    assert courses[2][0] == zh("Total") and courses[2][5:9] == [1, 1, 1, 66.7]
    teachers = [list(r) for r in book[zh("Teachers")].iter_rows(values_only=True)]
    assert teachers[1][:6] == [
        "Teacher Tan", world.teacher.user.username, 1, 1, 1, 1,
    ]  # fmt: skip


# --- 5. a certified outcome's file lost, then uploaded again -------------------------------------


def test_a_lost_file_uploaded_again_keeps_or_sends_back_the_certification(
    live_server, page, world, storage_dir
):
    ming = world.pupil("王小明", seat=1, username="ming")
    report, poster = make_pdf(), make_pdf(pages=3)
    lost = world.certify(world.hand_in(ming, "單擺實驗報告", report, "單擺.pdf"))
    altered = world.certify(world.hand_in(ming, "科展海報", poster, "海報.pdf"))

    # Storage loses one file and garbles the other; the nightly check, run as beat runs it.
    default_storage.delete(lost.document.storage_path)
    (storage_dir / altered.document.storage_path).write_bytes(b"%PDF-1.4 garbled")
    found = sweep_stored_files()
    assert found["missing"] == [lost.document_id]
    assert found["mismatched"] == [altered.document_id]
    faults = dict(StoredFile.objects.values_list("pk", "fault"))
    assert faults[lost.document_id] == FileFault.MISSING
    assert faults[altered.document_id] == FileFault.MISMATCH
    at_width(page, DESKTOP)

    sign_in(page, "ming")
    page.goto("/portfolio/")
    for outcome in (lost, altered):
        item = portfolio_item(page, outcome)
        expect(item.locator(".chip").first).to_have_text(state_label(OutcomeState.CERTIFIED))
        alert = item.locator("[role=alert]")
        expect(alert).to_contain_text(zh("The file needs to be uploaded again."))
        expect(alert).to_contain_text(
            zh("Storage lost or changed a file this outcome was certified on.")
        )

    # The same bytes again, chosen and sent with the keyboard: the certification stands.
    portfolio_item(page, lost).get_by_role(
        "link", name=zh("Upload the file of “%(title)s” again", title=lost.title)
    ).click()
    expect(page.locator("main h1")).to_contain_text(zh("Upload the file again"))
    choose_file_with_keys(page, "#id_document", file_input("單擺.pdf", report))
    tab_to(page, "main form[data-upload] button.primary", limit=10)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/portfolio/#outcome-{lost.pk}$"))
    expect(messages(page)).to_have_text(
        zh("The file is the one that was certified: the certification stands.")
    )
    item = portfolio_item(page, lost)
    expect(item.locator(".chip").first).to_have_text(state_label(OutcomeState.CERTIFIED))
    expect(item.locator("[role=alert]")).to_have_count(0)
    lost.refresh_from_db()
    assert lost.state == OutcomeState.CERTIFIED and not lost.needs_file_again
    assert lost.certified_by == world.teacher.user
    assert lost.document.sha256 == hashlib.sha256(report).hexdigest()
    assert (storage_dir / lost.document.storage_path).read_bytes() == report

    # Another file for the altered one: back to awaiting the teacher's decision.
    other = make_pdf(pages=2)
    assert other != poster
    portfolio_item(page, altered).get_by_role(
        "link", name=zh("Upload the file of “%(title)s” again", title=altered.title)
    ).click()
    page.set_input_files("#id_document", files=file_input("海報-新版.pdf", other))
    page.locator("main form[data-upload] button.primary").click()
    expect(page).to_have_url(re.compile(rf"/portfolio/#outcome-{altered.pk}$"))
    expect(messages(page)).to_have_text(
        zh(
            "The file differs from the one that was certified: the outcome awaits "
            "certification again."
        )
    )
    item = portfolio_item(page, altered)
    expect(item.locator(".chip").first).to_have_text(state_label(OutcomeState.SUBMITTED))
    expect(item.locator("[role=alert]")).to_have_count(0)
    altered.refresh_from_db()
    assert altered.state == OutcomeState.SUBMITTED and altered.certified_by is None
    assert altered.document.display_name == "海報-新版.pdf"

    # The teacher has it in the queue again; the restored one stays out of it.
    switch_to(page, world.teacher.user.username)
    page.goto(QUEUE)
    expect(page.locator("[data-item]")).to_have_count(1)
    expect(queue_item(page, altered)).to_be_visible()
    assert Path(storage_dir / altered.document.storage_path).read_bytes() == other
