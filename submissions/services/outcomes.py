"""Course outcomes (課程學習成果): upload, edit, send, withdraw, replace a file; and what the
student's pages need to know (the terms open for uploads, with their caps).

A file and the row that points to it are written together: the checked file is stored
first, then the rows are created in one transaction; if anything fails after a file was
stored, the file is deleted again, so a failure leaves neither a file nor a row. Files that
a replacement makes unused are deleted only once the new rows are committed.
"""

import contextlib
import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from portfolio.audit import audit_write
from portfolio.models import School, SchoolPolicy, SchoolYear, Term, Window, WindowKind
from records.models import CourseEnrolment, Student
from submissions.files import CheckedFile, mb_to_bytes
from submissions.models import (
    OUTCOME_EDITABLE_STATES,
    CourseOutcome,
    OutcomeState,
    StoredFile,
    WindowExtension,
)
from submissions.services.stored_files import (
    check_files,
    close_all,
    delete_paths,
    delete_stored_after_commit,
    file_audit,
    store_all,
    stored_file_row,
)
from submissions.services.windows import (
    UploadWindow,
    WindowBook,
    policy_for,
    student_grade,
    upload_window,
)

if TYPE_CHECKING:
    from accounts.acting import ActingContext

TITLE_MAX = 100


# --- reads the checks need -----------------------------------------------------------------


def _window_for(
    enrolment: CourseEnrolment, student: Student, now: dt.datetime, book: WindowBook | None = None
) -> UploadWindow:
    course = enrolment.course
    return upload_window(
        kind=WindowKind.OUTCOME_UPLOAD,
        student=student,
        terms=course.term,
        grade=student_grade(student, course.term, fallback=course.grade),
        now=now,
        book=book,
    )


def _cap_problem(student: Student, term: Term, cap: int) -> str | None:
    used = CourseOutcome.objects.counting_toward_cap(student, term).count()
    if used < cap:
        return None
    return _(
        "You have used all your course-outcome uploads for this term (%(used)s of %(cap)s "
        "used). Withdraw one you do not need to upload another."
    ) % {"used": used, "cap": cap}


def _check_enrolment(student: Student, enrolment: CourseEnrolment) -> None:
    """The course must be one the student took, at their school, and carry credits."""
    course = enrolment.course
    if (
        enrolment.student_id != student.pk
        or enrolment.school_id != student.school_id
        or course.school_id != student.school_id
        or course.term.school_id != student.school_id
    ):
        raise ValidationError({"enrolment": [_("Choose one of the courses you took.")]})
    if not course.credits:
        raise ValidationError(
            {
                "enrolment": [
                    _(
                        "Course outcomes can be uploaded only for credited courses; "
                        "%(course)s has no credits."
                    )
                    % {"course": course.name}
                ]
            }
        )


def _clean_text(value: str | None) -> str:
    """Text as it is stored and counted: trimmed, with the browser's CRLF line breaks as LF
    (so a line break counts as one character, as the page's counter counts it)."""
    return (value or "").replace("\r\n", "\n").strip()


def _text_problems(title: str, description: str, policy: SchoolPolicy) -> dict[str, list[str]]:
    """Title and short description against the limits (the school's for the description)."""
    problems: dict[str, list[str]] = {}
    if not title:
        problems["title"] = [_("Give the outcome a title.")]
    elif len(title) > TITLE_MAX:
        problems["title"] = [
            _("The title may have at most %(max)s characters; it has %(n)s.")
            % {"max": TITLE_MAX, "n": len(title)}
        ]
    if not description:
        problems["description"] = [_("Write a short description of the outcome.")]
    elif len(description) > policy.short_description_max:
        problems["description"] = [
            _("The short description may have at most %(max)s characters; it has %(n)s.")
            % {"max": policy.short_description_max, "n": len(description)}
        ]
    return problems


# --- writes --------------------------------------------------------------------------------


