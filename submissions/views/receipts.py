"""Receipts (收訖明細). The registry imports one (a file and its password, or fetched over the
transport), follows the import, sees what did not come back as sent, releases the receipt to
the students and records paper replies; students confirm their lines or dispute them during
the receipt-confirmation window; each office answers the disputes of its own rosters."""

import dataclasses
import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import FileResponse, Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.exports import xlsx_response
from portfolio.jobs import result_file_response
from records.access import get_own_student, students_visible_to
from submissions.access import (
    DISPUTE_ROLES,
    disputes_of,
    get_dispute_for,
    get_receipt_for,
    get_receipt_job_for,
    get_receipt_student_for,
    own_student_or_404,
    receipt_jobs_of,
    receipts_of,
)
from submissions.forms.receipts import ReceiptImportForm, YearForm
from submissions.models import (
    AnswerState,
    AnswerVia,
    Dispute,
    Receipt,
    ReceiptAnswer,
    ReceiptLine,
)
from submissions.services import receipts
from submissions.transports import transport_name

PER_PAGE = 100


def _index(request: ActingRequest, form: ReceiptImportForm | None = None, status: int = 200):
    school = request.acting.school
    context = {
        "receipts": receipts_of(request.acting).select_related("school_year", "imported_by")[:50],
        "jobs": receipt_jobs_of(request.acting).order_by("-created_at")[:5],
        "form": form or ReceiptImportForm(school=school),
        "fetch_form": YearForm(school=school) if transport_name() == "http" else None,
    }
    return render(request, "submissions/receipts/index.html", context, status=status)


@acting_required(*receipts.RECEIPT_ROLES)
def index(request: ActingRequest) -> HttpResponse:
    return _index(request)


@require_POST
@acting_required(*receipts.RECEIPT_ROLES)
def import_start(request: ActingRequest) -> HttpResponse:
    form = ReceiptImportForm(request.POST, request.FILES, school=request.acting.school)
    if not form.is_valid():
        return _index(request, form, status=400)
    try:
        job = receipts.receipt_import_start(
            acting=request.acting,
            school_year=form.cleaned_data["school_year"],
            upload=form.cleaned_data["file"],
            password=form.cleaned_data["password"],
        )
    except ValidationError as refusal:
        for field, errors in refusal.message_dict.items():
            for error in errors:
                form.add_error(field, error)
        return _index(request, form, status=400)
    return redirect("receipts:job", job.pk)


@require_POST
@acting_required(*receipts.RECEIPT_ROLES)
def fetch_start(request: ActingRequest) -> HttpResponse:
    form = YearForm(request.POST, school=request.acting.school)
    if transport_name() != "http" or not form.is_valid():
        messages.error(request, _("The receipt cannot be fetched: choose a school year."))
        return redirect("receipts:index")
    job = receipts.receipt_fetch_start(
        acting=request.acting, school_year=form.cleaned_data["school_year"]
    )
    return redirect("receipts:job", job.pk)


@acting_required(*receipts.RECEIPT_ROLES)
def job(request: ActingRequest, pk: int) -> HttpResponse:
    found = get_receipt_job_for(request.acting, pk)
    receipt = None
    if found.is_finished and found.result.get("receipt"):
        receipt = receipts_of(request.acting).filter(pk=found.result["receipt"]).first()
    context = {"job": found, "receipt": receipt}
    return render(request, "submissions/receipts/job.html", context)


