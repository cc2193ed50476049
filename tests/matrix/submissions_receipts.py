"""Rows for the registry's receipts (收訖明細): the registry only; another school's registry
finds none of this school's receipts or imports."""

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Role
from portfolio.models import Job, JobStatus
from records.models import Student
from submissions.models import (
    AnswerState,
    AnswerVia,
    Dispute,
    LineStatus,
    Receipt,
    ReceiptAnswer,
    ReceiptLine,
)
from submissions.services.receipts import LETTERS_JOB, RECEIPT_JOB
from tests.matrix import only

R = Role


def build(world, make_member):
    school, year = world["school"], world["term"].school_year
    world["receipt"] = receipt = Receipt.objects.create(
        school=school, school_year=year, file_name="receipt.zip", sha256="0" * 64, via="upload",
        released_at=timezone.now(),
    )  # fmt: skip
    # A day-division student (no class yet) with one line, disputed to the registry.
    student = Student.objects.create(school=school, student_number="R001", name="收訖生")
    line = ReceiptLine.objects.create(
        receipt=receipt, school=school, student=student, root="修課紀錄", sheet="學期成績",
        roster=2, status=LineStatus.MISSING, sent={"課程代碼": "X"},
    )  # fmt: skip
    answer = ReceiptAnswer.objects.create(
        receipt=receipt, school=school, student=student, state=AnswerState.DISPUTED,
        via=AnswerVia.ONLINE, answered_at=timezone.now(),
    )  # fmt: skip
    world["receipt_student"] = student
    letters = Job.objects.create(
        school=school, kind=LETTERS_JOB, params={"receipt": receipt.pk},
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(),
        result={"receipt": receipt.pk, "letters": 1, "pages": 1, "file_name": "letters.pdf"},
    )  # fmt: skip
    letters.result_file.save("letters.pdf", ContentFile(b"%PDF-1.4"), save=True)
    world["letters_job"] = letters
    world["dispute"] = Dispute.objects.create(
        answer=answer, line=line, school=school, office=Role.REGISTRY, text="沒有收到"
    )
    world["receipt_job"] = Job.objects.create(
        school=school, kind=RECEIPT_JOB, params={"school_year": year.pk},
        status=JobStatus.SUCCEEDED, finished_at=timezone.now(),
        result={"receipt": world["receipt"].pk, "new": True},
    )  # fmt: skip


def _receipt(world):
    return {"pk": world["receipt"].pk}


def _job(world):
    return {"pk": world["receipt_job"].pk}


# The lists show the acting school's own: 200 for another school's registry.
OWN_LIST = only({R.REGISTRY: 200}, outsider=200, outsider_role=R.REGISTRY)
# An import without a file is refused on the page (400), for any school's registry.
IMPORT = only({R.REGISTRY: 400}, outsider=400, outsider_role=R.REGISTRY)
# Without the http transport, fetching goes back to the list with a message.
FETCH = only({R.REGISTRY: 302}, outsider=302, outsider_role=R.REGISTRY)
OWN = only({R.REGISTRY: 200}, outsider=404, outsider_role=R.REGISTRY)
RELEASE = only({R.REGISTRY: 302}, outsider=404, outsider_role=R.REGISTRY)


def _student(world):
    return {"pk": world["receipt"].pk, "student_pk": world["receipt_student"].pk}


def _dispute(world):
    return {"pk": world["dispute"].pk}


# The matrix's students have no record linked: their page says so (200); a receipt of theirs
# is 404, as for a student of another school.
MINE = only({R.STUDENT: 200}, outsider=200, outsider_role=R.STUDENT)
MINE_RECEIPT = only({R.STUDENT: 404}, outsider=404, outsider_role=R.STUDENT)
# The student is the day division's: the continuing division's registry does not find them.
STUDENT = only({R.REGISTRY: 200}, outsider=404, outsider_role=R.REGISTRY, other_division=404)
# A paper reply without saying which is refused (400).
PAPER = only({R.REGISTRY: 400}, outsider=404, outsider_role=R.REGISTRY, other_division=404)
QUEUE = only({R.REGISTRY: 200, R.STUDENT_AFFAIRS: 200}, outsider=200, outsider_role=R.REGISTRY)
# The dispute is the registry's (a grade roster line): student affairs does not find it; an
# empty answer is refused on the page (400).
REPLY = only(
    {R.REGISTRY: 400, R.STUDENT_AFFAIRS: 404},
    outsider=404,
    outsider_role=R.REGISTRY,
    other_division=404,
)


def _letters(world):
    return {"pk": world["letters_job"].pk}


# Reminding, and printing letters when nobody has left, go back to the receipt's page.
BACK = only({R.REGISTRY: 302}, outsider=404, outsider_role=R.REGISTRY)

ROWS = {
    "receipts:students": ("get", _receipt, OWN),
    "receipts:export": ("get", _receipt, OWN),
    "receipts:remind": ("post", _receipt, BACK),
    "receipts:letters": ("post", _receipt, BACK),
    "receipts:letters_file": ("get", _letters, OWN),
    "receipts:mine": ("get", None, MINE),
    "receipts:mine_receipt": ("get", _receipt, MINE_RECEIPT),
    "receipts:answer": ("post", _receipt, MINE_RECEIPT),
    "receipts:student": ("get", _student, STUDENT),
    "receipts:paper": ("post", _student, PAPER),
    "receipts:disputes": ("get", None, QUEUE),
    "receipts:dispute_reply": ("post", _dispute, REPLY),
    "receipts:index": ("get", None, OWN_LIST),
    "receipts:import": ("post", None, IMPORT),
    "receipts:fetch": ("post", None, FETCH),
    "receipts:job": ("get", _job, OWN),
    "receipts:detail": ("get", _receipt, OWN),
    "receipts:release": ("post", _receipt, RELEASE),
}