def outcome_upload(
    *,
    student: Student,
    enrolment: CourseEnrolment,
    title: str,
    description: str,
    document: UploadedFile | None,
    media: UploadedFile | None,
    save_as_draft: bool = False,
    by: "ActingContext | None",
    now: dt.datetime | None = None,
    book: WindowBook | None = None,
) -> CourseOutcome:
    """A student's course outcome for a credited course taken that term, with its file(s).

    The window and the policy come from the database, or from ``book`` (the school's
    calendar as this request found it, and the student's extensions) when the caller has
    one for the same student and moment."""
    if book is not None and book.student.pk != student.pk:
        raise ValueError("a window book of another student")
    now = book.now if book is not None else (now or timezone.now())
    _check_enrolment(student, enrolment)
    term = enrolment.course.term
    _window_for(enrolment, student, now, book).raise_if_closed()
    policy = book.policy(term.school_year) if book is not None else policy_for(term)
    cap = policy.outcome_upload_cap_per_term
    # A first look without a lock, so a student at the cap hears it before anything else;
    # the count that decides is taken again below with the student's row locked.
    if problem := _cap_problem(student, term, cap):
        raise ValidationError({NON_FIELD_ERRORS: [problem]})

    title = _clean_text(title)
    description = _clean_text(description)
    problems = _text_problems(title, description, policy)
    if document is None and media is None:
        problems["document"] = [_("Attach a document or a media file (or both).")]

    checked = check_files(policy=policy, document=document, media=media, problems=problems)
    stored_paths: list[str] = []
    try:
        if problems:
            raise ValidationError(problems)
        store_all(student.school, checked, stored_paths)
        with transaction.atomic():
            Student.objects.select_for_update().get(pk=student.pk)
            if problem := _cap_problem(student, term, cap):
                raise ValidationError({NON_FIELD_ERRORS: [problem]})
            rows = {field: stored_file_row(student, item) for field, item in checked.items()}
            outcome = CourseOutcome.objects.create(
                school=student.school,
                student=student,
                enrolment=enrolment,
                title=title,
                description=description,
                document=rows.get("document"),
                media=rows.get("media"),
                state=OutcomeState.DRAFT if save_as_draft else OutcomeState.SUBMITTED,
            )
            audit_write(
                school=student.school,
                by=by,
                action="outcome.upload",
                target=outcome,
                changes={
                    "student": student.pk,
                    "enrolment": enrolment.pk,
                    "title": title,
                    "state": outcome.state,
                    "files": file_audit(checked),
                },
            )
    except BaseException:
        delete_paths(stored_paths)
        raise
    finally:
        close_all(checked)
    return outcome


def outcome_change_refusal(outcome: CourseOutcome, window: UploadWindow | None) -> str | None:
    """Why the student may not change, withdraw or send ``outcome`` now, or None if they may.

    The one rule, for the services that refuse and the pages that explain: an outcome not
    yet certified nor withdrawn, while the outcome-upload window of its term is open for the
    student (``window``; None when the term has no such window).
    """
    if outcome.state == OutcomeState.WITHDRAWN:
        return _("Withdrawn: it is kept here for your record and counts for nothing.")
    if outcome.state not in OUTCOME_EDITABLE_STATES:
        return _(
            "Certified by your teacher: it can no longer be changed, and you may select it "
            "for the central database."
        )
    if window is None:
        return _(
            "The outcome-upload window for this term is over: this outcome can no longer "
            "be changed, withdrawn or sent for certification."
        )
    return None if window.is_open else window.closed_message()


def _raise_unless_editable(outcome: CourseOutcome, now: dt.datetime) -> None:
    window = _window_for(outcome.enrolment, outcome.student, now)
    refusal = outcome_change_refusal(outcome, window)
    if refusal:
        raise ValidationError({NON_FIELD_ERRORS: [refusal]})


@transaction.atomic
def outcome_withdraw(
    *, outcome: CourseOutcome, by: "ActingContext | None", now: dt.datetime | None = None
) -> CourseOutcome:
    """Withdraw an outcome not yet certified, within the window; it stops using the cap."""
    now = now or timezone.now()
    outcome = CourseOutcome.objects.select_for_update().get(pk=outcome.pk)
    _raise_unless_editable(outcome, now)
    before = outcome.state
    outcome.state = OutcomeState.WITHDRAWN
    outcome.save(update_fields=["state", "updated_at"])
    audit_write(
        school=outcome.school,
        by=by,
        action="outcome.withdraw",
        target=outcome,
        changes={"state": [before, outcome.state]},
    )
    return outcome


def outcome_replace_file(
    *,
    outcome: CourseOutcome,
    document: UploadedFile | None = None,
    media: UploadedFile | None = None,
    by: "ActingContext | None",
    now: dt.datetime | None = None,
) -> CourseOutcome:
    """Replace the document and/or the media file of an outcome not yet certified.

    A rejected outcome goes back to awaiting certification. The replaced files and their
    rows are deleted once the change is committed.
    """
    now = now or timezone.now()
    _raise_unless_editable(outcome, now)
    school = outcome.school
    with (
        _new_files(
            outcome, document=document, media=media, choose=_("Choose the new file.")
        ) as checked,
        transaction.atomic(),
    ):
        outcome = CourseOutcome.objects.select_for_update().get(pk=outcome.pk)
        _raise_unless_editable(outcome, now)  # it may have changed meanwhile
        old, update_fields = _put_files(outcome, checked)
        before = outcome.state
        if outcome.state == OutcomeState.REJECTED:
            outcome.state = OutcomeState.SUBMITTED
            update_fields.append("state")
        outcome.save(update_fields=update_fields)
        audit_write(
            school=school,
            by=by,
            action="outcome.replace_file",
            target=outcome,
            changes={
                "files": file_audit(checked),
                "replaced": [f.display_name for f in old],
                **({"state": [before, outcome.state]} if before != outcome.state else {}),
            },
        )
        delete_stored_after_commit(old)
    return outcome


