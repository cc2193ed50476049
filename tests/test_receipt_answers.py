"""The students' answers to a released receipt: confirm, or dispute lines with text, and
change the answer while the receipt-confirmation window is open; each dispute reaches the
office of its roster, whose answer can reopen the roster for resubmission; when the window
closes, the rest are deemed to have confirmed, once."""

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook
from pypdf import PdfReader

from accounts.models import Role
from portfolio.models import AuditLog, Job, Window, WindowKind
from records.models import StudentStatus
from submissions.models import (
    AnswerState,
    Dispute,
    LineStatus,
    PackageState,
    ReceiptAnswer,
    ReceiptLine,
    ReceiptNotice,
)
from submissions.services import receipts, rosters
from submissions.services.packages import sha256_of
from submissions.tasks import deem_receipt_answers
from tests.builders.people import acting, client_for, english
from tests.builders.receipts import PASSWORD, entry_of, receipt_file, receipt_parts
from tests.builders.rosters import SelectedYear, build


@pytest.fixture
def registry(school, make_member):
    return make_member(school, Role.REGISTRY)


@pytest.fixture
def released(school, registry, django_capture_on_commit_callbacks):
    """Two students' outcomes and performances submitted, the receipt back with the first
    student's outcome missing, released, and a confirmation window open for a week."""
    world = SelectedYear(school)
    by = acting(registry)
    packages = []
    for kind in ("outcomes", "performances"):
        package = build(by, kind, world.year, capture=django_capture_on_commit_callbacks)
        rosters.package_submit(package=package, acting=by)
        package.refresh_from_db()
        packages.append(package)
    parts = receipt_parts(packages)
    entry_of(parts, "課程學習成果", world.students[0].national_id)["學期課程學習成果"].clear()
    data = receipt_file(packages, parts=parts)
    receipt, _new = receipts.receipt_import(
        school=school, school_year=world.year, file=io.BytesIO(data), file_name="r.zip",
        password=PASSWORD, sha256=sha256_of(io.BytesIO(data)), by=by, via="upload",
    )  # fmt: skip
    world.receipt = receipts.receipt_release(receipt=receipt, acting=by)
    now = timezone.now()
    world.window = Window.objects.create(
        school=school, term=world.term, kind=WindowKind.RECEIPT_CONFIRMATION,
        starts_at=now - dt.timedelta(days=1), ends_at=now + dt.timedelta(days=6),
    )  # fmt: skip
    world.packages = packages
    world.registry = registry
    return world


def _student_acting(world, make_member, n=0):
    student = world.students[n]
    membership = make_member(world.school, Role.STUDENT)
    student.user = membership.user
    student.save(update_fields=["user"])
    return student, acting(membership)


def test_a_student_confirms_then_disputes_a_line_while_the_window_is_open(released, make_member):
    student, by = _student_acting(released, make_member)
    answer = receipts.receipt_answer(receipt=released.receipt, student=student, acting=by)
    assert answer.state == AnswerState.CONFIRMED
    line = ReceiptLine.objects.get(receipt=released.receipt, student=student, outcome__isnull=False)
    assert line.status == LineStatus.MISSING
    answer = receipts.receipt_answer(
        receipt=released.receipt, student=student, acting=by,
        disputes={line.pk: "我的課程學習成果沒有收到"},
    )  # fmt: skip
    assert answer.state == AnswerState.DISPUTED and ReceiptAnswer.objects.count() == 1
    dispute = Dispute.objects.get()
    assert (dispute.line, dispute.office) == (line, Role.REGISTRY)
    # Changing the answer again replaces the open dispute.
    receipts.receipt_answer(receipt=released.receipt, student=student, acting=by)
    assert not Dispute.objects.exists()
    assert AuditLog.objects.filter(action="receipt.answer").count() == 3


def test_a_student_may_dispute_only_their_own_lines_with_text(released, make_member):
    student, by = _student_acting(released, make_member)
    other_line = ReceiptLine.objects.filter(
        receipt=released.receipt, student=released.students[1]
    ).first()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        receipts.receipt_answer(
            receipt=released.receipt, student=student, acting=by, disputes={other_line.pk: "x"}
        )
    assert "not in your receipt" in str(refused.value)
    own = ReceiptLine.objects.filter(receipt=released.receipt, student=student).first()
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        receipts.receipt_answer(
            receipt=released.receipt, student=student, acting=by, disputes={own.pk: "壞\x1b字"}
        )
    assert f"text-{own.pk}" in refused.value.message_dict
    with pytest.raises(ValidationError):
        receipts.receipt_answer(
            receipt=released.receipt, student=student, acting=by, disputes={own.pk: "   "}
        )
    assert not ReceiptAnswer.objects.exists()


