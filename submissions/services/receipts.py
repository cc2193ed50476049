"""Receipts from the central database (收訖明細): import, reconcile, release to students.

A receipt is imported whole or not at all: every JSON file is checked against SHA.txt
before anything is read, its rosters must be this school's of the chosen school year, and
the lines go in inside one transaction. The same file twice changes nothing (its sha256 is
kept). Its password is used in memory: the import job carries it encrypted under the
platform's field key and drops it when the job ends, and it is never logged or audited.

Reconciling: each JSON file lists the roster files it answers (名冊資訊, by name and sha256);
those are the platform's submitted packages, whose workbooks say what was sent. Per student
and kind, a line that came back as sent is received; a sent line that came back with other
values (same sheet, term and first columns) is different, with the fields that differ; a
sent line that did not come back is missing; a line that came back but was not sent is
unexpected. Outcome and performance lines are tied to their items, so students see the
files with them.
"""

import dataclasses
import datetime as dt
import io
import tempfile
from collections import defaultdict
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.files.base import File
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Role
from portfolio import crypto
from portfolio.actor import Actor
from portfolio.audit import audit_write, audit_write_many
from portfolio.broker import send_quietly
from portfolio.jobs import job_start
from portfolio.lib import national_id
from portfolio.lib.text import forbidden_character
from portfolio.models import Job, School, SchoolYear, Window, WindowKind
from records.models import Student, StudentStatus
from records.services.imports import acting_of, acting_params
from submissions.central import receipt as fmt
from submissions.central import v108
from submissions.models import (
    AnswerState,
    AnswerVia,
    Dispute,
    LineStatus,
    NoticeKind,
    Receipt,
    ReceiptAnswer,
    ReceiptLine,
    ReceiptNotice,
    RosterPackage,
)
from submissions.services.packages import sha256_of

if TYPE_CHECKING:
    from accounts.acting import ActingContext

RECEIPT_JOB = "receipt.import"
FETCH_JOB = "receipt.fetch"
RECEIPT_ROLES = (Role.REGISTRY,)
BATCH = 2000
# Fields a record carries that say where it belongs rather than what it holds.
HEAD = fmt.RECORD_HEAD
# The first columns after the head that name a line (a course, an item): a line that came
# back with these but other values is "different", not "missing" plus "unexpected".
IDENTITY_COLUMNS = 2


@dataclasses.dataclass
class SentLine:
    sheet: str
    birth_date: str
    record: dict[str, str]
    package_id: int
    roster: int
    outcome_id: int | None = None
    performance_id: int | None = None


def _identity(sheet: str, record: dict[str, str]) -> tuple:
    columns = [v for k, v in record.items() if k not in HEAD][:IDENTITY_COLUMNS]
    return (sheet, record.get("學期", ""), *columns)


def _exact(sheet: str, record: dict[str, str], birth_date: str) -> tuple:
    return (sheet, birth_date, *sorted(record.items()))


def _values(record: dict[str, str]) -> tuple[str, ...]:
    return tuple(v for k, v in record.items() if k not in HEAD)


def _item_keys(package: RosterPackage) -> dict[tuple, tuple[str, int]]:
    """(student, sheet, values) -> ("outcome" | "performance", pk) for the items the package
    sent (frozen since, so their rows read the same as when they went)."""
    keys: dict[tuple, tuple[str, int]] = {}
    for outcome in package.outcomes.select_related("enrolment__course__term__school_year"):
        values = v108.outcome_row(outcome, package.division).values()
        sheet = fmt.receipt_sheet(package.roster, v108.OUTCOME_SHEET, ())
        keys[(outcome.student_id, sheet, tuple(fmt.cell_text(v) for v in values))] = (
            "outcome",
            outcome.pk,
        )
    for performance in package.performances.all():
        values = v108.performance_row(performance).values()
        sheet = v108.performance_sheet(performance)
        keys[(performance.student_id, sheet, tuple(fmt.cell_text(v) for v in values))] = (
            "performance",
            performance.pk,
        )
    return keys