@contextlib.contextmanager
def _new_files(
    outcome: CourseOutcome,
    *,
    document: UploadedFile | None,
    media: UploadedFile | None,
    choose: str,
) -> Iterator[dict[str, CheckedFile]]:
    """The chosen files checked against the term's policy and stored, for the rows the body
    writes; stored files removed again if the body fails, and every file closed after."""
    problems: dict[str, list[str]] = {}
    if document is None and media is None:
        problems["document"] = [choose]
    policy = policy_for(outcome.enrolment.course.term)
    checked = check_files(policy=policy, document=document, media=media, problems=problems)
    stored_paths: list[str] = []
    try:
        if problems:
            raise ValidationError(problems)
        store_all(outcome.school, checked, stored_paths)
        yield checked
    except BaseException:
        delete_paths(stored_paths)
        raise
    finally:
        close_all(checked)


def _put_files(
    outcome: CourseOutcome, checked: dict[str, CheckedFile]
) -> tuple[list[StoredFile], list[str]]:
    """Point the (locked) outcome at rows for the stored ``checked`` files: the rows they
    replace, and the fields to save."""
    old: list[StoredFile] = []
    update_fields = ["updated_at"]
    for field, item in checked.items():
        previous = getattr(outcome, field)
        if previous is not None:
            old.append(previous)
        setattr(outcome, field, stored_file_row(outcome.student, item))
        update_fields.append(field)
    return old, update_fields


def outcome_restore_file(
    *,
    outcome: CourseOutcome,
    document: UploadedFile | None = None,
    media: UploadedFile | None = None,
    by: "ActingContext | None",
) -> CourseOutcome:
    """Upload again a file of a certified outcome that storage lost or altered (the nightly
    check marked it), at any time. A file byte for byte the one the decision was made on (its
    sha256) keeps the certification without the teacher acting again; any other file sends
    the outcome back to awaiting certification."""
    nothing_lost = ValidationError(
        {NON_FIELD_ERRORS: [_("No file of this outcome needs to be uploaded again.")]}
    )
    if not outcome.needs_file_again:
        raise nothing_lost
    choose = _("Choose the file to upload again.")
    school = outcome.school
    with (
        _new_files(outcome, document=document, media=media, choose=choose) as checked,
        transaction.atomic(),
    ):
        outcome = (
            CourseOutcome.objects.select_for_update(of=("self",))
            .select_related("document", "media")
            .get(pk=outcome.pk)
        )
        if not outcome.needs_file_again:  # restored meanwhile
            raise nothing_lost
        old, update_fields = _put_files(outcome, checked)
        same = all(
            outcome.decided_files.get(field) == item.sha256 for field, item in checked.items()
        )
        before = outcome.state
        if not same:
            outcome.state = OutcomeState.SUBMITTED
            outcome.certified_by = None
            outcome.certified_at = None
            update_fields += ["state", "certified_by", "certified_at"]
        outcome.save(update_fields=update_fields)
        audit_write(
            school=school,
            by=by,
            action="outcome.restore_file",
            target=outcome,
            changes={
                "files": file_audit(checked),
                "certification_kept": same,
                **({"state": [before, outcome.state]} if before != outcome.state else {}),
            },
        )
        delete_stored_after_commit(old)
    return outcome