def test_no_answer_outside_the_window_or_before_release(released, make_member, time_machine):
    student, by = _student_acting(released, make_member)
    time_machine.move_to(released.window.ends_at + dt.timedelta(minutes=1))
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        receipts.receipt_answer(receipt=released.receipt, student=student, acting=by)
    assert "receipt-confirmation window" in str(refused.value)
    # A paper reply the registry records is taken after the window too.
    answer = receipts.receipt_answer(
        receipt=released.receipt, student=student, acting=acting(released.registry),
        via="paper",
    )  # fmt: skip
    assert answer.via == "paper" and answer.state == AnswerState.CONFIRMED


def test_the_office_answers_and_reopens_the_roster_for_resubmission(released, make_member):
    student, by = _student_acting(released, make_member)
    line = ReceiptLine.objects.get(receipt=released.receipt, student=student, outcome__isnull=False)
    receipts.receipt_answer(
        receipt=released.receipt, student=student, acting=by, disputes={line.pk: "沒有收到"}
    )
    dispute = Dispute.objects.get()
    with pytest.raises(ValidationError):
        receipts.dispute_reply(
            dispute=dispute, acting=acting(released.registry), reply=" ", resubmit=True
        )
    receipts.dispute_reply(
        dispute=dispute, acting=acting(released.registry), reply="已補送", resubmit=True
    )
    dispute.refresh_from_db()
    assert dispute.is_answered and dispute.resubmit
    line.package.refresh_from_db()
    assert line.package.state == PackageState.REOPENED
    assert "沒有收到" in line.package.reopen_reason
    # The student's next answer keeps the answered dispute.
    receipts.receipt_answer(receipt=released.receipt, student=student, acting=by)
    assert Dispute.objects.filter(pk=dispute.pk).exists()


def test_the_rest_are_deemed_confirmed_once_when_the_window_closes(
    released, make_member, time_machine
):
    student, by = _student_acting(released, make_member)
    receipts.receipt_answer(receipt=released.receipt, student=student, acting=by)
    assert deem_receipt_answers() == 0  # still open
    time_machine.move_to(released.window.ends_at + dt.timedelta(minutes=5))
    assert deem_receipt_answers() == 1
    assert deem_receipt_answers() == 0
    deemed = ReceiptAnswer.objects.get(student=released.students[1])
    assert deemed.is_deemed and deemed.answered_at == released.window.ends_at
    assert ReceiptAnswer.objects.get(student=student).state == AnswerState.CONFIRMED
    assert AuditLog.objects.filter(action="receipt.deemed").count() == 1


def test_the_flow_through_the_pages(released, make_member, django_assert_max_num_queries):
    student, by = _student_acting(released, make_member)
    client = english(client_for(by.membership))
    with django_assert_max_num_queries(16):
        page = client.get(reverse("receipts:mine"))
    text = page.content.decode()
    assert "Course outcomes (課程學習成果)" in text and "Diverse performances" in text
    assert "Missing: sent but not in the receipt" in text
    assert released.students[1].name not in text
    line = ReceiptLine.objects.get(receipt=released.receipt, student=student, outcome__isnull=False)
    empty = client.post(
        reverse("receipts:answer", args=[released.receipt.pk]), {"action": "dispute"}
    )
    assert empty.status_code == 400 and "Write what is wrong" in empty.content.decode()
    sent = client.post(
        reverse("receipts:answer", args=[released.receipt.pk]),
        {"action": "dispute", f"text-{line.pk}": "成果沒有收到"},
    )
    assert sent.status_code == 302 and Dispute.objects.get().line == line
    registry = english(client_for(released.registry))
    with django_assert_max_num_queries(14):
        queue = registry.get(reverse("receipts:disputes"))
    assert "成果沒有收到" in queue.content.decode()
    affairs = english(client_for(make_member(released.school, Role.STUDENT_AFFAIRS)))
    assert "成果沒有收到" not in affairs.get(reverse("receipts:disputes")).content.decode()
    dispute = Dispute.objects.get()
    refused = registry.post(reverse("receipts:dispute_reply", args=[dispute.pk]), {"reply": ""})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.content.decode()
    registry.post(
        reverse("receipts:dispute_reply", args=[dispute.pk]), {"reply": "已更正", "resubmit": "on"}
    )
    after = client.get(reverse("receipts:mine")).content.decode()
    assert "已更正" in after and "Corrected: the roster will be sent again" in after
    # The registry records a paper reply for the other student.
    other = released.students[1]
    paper = registry.post(
        reverse("receipts:paper", args=[released.receipt.pk, other.pk]), {"action": "confirm"}
    )
    assert paper.status_code == 302
    assert ReceiptAnswer.objects.get(student=other).via == "paper"
    outsider_student = client_for(make_member(released.school, Role.STUDENT))
    assert (
        outsider_student.get(
            reverse("receipts:mine_receipt", args=[released.receipt.pk])
        ).status_code
        == 404
    )


