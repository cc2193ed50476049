"""Writes to course outcomes (課程學習成果): upload, withdraw, replace a file.

A file and the row that points to it are written together: the checked file is stored
first, then the rows are created in one transaction; if anything fails after a file was
stored, the file is deleted again, so a failure leaves neither a file nor a row. Files that
a replacement makes unused are deleted only once the new rows are committed.
"""

import datetime as dt
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portfolio.audit import audit_write
from portfolio.models import Term, WindowKind
from records.models import CourseEnrolment, Student
from submissions.models import OUTCOME_EDITABLE_STATES, CourseOutcome, OutcomeState, StoredFile
from submissions.services.stored_files import (
    check_files,
    close_all,
    delete_paths,
    delete_stored_after_commit,
    file_audit,
    store_all,
    stored_file_row,
)
from submissions.services.windows import UploadWindow, policy_for, student_grade, upload_window

if TYPE_CHECKING:
    from accounts.acting import ActingContext

TITLE_MAX = 100


# --- reads the checks need -----------------------------------------------------------------


def _window_for(enrolment: CourseEnrolment, student: Student, now: dt.datetime) -> UploadWindow:
    course = enrolment.course
    return upload_window(
        kind=WindowKind.OUTCOME_UPLOAD,
        student=student,
        terms=course.term,
        grade=student_grade(student, course.term, fallback=course.grade),
        now=now,
    )


def _cap_problem(student: Student, term: Term, cap: int) -> str | None:
    used = CourseOutcome.objects.counting_toward_cap(student, term).count()
    if used < cap:
        return None
    return _(
        "You have used all your course-outcome uploads for this term (%(used)s of %(cap)s "
        "used). Withdraw one you do not need to upload another."
    ) % {"used": used, "cap": cap}


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
) -> CourseOutcome:
    """A student's course outcome for a credited course taken that term, with its file(s)."""
    now = now or timezone.now()
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
    term = course.term
    _window_for(enrolment, student, now).raise_if_closed()
    policy = policy_for(term)
    cap = policy.outcome_upload_cap_per_term
    # A first look without a lock, so a student at the cap hears it before anything else;
    # the count that decides is taken again below with the student's row locked.
    if problem := _cap_problem(student, term, cap):
        raise ValidationError({NON_FIELD_ERRORS: [problem]})

    problems: dict[str, list[str]] = {}
    title = (title or "").strip()
    description = (description or "").strip()
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


def _raise_unless_editable(outcome: CourseOutcome, now: dt.datetime) -> None:
    if outcome.state not in OUTCOME_EDITABLE_STATES:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("This outcome is %(state)s and can no longer be changed.")
                    % {"state": outcome.get_state_display().lower()}
                ]
            }
        )
    _window_for(outcome.enrolment, outcome.student, now).raise_if_closed()


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
    problems: dict[str, list[str]] = {}
    if document is None and media is None:
        problems["document"] = [_("Choose the new file.")]
    policy = policy_for(outcome.enrolment.course.term)
    checked = check_files(policy=policy, document=document, media=media, problems=problems)
    stored_paths: list[str] = []
    school = outcome.school
    try:
        if problems:
            raise ValidationError(problems)
        store_all(school, checked, stored_paths)
        with transaction.atomic():
            outcome = CourseOutcome.objects.select_for_update().get(pk=outcome.pk)
            _raise_unless_editable(outcome, now)  # it may have changed meanwhile
            old: list[StoredFile] = []
            update_fields = ["updated_at"]
            for field, item in checked.items():
                previous = getattr(outcome, field)
                if previous is not None:
                    old.append(previous)
                setattr(outcome, field, stored_file_row(outcome.student, item))
                update_fields.append(field)
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
    except BaseException:
        delete_paths(stored_paths)
        raise
    finally:
        close_all(checked)
    return outcome