@acting_required(*receipts.RECEIPT_ROLES)
def detail(request: ActingRequest, pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    problems = (
        ReceiptLine.objects.problems()
        .filter(receipt=receipt, student__in=students_visible_to(request.acting))
        .select_related("student__school_class")
        .order_by("student__school_class__name", "student__seat_number", "student_id", "position")
    )
    page = Paginator(problems, PER_PAGE).get_page(request.GET.get("page"))
    overview = receipts.receipt_overview(receipt, students_visible_to(request.acting))
    context = {"receipt": receipt, "page": page, "overview": overview}
    return render(request, "submissions/receipts/detail.html", context)


@require_POST
@acting_required(*receipts.RECEIPT_ROLES)
def release(request: ActingRequest, pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    receipts.receipt_release(receipt=receipt, acting=request.acting)
    messages.success(request, _("The receipt is released: its students see their lines."))
    return redirect("receipts:detail", receipt.pk)


# --- a student's lines, grouped like their portfolio -----------------------------------------

ROOT_TITLES = {
    "修課紀錄": gettext_lazy("Courses and grades (修課紀錄)"),
    "課程學習成果": gettext_lazy("Course outcomes (課程學習成果)"),
    "多元表現": gettext_lazy("Diverse performances (多元表現)"),
    "校內幹部經歷": gettext_lazy("Cadre posts (校內幹部經歷)"),
}
TEXT_FIELD = re.compile(r"^text-([0-9]{1,12})$")


@dataclasses.dataclass
class Row:
    """A line as its page shows it: with its dispute, the text just posted and its errors."""

    line: ReceiptLine
    dispute: Dispute | None
    text: str
    errors: list[str]


def _sections(receipt: Receipt, student) -> list[tuple[str, list[ReceiptLine]]]:
    lines = (
        ReceiptLine.objects.filter(receipt=receipt, student=student)
        .select_related(
            "outcome__document", "outcome__media", "performance__document", "performance__media"
        )
        .order_by("position", "pk")
    )
    grouped: dict[str, list[ReceiptLine]] = {root: [] for root in ROOT_TITLES}
    for line in lines:
        grouped.setdefault(line.root, []).append(line)
    return [(str(ROOT_TITLES.get(root, root)), rows) for root, rows in grouped.items() if rows]


def _answer_of(receipt: Receipt, student) -> ReceiptAnswer | None:
    return (
        ReceiptAnswer.objects.filter(receipt=receipt, student=student)
        .prefetch_related("disputes")
        .first()
    )


def _texts(request: ActingRequest) -> dict[int, str]:
    """The dispute texts posted, by line id (other fields ignored)."""
    texts: dict[int, str] = {}
    for key, value in request.POST.items():
        match = TEXT_FIELD.match(key)
        if match:
            texts[int(match.group(1))] = str(value)
    return texts


ANSWERS = ("confirm", "dispute")


def _disputes(request: ActingRequest) -> dict[int, str] | None:
    """The lines' texts when the answer is a dispute; None to confirm."""
    return _texts(request) if request.POST.get("action") == "dispute" else None


def _receipt_page(
    request: ActingRequest,
    template: str,
    receipt: Receipt,
    student,
    *,
    may_answer: bool,
    extra: dict | None = None,
    errors: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    answer = _answer_of(receipt, student)
    disputed = {d.line_id: d for d in answer.disputes.all()} if answer else {}
    posted = _texts(request) if request.method == "POST" else {}
    errors = errors or {}
    sections = [
        (
            title,
            [
                Row(
                    line,
                    disputed.get(line.pk),
                    posted.get(line.pk, ""),
                    errors.get(f"text-{line.pk}", []),
                )
                for line in lines
            ],
        )
        for title, lines in _sections(receipt, student)
    ]
    context = {
        "receipt": receipt,
        "student": student,
        "sections": sections,
        "answer": answer,
        "may_answer": may_answer,
        "general_errors": errors.get("__all__", []),
        **(extra or {}),
    }
    return render(request, template, context, status=status)


@acting_required(Role.STUDENT)
def mine(request: ActingRequest, pk: int | None = None) -> HttpResponse:
    """The student's receipt (the newest released, or an earlier one), to confirm or dispute."""
    student = get_own_student(request.acting)
    if student is None and pk is not None:
        raise Http404
    released = list(receipts.released_receipts_of(student)) if student else []
    if not released:
        context = {"receipt": None, "no_record": student is None}
        return render(request, "submissions/receipts/mine.html", context)
    receipt = (
        released[0]
        if pk is None
        else get_object_or_404(Receipt, pk=pk, pk__in=[r.pk for r in released])
    )
    return _student_page(request, student, receipt, released)


def _student_page(request, student, receipt, released, errors=None, status=200) -> HttpResponse:
    window = receipts.confirmation_window(student, receipt, timezone.now())
    extra = {"window": window, "others": [r for r in released if r.pk != receipt.pk]}
    return _receipt_page(
        request, "submissions/receipts/mine.html", receipt, student,
        may_answer=window.is_open, extra=extra, errors=errors, status=status,
    )  # fmt: skip


@require_POST
@acting_required(Role.STUDENT)
def answer(request: ActingRequest, pk: int) -> HttpResponse:
    student = own_student_or_404(request.acting)
    released = list(receipts.released_receipts_of(student))
    receipt = get_object_or_404(Receipt, pk=pk, pk__in=[r.pk for r in released])
    if request.POST.get("action") not in ANSWERS:
        return HttpResponseBadRequest(_("Choose whether to confirm or to send what is wrong."))
    try:
        receipts.receipt_answer(
            receipt=receipt, student=student, acting=request.acting, disputes=_disputes(request)
        )
    except ValidationError as refusal:
        return _student_page(request, student, receipt, released, refusal.message_dict, 400)
    messages.success(request, _("Your answer is saved. You may change it until the window closes."))
    return redirect("receipts:mine_receipt", receipt.pk)


# --- the registry's view of one student: lines, answer, a paper reply ---------------------------


@acting_required(*receipts.RECEIPT_ROLES)
def student(request: ActingRequest, pk: int, student_pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    found = get_receipt_student_for(request.acting, receipt, student_pk)
    return _receipt_page(
        request, "submissions/receipts/student.html", receipt, found, may_answer=receipt.is_released
    )


@require_POST
@acting_required(*receipts.RECEIPT_ROLES)
def paper(request: ActingRequest, pk: int, student_pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    found = get_receipt_student_for(request.acting, receipt, student_pk)
    if request.POST.get("action") not in ANSWERS:
        return HttpResponseBadRequest(_("Choose whether the student confirmed or reported lines."))
    try:
        receipts.receipt_answer(
            receipt=receipt, student=found, acting=request.acting,
            disputes=_disputes(request), via=AnswerVia.PAPER,
        )  # fmt: skip
    except ValidationError as refusal:
        return _receipt_page(
            request, "submissions/receipts/student.html", receipt, found,
            may_answer=True, errors=refusal.message_dict, status=400,
        )  # fmt: skip
    messages.success(request, _("The paper reply is recorded."))
    return redirect("receipts:student", receipt.pk, found.pk)


# --- each office's disputes ---------------------------------------------------------------------


def _disputes_page(request: ActingRequest, errors=None, status=200) -> HttpResponse:
    found = (
        disputes_of(request.acting)
        .select_related("line", "answer__student__school_class", "answer__receipt", "replied_by")
        .order_by(F("replied_at").desc(nulls_first=True), "created_at", "pk")
    )
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    errors = errors or {}
    rows = [
        (
            dispute,
            errors.get(dispute.pk, []),
            request.POST.get("reply", "") if dispute.pk in errors else "",
        )
        for dispute in page
    ]
    context = {"page": page, "rows": rows}
    return render(request, "submissions/receipts/disputes.html", context, status=status)


@acting_required(*DISPUTE_ROLES)
def disputes(request: ActingRequest) -> HttpResponse:
    return _disputes_page(request)


@require_POST
@acting_required(*DISPUTE_ROLES)
def dispute_reply(request: ActingRequest, pk: int) -> HttpResponse:
    dispute = get_dispute_for(request.acting, pk)
    try:
        receipts.dispute_reply(
            dispute=dispute,
            acting=request.acting,
            reply=request.POST.get("reply", ""),
            resubmit=request.POST.get("resubmit") == "on",
        )
    except ValidationError as refusal:
        return _disputes_page(request, {dispute.pk: refusal.message_dict.get("reply", [])}, 400)
    messages.success(request, _("Your answer is sent to the student."))
    return redirect("receipts:disputes")


# --- the registry's overview of the answers: students, export, reminders, letters -------------

ANSWER_LABELS = {
    "none": gettext_lazy("No answer yet"),
    "confirmed": gettext_lazy("Confirmed"),
    "disputed": gettext_lazy("Disputed"),
    "deemed": gettext_lazy("Deemed confirmed"),
    "paper": gettext_lazy("Paper replies"),
    "left": gettext_lazy("Left school"),
}


def _answer_filter(request: ActingRequest) -> str:
    answer = request.GET.get("answer", "")
    return answer if answer in receipts.ANSWER_FILTERS else ""


def _answer_label(student) -> str:
    """The annotated answer of a student of ``receipt_students``, as a person reads it."""
    if not student.answer_state:
        return str(ANSWER_LABELS["none"])
    label = str(dict(AnswerState.choices).get(student.answer_state, ""))
    if student.answer_via == AnswerVia.PAPER:
        label += " (" + str(dict(AnswerVia.choices)[AnswerVia.PAPER]) + ")"
    return label


@acting_required(*receipts.RECEIPT_ROLES)
def students(request: ActingRequest, pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    answer = _answer_filter(request)
    found = receipts.filter_students(
        receipts.receipt_students(receipt, students_visible_to(request.acting)), answer
    )
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    for student in page:
        student.answer_label = _answer_label(student)
    context = {
        "receipt": receipt,
        "page": page,
        "answer": answer,
        "filters": [(key, str(label)) for key, label in ANSWER_LABELS.items()],
    }
    return render(request, "submissions/receipts/students.html", context)


@acting_required(*receipts.RECEIPT_ROLES)
def export(request: ActingRequest, pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    found = receipts.filter_students(
        receipts.receipt_students(receipt, students_visible_to(request.acting)),
        _answer_filter(request),
    )
    vias = dict(AnswerVia.choices)
    headers = [
        _("Class"), _("Seat"), _("Student number"), _("Name"), _("Enrolment status"),
        _("Lines not as sent"), _("Answer"), _("Answered by way of"), _("Answered at"),
        _("Letter printed"),
    ]  # fmt: skip
    rows = (
        [
            s.school_class.name if s.school_class else "",
            s.seat_number,
            s.student_number,
            s.name,
            s.get_status_display(),
            s.problem_lines,
            _answer_label(s),
            str(vias.get(s.answer_via, "")),
            timezone.localtime(s.answered_at).strftime("%Y-%m-%d %H:%M") if s.answered_at else "",
            _("Yes") if s.letter_printed else "",
        ]
        for s in found.iterator(chunk_size=1000)
    )
    return xlsx_response(
        filename=f"{receipt.school.code}_{receipt.school_year.roc_year}_收訖明細確認.xlsx",
        sheet=_("Receipt answers"),
        headers=headers,
        rows=rows,
    )


@require_POST
@acting_required(*receipts.RECEIPT_ROLES)
def remind(request: ActingRequest, pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    try:
        sent, already = receipts.receipt_remind(
            receipt=receipt, acting=request.acting, scope=students_visible_to(request.acting)
        )
    except ValidationError as refusal:
        for error in refusal.messages:
            messages.error(request, error)
        return redirect("receipts:detail", receipt.pk)
    text = _("Reminded %(sent)d students who have not answered.") % {"sent": sent}
    if already:
        text += " " + _(
            "%(already)d were reminded earlier today and are not reminded again before tomorrow."
        ) % {"already": already}
    messages.success(request, text)
    return redirect("receipts:detail", receipt.pk)


@require_POST
@acting_required(*receipts.RECEIPT_ROLES)
def letters(request: ActingRequest, pk: int) -> HttpResponse:
    receipt = get_receipt_for(request.acting, pk)
    try:
        job = receipts.letters_start(
            receipt=receipt, acting=request.acting, scope=students_visible_to(request.acting)
        )
    except ValidationError as refusal:
        for error in refusal.messages:
            messages.error(request, error)
        return redirect("receipts:detail", receipt.pk)
    return redirect("receipts:job", job.pk)


@acting_required(*receipts.RECEIPT_ROLES)
def letters_file(request: ActingRequest, pk: int) -> FileResponse:
    job = get_receipt_job_for(request.acting, pk)
    if job.kind != receipts.LETTERS_JOB or not job.result_file or not job.result.get("file_name"):
        raise Http404
    return result_file_response(
        job, filename=job.result["file_name"], content_type="application/pdf"
    )