class Reconciler:
    """What one receipt's import knows: the school's students by national ID and what the
    packages the receipt answers sent, per student and kind."""

    def __init__(self, school: School, school_year: SchoolYear) -> None:
        self.school = school
        self.school_year = school_year
        # By the ID itself (decrypted once each): a record whose keyed hash is missing
        # still matches.
        self.students = {
            national_id.normalize(student.national_id): student.pk
            for student in Student.objects.filter(school=school)
            .exclude(national_id="")
            .only("pk", "national_id")
            .iterator(chunk_size=2000)
        }
        self.sent: dict[tuple[int, str], list[SentLine]] = defaultdict(list)
        self.packages: dict[str, RosterPackage] = {}
        self.rosters: list[dict[str, Any]] = []

    def student_of(self, text: str) -> int | None:
        normalized = national_id.normalize(text)
        return self.students.get(normalized) if normalized else None

    def take_rosters(self, part: fmt.ReceiptPart) -> None:
        """Check the part's rosters are this school's of this year; read what each sent."""
        for entry in part.rosters:
            name, sha = str(entry.get("名稱", "")), str(entry.get("SHA", "")).lower()
            parts = fmt.roster_name_parts(name)
            if parts is None:
                raise fmt.ReceiptRefused(
                    _("The receipt lists a roster file %(name)s whose name is not a roster's.")
                    % {"name": name}
                )
            code, roc_year, term, roster = parts
            if code != self.school.code:
                raise fmt.ReceiptRefused(
                    _("This receipt is school %(code)s's, not %(school)s's: nothing imported.")
                    % {"code": code, "school": self.school.code}
                )
            if roc_year != self.school_year.roc_year:
                raise fmt.ReceiptRefused(
                    _(
                        "This receipt is for school year %(year)s, not %(chosen)s: nothing "
                        "imported. Choose its year and import it again."
                    )
                    % {"year": roc_year, "chosen": self.school_year.roc_year}
                )
            package = self._package(sha)
            self.rosters.append(
                {
                    "name": name,
                    "sha": sha,
                    "roster": roster,
                    "term": term,
                    "root": part.root,
                    "package": package.pk if package else None,
                }
            )

    def _package(self, sha: str) -> RosterPackage | None:
        if sha in self.packages:
            return self.packages[sha]
        package = (
            RosterPackage.objects.filter(
                school=self.school,
                school_year=self.school_year,
                workbook_sha256=sha,
                submitted_at__isnull=False,
            )
            .order_by("-submitted_at")
            .first()
        )
        if package is None:
            return None
        self.packages[sha] = package
        items = _item_keys(package)
        with package.workbook.open("rb") as workbook:
            for line in fmt.roster_lines(workbook):
                student = self.student_of(line.national_id)
                if student is None:
                    continue
                sent = SentLine(
                    line.sheet, line.birth_date, line.record, package.pk, package.roster
                )
                kind, pk = items.get((student, line.sheet, _values(line.record)), ("", None))
                if kind == "outcome":
                    sent.outcome_id = pk
                elif kind == "performance":
                    sent.performance_id = pk
                self.sent[(student, line.root)].append(sent)
        return package

    def lines_for(
        self, receipt: Receipt, student: int, root: str, entry: dict[str, Any] | None
    ) -> list[ReceiptLine]:
        """The student's lines of one kind: what came back paired with what was sent."""
        sent = self.sent.pop((student, root), [])
        birth_date = str(entry.get("出生日期", "")) if entry else ""
        received = []
        for sheet, records in (entry or {}).items():
            if sheet in fmt.KEY or not isinstance(records, list):
                continue
            received += [(sheet, fmt.record_text(r)) for r in records if isinstance(r, dict)]
        exact: dict[tuple, list[int]] = defaultdict(list)
        for index, (sheet, record) in enumerate(received):
            exact[_exact(sheet, record, birth_date)].append(index)
        used: set[int] = set()
        lines: list[ReceiptLine] = []

        def line(status: str, sent_line: SentLine | None, sheet: str, got: dict, differs=()):
            lines.append(
                ReceiptLine(
                    receipt=receipt,
                    school=self.school,
                    student_id=student,
                    position=len(lines),
                    root=root,
                    sheet=sheet,
                    roster=sent_line.roster if sent_line else None,
                    status=status,
                    received=got,
                    sent=sent_line.record if sent_line and status != LineStatus.RECEIVED else {},
                    differs=list(differs),
                    package_id=sent_line.package_id if sent_line else None,
                    outcome_id=sent_line.outcome_id if sent_line else None,
                    performance_id=sent_line.performance_id if sent_line else None,
                )
            )

        unmatched: list[SentLine] = []
        for sent_line in sent:
            matches = exact.get(_exact(sent_line.sheet, sent_line.record, sent_line.birth_date))
            if matches:
                index = matches.pop(0)
                used.add(index)
                line(LineStatus.RECEIVED, sent_line, sent_line.sheet, received[index][1])
            else:
                unmatched.append(sent_line)
        by_identity: dict[tuple, list[int]] = defaultdict(list)
        for index, (sheet, record) in enumerate(received):
            if index not in used:
                by_identity[_identity(sheet, record)].append(index)
        for sent_line in unmatched:
            candidates = by_identity.get(_identity(sent_line.sheet, sent_line.record))
            if not candidates:
                line(LineStatus.MISSING, sent_line, sent_line.sheet, {})
                continue
            index = candidates.pop(0)
            used.add(index)
            got = received[index][1]
            differs = [
                k
                for k in dict.fromkeys([*sent_line.record, *got])
                if sent_line.record.get(k, "") != got.get(k, "")
            ]
            if sent_line.birth_date != birth_date:
                differs.insert(0, "出生日期")
            line(LineStatus.DIFFERENT, sent_line, sent_line.sheet, got, differs)
        for index, (sheet, record) in enumerate(received):
            if index not in used:
                line(LineStatus.UNEXPECTED, None, sheet, record)
        return lines