def test_reminders_go_once_a_day_to_those_who_have_not_answered(
    released, make_member, mailoutbox, django_capture_on_commit_callbacks, time_machine
):
    student, by = _student_acting(released, make_member)
    student.user.email = "first@example.edu.tw"
    student.user.save()
    other = released.students[1]
    other_member = make_member(released.school, Role.STUDENT)
    other_member.user.email = "second@example.edu.tw"
    other_member.user.save()
    other.user = other_member.user
    other.save(update_fields=["user"])
    receipts.receipt_answer(receipt=released.receipt, student=student, acting=by)
    scope = released.students[0].__class__.objects.filter(school=released.school)
    registry = acting(released.registry)
    with django_capture_on_commit_callbacks(execute=True):
        assert receipts.receipt_remind(receipt=released.receipt, acting=registry, scope=scope) == (
            1,
            0,
        )
    assert [m.to for m in mailoutbox] == [["second@example.edu.tw"]]
    assert "收訖明細" in mailoutbox[0].subject and mailoutbox[0].alternatives
    with django_capture_on_commit_callbacks(execute=True):
        assert receipts.receipt_remind(receipt=released.receipt, acting=registry, scope=scope) == (
            0,
            1,
        )
    assert len(mailoutbox) == 1
    time_machine.move_to(timezone.now() + dt.timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        receipts.receipt_remind(receipt=released.receipt, acting=registry, scope=scope)
    assert len(mailoutbox) == 2


def test_the_overview_counts_and_exports_the_answers(
    released, make_member, django_assert_max_num_queries
):
    student, by = _student_acting(released, make_member)
    receipts.receipt_answer(receipt=released.receipt, student=student, acting=by)
    client = english(client_for(released.registry))
    detail = client.get(reverse("receipts:detail", args=[released.receipt.pk]))
    overview = detail.context["overview"]
    assert (overview["confirmed"], overview["none"], overview["students"]) == (1, 1, 2)
    with django_assert_max_num_queries(12):
        waiting = client.get(
            reverse("receipts:students", args=[released.receipt.pk]), {"answer": "none"}
        )
    text = waiting.content.decode()
    assert released.students[1].name in text and released.students[0].name not in text
    export = client.get(reverse("receipts:export", args=[released.receipt.pk]))
    book = load_workbook(io.BytesIO(export.content))
    rows = list(book.active.values)
    assert rows[0][3] == "Name" and len(rows) == 3
    assert {row[6] for row in rows[1:]} == {"Confirmed", "No answer yet"}


def test_letters_for_students_who_left_and_their_paper_replies(
    released, make_member, django_capture_on_commit_callbacks
):
    left = released.students[1]
    left.status = StudentStatus.TRANSFERRED_OUT
    left.save(update_fields=["status"])
    client = english(client_for(released.registry))
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(reverse("receipts:letters", args=[released.receipt.pk]))
    job = Job.objects.get(kind=receipts.LETTERS_JOB)
    assert started["Location"] == reverse("receipts:job", args=[job.pk])
    job.refresh_from_db()
    assert job.result["letters"] == 1, job.result
    pdf = client.get(reverse("receipts:letters_file", args=[job.pk]))
    reader = PdfReader(io.BytesIO(b"".join(pdf.streaming_content)))
    text = "".join(page.extract_text() for page in reader.pages)
    assert left.name in text and released.students[0].name not in text
    assert ReceiptNotice.objects.filter(student=left, kind="letter").count() == 1
    overview = client.get(reverse("receipts:detail", args=[released.receipt.pk])).context[
        "overview"
    ]
    assert (overview["left"], overview["letters"]) == (1, 1)
    line = ReceiptLine.objects.filter(receipt=released.receipt, student=left).first()
    client.post(
        reverse("receipts:paper", args=[released.receipt.pk, left.pk]),
        {"action": "dispute", f"text-{line.pk}": "回條勾選有誤"},
    )
    answer = ReceiptAnswer.objects.get(student=left)
    assert answer.via == "paper" and answer.is_disputed
    # Nobody left who has not answered: nothing to print, said so.
    again = client.post(reverse("receipts:letters", args=[released.receipt.pk]), follow=True)
    assert "No student who has left school" in again.content.decode()