def outcome_edit(
    *,
    outcome: CourseOutcome,
    title: str,
    description: str,
    enrolment: CourseEnrolment | None = None,
    by: "ActingContext | None",
    now: dt.datetime | None = None,
) -> CourseOutcome:
    """Change the title, the short description or the course of an outcome not yet certified.

    The state stays as it is: a rejected outcome goes back to its teacher only when the
    student sends it again (`outcome_submit`) or replaces its file. Moving it to a course of
    another term needs that term's window open and a free place under that term's cap.
    """
    now = now or timezone.now()
    with transaction.atomic():
        # The student's row first, as outcome_upload locks it: the cap is counted under it.
        Student.objects.select_for_update().get(pk=outcome.student_id)
        outcome = (
            CourseOutcome.objects.select_for_update(of=("self",))
            .select_related("student__school_class", "enrolment__course__term__school_year")
            .get(pk=outcome.pk)
        )
        _raise_unless_editable(outcome, now)
        student = outcome.student
        target = enrolment or outcome.enrolment
        if target.pk != outcome.enrolment_id:
            _check_enrolment(student, target)
            term = target.course.term
            if term.pk != outcome.enrolment.course.term_id:
                _window_for(target, student, now).raise_if_closed()
                cap = policy_for(term).outcome_upload_cap_per_term
                if problem := _cap_problem(student, term, cap):
                    raise ValidationError({"enrolment": [problem]})
        title = _clean_text(title)
        description = _clean_text(description)
        if problems := _text_problems(title, description, policy_for(target.course.term)):
            raise ValidationError(problems)
        changes = {
            name: [old, new]
            for name, old, new in (
                ("title", outcome.title, title),
                ("description", outcome.description, description),
                ("enrolment", outcome.enrolment_id, target.pk),
            )
            if old != new
        }
        if not changes:
            return outcome
        outcome.title, outcome.description, outcome.enrolment = title, description, target
        outcome.save(update_fields=["title", "description", "enrolment", "updated_at"])
        audit_write(
            school=outcome.school, by=by, action="outcome.edit", target=outcome, changes=changes
        )
    return outcome


# States from which the student sends an outcome (again) to the course's teacher.
SENDABLE_STATES = (OutcomeState.DRAFT, OutcomeState.REJECTED)


@transaction.atomic
def outcome_submit(
    *, outcome: CourseOutcome, by: "ActingContext | None", now: dt.datetime | None = None
) -> CourseOutcome:
    """Send a draft, or a rejected outcome the student has put right, for certification.

    A draft already holds its place under the cap, so only the window is checked.
    """
    now = now or timezone.now()
    outcome = (
        CourseOutcome.objects.select_for_update(of=("self",))
        .select_related("student__school_class", "enrolment__course__term")
        .get(pk=outcome.pk)
    )
    if outcome.state not in SENDABLE_STATES:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _(
                        "Only a draft or a rejected outcome can be sent for certification; "
                        "this one is %(state)s."
                    )
                    % {"state": outcome.get_state_display().lower()}
                ]
            }
        )
    _window_for(outcome.enrolment, outcome.student, now).raise_if_closed()
    before = outcome.state
    outcome.state = OutcomeState.SUBMITTED
    outcome.save(update_fields=["state", "updated_at"])
    audit_write(
        school=outcome.school,
        by=by,
        action="outcome.submit",
        target=outcome,
        changes={"state": [before, outcome.state]},
    )
    return outcome


# --- reads for the student's pages -------------------------------------------------------


def policies_for_years(school: School, years: Iterable[SchoolYear]) -> dict[int, SchoolPolicy]:
    """Each year's policy in one query (the national defaults for a year without one)."""
    by_pk = {y.pk: y for y in years}
    found = {p.school_year_id: p for p in SchoolPolicy.objects.filter(school_year_id__in=by_pk)}
    return {
        pk: found.get(pk) or SchoolPolicy(school=school, school_year=y) for pk, y in by_pk.items()
    }


def credited_enrolments(student: Student) -> list[CourseEnrolment]:
    """The student's credited courses, newest term first: what outcomes can belong to."""
    return list(
        CourseEnrolment.objects.filter(
            student=student, school_id=student.school_id, course__credits__gt=0
        )
        .select_related("course__term__school_year")
        .order_by("-course__term__school_year__roc_year", "-course__term__number", "course__name")
    )


def live_term_ids(
    student: Student,
    kind: str,
    term_ids: Iterable[int],
    now: dt.datetime,
    book: WindowBook | None = None,
) -> set[int]:
    """Those of ``term_ids`` with a window of ``kind`` not yet over, or an extension of the
    student's not yet over: the terms whose window is worth looking up (two queries, or
    from ``book``)."""
    if book is not None:
        return book.live_term_ids(kind, term_ids)
    term_ids = list(term_ids)
    windows = Window.objects.filter(term_id__in=term_ids, kind=kind, ends_at__gt=now)
    extensions = WindowExtension.objects.filter(
        student=student, term_id__in=term_ids, kind=kind, ends_at__gt=now
    )
    return set(windows.values_list("term_id", flat=True)) | set(
        extensions.values_list("term_id", flat=True)
    )