def receipt_check_password(file: IO[bytes], password: str) -> None:
    """Refuse at once, as a form error on the file or the password, a file that is not a
    receipt or a wrong password."""
    try:
        fmt.receipt_check(file, password)
    except fmt.ReceiptRefused as refusal:
        raise ValidationError({refusal.field: [str(refusal)]}) from None


def receipt_import(
    *,
    school: School,
    school_year: SchoolYear,
    file: IO[bytes],
    file_name: str,
    password: str,
    sha256: str,
    by: Actor | None,
    via: str,
    progress: Callable[[int, int], None] = lambda done, total: None,
) -> tuple[Receipt, bool]:
    """Import and reconcile a receipt; (the receipt, whether it is new). Raises
    ``ReceiptRefused`` with nothing imported."""
    existing = Receipt.objects.filter(school=school, sha256=sha256).first()
    if existing is not None:
        return existing, False
    parts = fmt.receipt_read(file, password)
    reconciler = Reconciler(school, school_year)
    counts: dict[str, int] = defaultdict(int)
    problem_students: set[int] = set()
    answered_students: set[int] = set()
    unknown: set[str] = set()
    try:
        with transaction.atomic():
            receipt = Receipt.objects.create(
                school=school,
                school_year=school_year,
                file_name=file_name[:200],
                sha256=sha256,
                via=via,
                imported_by=by.user if by else None,
            )
            pending: list[ReceiptLine] = []

            def keep(lines: list[ReceiptLine]) -> None:
                for line in lines:
                    counts[line.status] += 1
                    answered_students.add(line.student_id)
                    if line.status != LineStatus.RECEIVED:
                        problem_students.add(line.student_id)
                pending.extend(lines)
                if len(pending) >= BATCH:
                    ReceiptLine.objects.bulk_create(pending, batch_size=BATCH)
                    pending.clear()

            roots: list[str] = []
            for part in parts:
                reconciler.take_rosters(part)
                roots.append(part.root)
                total = len(part.students)
                for done, entry in enumerate(part.students, start=1):
                    student = reconciler.student_of(str(entry.get("身分證號", "")))
                    if student is None:
                        unknown.add(national_id.mask(str(entry.get("身分證號", ""))))
                        continue
                    keep(reconciler.lines_for(receipt, student, part.root, entry))
                    if done % 200 == 0:
                        progress(done, total)
                # Students the rosters sent lines for whom this kind did not mention.
                for student, root in [k for k in reconciler.sent if k[1] == part.root]:
                    keep(reconciler.lines_for(receipt, student, root, None))
            ReceiptLine.objects.bulk_create(pending, batch_size=BATCH)
            receipt.rosters = reconciler.rosters
            receipt.counts = {
                "students": len(answered_students),
                "lines": sum(counts.values()),
                **{status: counts.get(status, 0) for status in LineStatus.values},
                "unknown_students": len(unknown),
                "students_with_problems": len(problem_students),
                "unmatched_rosters": sum(1 for r in reconciler.rosters if r["package"] is None),
            }
            receipt.save(update_fields=["rosters", "counts"])
            audit_write(
                school=school,
                by=by,
                action="receipt.import",
                target=receipt,
                changes={"file": receipt.file_name, "via": via, "counts": receipt.counts},
            )
    except IntegrityError:
        # The same receipt imported at the same moment by another job: that one counts.
        existing = Receipt.objects.filter(school=school, sha256=sha256).first()
        if existing is None:
            raise
        return existing, False
    return receipt, True


def receipt_import_start(
    *, acting: "ActingContext", school_year: SchoolYear, upload: File, password: str
) -> Job:
    """Check the file opens with the password, then import it in the background; the
    password goes to the job encrypted and is dropped when the job ends."""
    receipt_check_password(upload, password)
    return job_start(
        school=acting.school,
        kind=RECEIPT_JOB,
        params={
            "school_year": school_year.pk,
            "file_name": (upload.name or "receipt.zip")[-200:],
            "secret": crypto.encrypt(password),
            "language": translation.get_language(),
            "acting": acting_params(acting),
        },
        by=acting,
        input_file=upload,
    )


def receipt_fetch_start(*, acting: "ActingContext", school_year: SchoolYear) -> Job:
    """Ask the central database (over the transport) for the year's receipt, then import it."""
    return job_start(
        school=acting.school,
        kind=FETCH_JOB,
        params={
            "school_year": school_year.pk,
            "language": translation.get_language(),
            "acting": acting_params(acting),
        },
        by=acting,
    )


def _result(receipt: Receipt, new: bool) -> dict[str, Any]:
    return {"receipt": receipt.pk, "new": new, "counts": receipt.counts}


def import_job(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    """The import job: the uploaded file, the password from the job (then dropped)."""
    try:
        secret = job.params.get("secret", "")
        password = crypto.decrypt(secret) if secret else ""
        school_year = SchoolYear.objects.get(pk=job.params["school_year"], school=job.school)
        by = acting_of(job)
        with job.input_file.open("rb") as file:
            sha = sha256_of(file)
            try:
                receipt, new = receipt_import(
                    school=job.school,
                    school_year=school_year,
                    file=file,
                    file_name=job.params.get("file_name", ""),
                    password=password,
                    sha256=sha,
                    by=by,
                    via="upload",
                    progress=progress,
                )
            except fmt.ReceiptRefused as refusal:
                return {"refused": str(refusal)}
        return _result(receipt, new)
    finally:
        params = {k: v for k, v in job.params.items() if k != "secret"}
        Job.objects.filter(pk=job.pk).update(params=params)


def fetch_job(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    """The fetch job: the receipt and its password from the transport, imported at once
    (the password never leaves memory)."""
    from submissions.transports import transport
    from submissions.transports.base import TransportError

    school_year = SchoolYear.objects.get(pk=job.params["school_year"], school=job.school)
    try:
        fetched = transport().fetch_receipt(job.school.code, school_year.roc_year)
    except TransportError:
        return {"refused": _("The central database could not be reached. Try again later.")}
    by = acting_of(job)
    file = io.BytesIO(fetched.data)
    try:
        receipt, new = receipt_import(
            school=job.school,
            school_year=school_year,
            file=file,
            file_name=fetched.name,
            password=fetched.password,
            sha256=sha256_of(file),
            by=by,
            via="transport",
            progress=progress,
        )
    except fmt.ReceiptRefused as refusal:
        return {"refused": str(refusal)}
    return _result(receipt, new)


def receipt_release(*, receipt: Receipt, acting: Actor, now: dt.datetime | None = None) -> Receipt:
    """Show the receipt to its students (in a receipt-confirmation window)."""
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
        if receipt.released_at is not None:
            return receipt
        receipt.released_at = now or timezone.now()
        receipt.released_by = acting.user
        receipt.save(update_fields=["released_at", "released_by"])
        audit_write(school=receipt.school, by=acting, action="receipt.release", target=receipt)
    return receipt


# --- the students' answers, disputes, deemed confirmation --------------------------------------

MAX_DISPUTE_TEXT = 1000


def office_for(line: ReceiptLine) -> str:
    """The office that submitted the line's roster and answers disputes of it."""
    from submissions.services.rosters import codes_for

    if line.roster is not None:
        return (
            Role.STUDENT_AFFAIRS
            if line.roster in codes_for(Role.STUDENT_AFFAIRS)
            else Role.REGISTRY
        )
    return Role.STUDENT_AFFAIRS if line.root == "校內幹部經歷" else Role.REGISTRY


def released_receipts_of(student: Student):
    """The released receipts that hold lines of ``student``, newest first."""
    return (
        Receipt.objects.filter(
            school_id=student.school_id,
            released_at__isnull=False,
            lines__student=student,
        )
        .distinct()
        .select_related("school_year")
        .order_by("-released_at", "-pk")
    )


def confirmation_window(student: Student, receipt: Receipt, now: dt.datetime):
    """The receipt-confirmation window of the receipt's school year for the student's grade
    open at ``now`` (and the next one), as an ``UploadWindow``."""
    from submissions.services.windows import student_grade, upload_window

    terms = list(receipt.school_year.terms.all())
    grade = student_grade(student, terms[0], None) if terms else None
    return upload_window(
        kind=WindowKind.RECEIPT_CONFIRMATION, student=None, terms=terms, grade=grade, now=now
    )


def _clean_texts(receipt: Receipt, student: Student, texts: dict[int, str]) -> dict[int, str]:
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, str] = {}
    lines = set(
        ReceiptLine.objects.filter(
            receipt=receipt, student=student, pk__in=list(texts)
        ).values_list("pk", flat=True)
    )
    for pk, raw in texts.items():
        text = (raw or "").strip()
        if not text:
            continue
        field = f"text-{pk}"
        if pk not in lines:
            errors.setdefault("__all__", []).append(
                _("A line you reported is not in your receipt.")
            )
        elif len(text) > MAX_DISPUTE_TEXT:
            errors[field] = [
                _("Say it in at most %(limit)d characters.") % {"limit": MAX_DISPUTE_TEXT}
            ]
        elif (bad := forbidden_character(text, multiline=True)) is not None:
            errors[field] = [bad.message]
        else:
            cleaned[pk] = text
    if errors:
        raise ValidationError(errors)
    if not cleaned:
        raise ValidationError(
            {
                "__all__": [
                    _("Write what is wrong beside at least one line, or confirm the receipt.")
                ]
            }
        )
    return cleaned


def receipt_answer(
    *,
    receipt: Receipt,
    student: Student,
    acting: Actor,
    disputes: dict[int, str] | None = None,
    via: str = AnswerVia.ONLINE,
    now: dt.datetime | None = None,
) -> ReceiptAnswer:
    """A student's answer (on the platform, during the window) or a paper reply the registry
    records (any time): confirmed when ``disputes`` is None, else disputed, one ``Dispute``
    per line with its text, sent to the office of the line's roster. A new answer replaces
    the last; disputes already answered by an office stay."""
    now = now or timezone.now()
    if not receipt.is_released:
        raise ValidationError({"__all__": [_("This receipt has not been released yet.")]})
    if via == AnswerVia.ONLINE:
        window = confirmation_window(student, receipt, now)
        if not window.is_open:
            raise ValidationError(
                {
                    "__all__": [
                        _(
                            "Answers are taken only during the receipt-confirmation window, "
                            "and it is not open."
                        )
                    ]
                }
            )
    texts = _clean_texts(receipt, student, disputes) if disputes is not None else {}
    state = AnswerState.DISPUTED if texts else AnswerState.CONFIRMED
    with transaction.atomic():
        Receipt.objects.select_for_update().filter(pk=receipt.pk).first()
        answer = ReceiptAnswer.objects.filter(receipt=receipt, student=student).first()
        before = answer.state if answer else ""
        if answer is None:
            answer = ReceiptAnswer(receipt=receipt, student=student, school=receipt.school)
        answer.state = state
        answer.via = via
        answer.answered_by = acting.user
        answer.answered_at = now
        answer.save()
        Dispute.objects.filter(answer=answer, replied_at__isnull=True).delete()
        lines = {line.pk: line for line in ReceiptLine.objects.filter(pk__in=list(texts))}
        Dispute.objects.bulk_create(
            [
                Dispute(
                    answer=answer,
                    line=lines[pk],
                    school=receipt.school,
                    office=office_for(lines[pk]),
                    text=text,
                )
                for pk, text in texts.items()
            ]
        )
        audit_write(
            school=receipt.school,
            by=acting,
            action="receipt.answer",
            target=answer,
            changes={"state": [before, state], "via": via, "disputed_lines": sorted(texts)},
        )
    return answer


def dispute_reply(
    *, dispute: Dispute, acting: Actor, reply: str, resubmit: bool, now: dt.datetime | None = None
) -> Dispute:
    """The office's answer to a dispute; ``resubmit`` (the data was corrected) reopens the
    submitted roster the line came in, so its page asks for a new build and submission."""
    from submissions.services.rosters import package_reopen

    reply = reply.strip()
    if not reply:
        raise ValidationError({"reply": [_("Write your answer to the student.")]})
    if len(reply) > MAX_DISPUTE_TEXT:
        raise ValidationError(
            {"reply": [_("Say it in at most %(limit)d characters.") % {"limit": MAX_DISPUTE_TEXT}]}
        )
    if (bad := forbidden_character(reply, multiline=True)) is not None:
        raise ValidationError({"reply": [bad.message]})
    with transaction.atomic():
        dispute = (
            Dispute.objects.select_for_update(of=("self",))
            .select_related("line__package")
            .get(pk=dispute.pk)
        )
        dispute.reply = reply
        dispute.replied_by = acting.user
        dispute.replied_at = now or timezone.now()
        dispute.resubmit = resubmit
        dispute.save(update_fields=["reply", "replied_by", "replied_at", "resubmit"])
        audit_write(
            school=dispute.school,
            by=acting,
            action="receipt.dispute_reply",
            target=dispute,
            changes={"resubmit": resubmit},
        )
        package = dispute.line.package
        if resubmit and package is not None and package.is_frozen:
            package_reopen(
                package=package,
                acting=acting,  # type: ignore[arg-type]
                reason=_("Corrected after a student's dispute of the receipt: %(text)s")
                % {"text": dispute.text[:300]},
            )
    return dispute


def receipts_deem(*, now: dt.datetime | None = None) -> int:
    """Every student who neither confirmed nor disputed a released receipt by the close of
    its receipt-confirmation window is deemed to have confirmed it: once (a student's answer
    is unique per receipt, and each receipt is locked while its students are deemed),
    audited one row per student. Returns how many were deemed."""
    now = now or timezone.now()
    deemed = 0
    closed = Window.objects.filter(
        kind=WindowKind.RECEIPT_CONFIRMATION,
        ends_at__lte=now,
        ends_at__gt=now - DEEM_LOOKBACK,
    ).select_related("term", "school")
    for window in closed:
        receipts = Receipt.objects.filter(
            school=window.school,
            school_year_id=window.term.school_year_id,
            released_at__lte=window.ends_at,
        ).values_list("pk", flat=True)
        for receipt_pk in receipts:
            deemed += _deem(receipt_pk, window)
    return deemed


DEEM_LOOKBACK = dt.timedelta(days=60)


def _deem(receipt_pk: int, window: Window) -> int:
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().get(pk=receipt_pk)
        students = ReceiptLine.objects.filter(receipt=receipt).exclude(
            student__in=ReceiptAnswer.objects.filter(receipt=receipt).values("student")
        )
        if window.grade is not None:
            students = students.filter(
                student__school_class__grade=window.grade,
                student__school_class__school_year_id=receipt.school_year_id,
            )
        ids = sorted(set(students.values_list("student_id", flat=True)))
        if not ids:
            return 0
        answers = ReceiptAnswer.objects.bulk_create(
            [
                ReceiptAnswer(
                    receipt=receipt,
                    school=receipt.school,
                    student_id=pk,
                    state=AnswerState.DEEMED,
                    via=AnswerVia.DEEMED,
                    answered_at=window.ends_at,
                )
                for pk in ids
            ]
        )
        audit_write_many(
            school=receipt.school,
            by=None,
            action="receipt.deemed",
            entries=[(answer, {"window": window.pk, "receipt": receipt.pk}) for answer in answers],
        )
    return len(ids)


# --- the registry's overview, reminders and letters -------------------------------------------

ANSWER_FILTERS = ("none", "confirmed", "disputed", "deemed", "paper", "left")
LEFT = (StudentStatus.SUSPENDED, StudentStatus.TRANSFERRED_OUT, StudentStatus.GRADUATED)
LETTERS_JOB = "receipt.letters"


def receipt_students(receipt: Receipt, scope: QuerySet[Student]) -> Any:
    """The students of ``scope`` with lines in ``receipt``, each annotated with their answer
    (state, via, when), their lines not received as sent, and whether a letter was printed
    (typed ``Any``: the annotations are not the model's fields)."""
    answer = ReceiptAnswer.objects.filter(receipt=receipt, student=OuterRef("pk"))
    return (
        scope.filter(pk__in=ReceiptLine.objects.filter(receipt=receipt).values("student"))
        .annotate(
            answer_state=Subquery(answer.values("state")[:1]),
            answer_via=Subquery(answer.values("via")[:1]),
            answered_at=Subquery(answer.values("answered_at")[:1]),
            problem_lines=Count(
                "receipt_lines",
                filter=Q(receipt_lines__receipt=receipt)
                & ~Q(receipt_lines__status=LineStatus.RECEIVED),
            ),
            letter_printed=Exists(
                ReceiptNotice.objects.filter(
                    receipt=receipt, student=OuterRef("pk"), kind=NoticeKind.LETTER
                )
            ),
        )
        .select_related("school_class")
        .order_by("school_class__name", "seat_number", "student_number", "pk")
    )


def filter_students(students: Any, answer: str) -> Any:
    if answer == "none":
        return students.filter(answer_state__isnull=True)
    if answer == "paper":
        return students.filter(answer_via=AnswerVia.PAPER)
    if answer == "left":
        return students.filter(status__in=LEFT)
    if answer in AnswerState.values:
        return students.filter(answer_state=answer)
    return students


def receipt_overview(receipt: Receipt, scope: QuerySet[Student]) -> dict[str, int]:
    """How many of the scope's students of the receipt answered how; letters and replies."""
    students = scope.filter(pk__in=ReceiptLine.objects.filter(receipt=receipt).values("student"))
    answers = ReceiptAnswer.objects.filter(receipt=receipt, student__in=students)
    counts = dict(answers.values_list("state").annotate(n=Count("pk")).order_by())
    total = students.count()
    answered = sum(counts.values())
    return {
        "students": total,
        "confirmed": counts.get(AnswerState.CONFIRMED, 0),
        "disputed": counts.get(AnswerState.DISPUTED, 0),
        "deemed": counts.get(AnswerState.DEEMED, 0),
        "none": total - answered,
        "paper": answers.filter(via=AnswerVia.PAPER).count(),
        "left": students.filter(status__in=LEFT).count(),
        "letters": ReceiptNotice.objects.filter(
            receipt=receipt, kind=NoticeKind.LETTER, student__in=students
        )
        .values("student")
        .distinct()
        .count(),
    }


def _today(now: dt.datetime) -> dt.date:
    return timezone.localtime(now).date()


def receipt_remind(
    *, receipt: Receipt, acting: Actor, scope: QuerySet[Student], now: dt.datetime | None = None
) -> tuple[int, int]:
    """Remind the scope's enrolled students who have not answered, each at most once a day:
    (reminded now, already reminded today). The e-mails go out after the commit, each in
    its own task."""
    from submissions.tasks import send_receipt_reminder

    now = now or timezone.now()
    if not receipt.is_released:
        raise ValidationError({"__all__": [_("Release the receipt before reminding students.")]})
    day = _today(now)
    with transaction.atomic():
        Receipt.objects.select_for_update().filter(pk=receipt.pk).first()
        waiting = set(
            filter_students(receipt_students(receipt, scope), "none")
            .filter(status=StudentStatus.ENROLLED)
            .values_list("pk", flat=True)
        )
        done_today = set(
            ReceiptNotice.objects.filter(
                receipt=receipt, kind=NoticeKind.REMINDER, day=day, student__in=waiting
            ).values_list("student", flat=True)
        )
        notices = ReceiptNotice.objects.bulk_create(
            [
                ReceiptNotice(
                    receipt=receipt,
                    school=receipt.school,
                    student_id=pk,
                    kind=NoticeKind.REMINDER,
                    day=day,
                    sent_by=acting.user,
                )  # fmt: skip
                for pk in sorted(waiting - done_today)
            ]
        )
        audit_write(
            school=receipt.school,
            by=acting,
            action="receipt.remind",
            target=receipt,
            changes={"reminded": len(notices), "already_today": len(done_today)},
        )
        ids = [notice.pk for notice in notices]
        transaction.on_commit(lambda: [send_quietly(send_receipt_reminder, pk) for pk in ids])
    return len(notices), len(done_today)


def reminder_send(notice_id: int) -> bool:
    """E-mail one reminder (subject, text and HTML, in Traditional Chinese and English);
    False when the student has no account with an e-mail address."""
    notice = (
        ReceiptNotice.objects.select_related("student__user", "receipt__school_year", "school")
        .filter(pk=notice_id)
        .first()
    )
    user = notice.student.user if notice else None
    if notice is None or user is None or not user.email:
        return False
    window = confirmation_window(notice.student, notice.receipt, timezone.now())
    context = {"notice": notice, "student": notice.student, "window": window}
    with translation.override("zh-hant"):
        subject = render_to_string("submissions/receipts/email/reminder_subject.txt", context)
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("submissions/receipts/email/reminder.txt", context),
        to=[user.email],
    )
    message.attach_alternative(
        render_to_string("submissions/receipts/email/reminder.html", context), "text/html"
    )
    message.send()
    return True