@dataclass
class TermSlot:
    """A term whose outcome-upload window is open now or still to come, for one student."""

    term: Term
    window: UploadWindow
    policy: SchoolPolicy
    used: int
    enrolments: list[CourseEnrolment]

    @property
    def cap(self) -> int:
        return self.policy.outcome_upload_cap_per_term

    @property
    def is_open(self) -> bool:
        return self.window.is_open

    @property
    def at_cap(self) -> bool:
        return self.used >= self.cap


def outcome_slots(
    student: Student,
    *,
    now: dt.datetime,
    enrolments: list[CourseEnrolment] | None = None,
    policies: dict[int, SchoolPolicy] | None = None,
    book: WindowBook | None = None,
) -> list[TermSlot]:
    """The terms of the student's credited courses whose window is open or to come, oldest
    first, each with its window, policy and places used; a fixed number of queries per such
    term (usually one or two terms), none per course or outcome."""
    if enrolments is None:
        enrolments = credited_enrolments(student)
    by_term: dict[int, list[CourseEnrolment]] = {}
    terms: dict[int, Term] = {}
    for enrolment in enrolments:
        term = enrolment.course.term
        terms[term.pk] = term
        by_term.setdefault(term.pk, []).append(enrolment)
    live = [terms[pk] for pk in live_term_ids(student, WindowKind.OUTCOME_UPLOAD, terms, now, book)]
    if not live:
        return []
    live.sort(key=lambda t: (t.school_year.roc_year, t.number))
    if policies is None and book is not None:
        policies = {t.school_year_id: book.policy(t.school_year) for t in live}
    elif policies is None:
        policies = policies_for_years(student.school, {t.school_year for t in live})
    used = dict(
        CourseOutcome.objects.filter(student=student, enrolment__course__term__in=live)
        .exclude(state=OutcomeState.WITHDRAWN)
        .values_list("enrolment__course__term")
        .annotate(n=Count("id"))
    )
    return [
        TermSlot(
            term=term,
            window=_window_for(by_term[term.pk][0], student, now, book),
            policy=policies[term.school_year_id],
            used=used.get(term.pk, 0),
            enrolments=by_term[term.pk],
        )
        for term in live
    ]


def no_window(kind: str, now: dt.datetime) -> UploadWindow:
    """The window state of a student with no term to upload for: closed, none scheduled."""
    return UploadWindow(kind=kind, now=now, open_window=None, next_window=None)


def next_closed_window(slots: list[TermSlot], now: dt.datetime) -> UploadWindow:
    """What to tell a student for whom no window is open: the soonest one to come."""
    upcoming = [
        (s.window.next_window.starts_at, index, s.window)
        for index, s in enumerate(slots)
        if s.window.next_window is not None
    ]
    if not upcoming:
        return no_window(WindowKind.OUTCOME_UPLOAD, now)
    return min(upcoming)[2]


@dataclass
class UploadOptions:
    """What the upload page offers a student now: the open terms, their courses and caps."""

    slots: list[TermSlot]
    now: dt.datetime

    @property
    def open_slots(self) -> list[TermSlot]:
        return [slot for slot in self.slots if slot.is_open]

    @property
    def enrolments(self) -> list[CourseEnrolment]:
        return [e for slot in self.open_slots for e in slot.enrolments]

    @property
    def is_open(self) -> bool:
        return bool(self.open_slots)

    @property
    def is_full(self) -> bool:
        """Every open term's cap is used up: nothing can be added until one is withdrawn."""
        return self.is_open and all(slot.at_cap for slot in self.open_slots)

    @property
    def can_upload(self) -> bool:
        return self.is_open and not self.is_full

    @property
    def policy(self) -> SchoolPolicy | None:
        """The policy the form states (the oldest open term's; the server checks each term's)."""
        return self.open_slots[0].policy if self.open_slots else None

    @property
    def max_upload_bytes(self) -> int:
        """The most any file field of an open term may take: where the upload is cut off."""
        policies = [slot.policy for slot in self.open_slots] or [SchoolPolicy()]
        return max(mb_to_bytes(max(p.document_max_mb, p.media_max_mb)) for p in policies)

    def closed_window(self) -> UploadWindow:
        return next_closed_window(self.slots, self.now)

    def slot_for(self, term_id: int) -> TermSlot | None:
        return next((slot for slot in self.slots if slot.term.pk == term_id), None)


def upload_options(
    student: Student,
    *,
    now: dt.datetime,
    enrolments: list[CourseEnrolment] | None = None,
    book: WindowBook | None = None,
) -> UploadOptions:
    slots = outcome_slots(student, now=now, enrolments=enrolments, book=book)
    return UploadOptions(slots=slots, now=now)