def letters_start(*, receipt: Receipt, acting: "ActingContext", scope: QuerySet[Student]) -> Job:
    """Print, in the background, one PDF with a letter for each student of the receipt who
    has left school and not answered."""
    students = list(
        filter_students(receipt_students(receipt, scope), "left")
        .filter(answer_state__isnull=True)
        .values_list("pk", flat=True)
    )
    if not students:
        raise ValidationError(
            {"__all__": [_("No student who has left school is waiting to answer this receipt.")]}
        )
    return job_start(
        school=receipt.school,
        kind=LETTERS_JOB,
        params={
            "receipt": receipt.pk,
            "students": students,
            "language": "zh-hant",
            "acting": acting_params(acting),
        },
        by=acting,
    )


def _letter_line(line: ReceiptLine) -> str:
    fields = [value for key, value in line.fields.items() if value and key not in HEAD]
    return " ".join(fields)[:400]


def letters_job(job: Job, progress: Callable[[int, int], None]) -> dict[str, Any]:
    from submissions.letters import Letter, LetterLine, letters_pdf

    receipt = Receipt.objects.select_related("school", "school_year").get(
        pk=job.params["receipt"], school=job.school
    )
    students = list(
        Student.objects.filter(school=job.school, pk__in=job.params["students"])
        .select_related("school_class")
        .order_by("school_class__name", "seat_number", "student_number", "pk")
    )
    lines: dict[int, list[ReceiptLine]] = defaultdict(list)
    for line in ReceiptLine.objects.filter(receipt=receipt, student__in=students).order_by(
        "student", "position"
    ):
        lines[line.student_id].append(line)
    now = timezone.now()
    letters = []
    for done, student in enumerate(students, start=1):
        window = confirmation_window(student, receipt, now)
        closes = window.closes_at or (window.next_window.ends_at if window.next_window else None)
        answer_by = timezone.localtime(closes).date() if closes else _today(now) + LETTER_DAYS
        letters.append(
            Letter(
                school_name=receipt.school.name,
                school_code=receipt.school.code,
                school_year=f"{receipt.school_year.roc_year}學年度",
                student_name=student.name,
                student_number=student.student_number,
                class_label=student.school_class.name if student.school_class else "",
                mailing_address="",
                lines=tuple(
                    LetterLine(section=line.root, text=_letter_line(line), status=line.status)
                    for line in lines[student.pk]
                ),
                answer_by=answer_by,
                office="教務處註冊組",
                office_contact="",
                issued_on=_today(now),
            )
        )
        progress(done, len(students) * 2)
    with tempfile.TemporaryFile() as pdf:
        pages = letters_pdf(letters, pdf)
        pdf.seek(0)
        name = f"{receipt.school.code}_{receipt.school_year.roc_year}_收訖明細回條信函.pdf"
        with transaction.atomic():
            job.result_file.save(name, File(pdf, name=name), save=False)
            Job.objects.filter(pk=job.pk).update(result_file=job.result_file.name)
            day = _today(now)
            ReceiptNotice.objects.bulk_create(
                [
                    ReceiptNotice(
                        receipt=receipt,
                        school=receipt.school,
                        student=student,
                        kind=NoticeKind.LETTER,
                        day=day,
                        sent_by=job.created_by,
                    )  # fmt: skip
                    for student in students
                ],
                ignore_conflicts=True,
            )
            audit_write(
                school=receipt.school,
                by=acting_of(job),
                action="receipt.letters",
                target=receipt,
                changes={"letters": len(students), "pages": pages},
            )
    return {"receipt": receipt.pk, "letters": len(students), "pages": pages, "file_name": name}


LETTER_DAYS = dt.timedelta(days=14)
