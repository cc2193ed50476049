"""Writes to course outcomes (課程學習成果): upload, withdraw, replace a file.

A file and the row that points to it are written together: the checked file is stored
first, then the rows are created in one transaction; if anything fails after a file was
stored, the file is deleted again, so a failure leaves neither a file nor a row. Files that
a replacement makes unused are deleted only once the new rows are committed.
"""

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from portfolio.audit import audit_write
from portfolio.models import School, SchoolPolicy, Term, Window, WindowKind
from records.models import CourseEnrolment, Student
from submissions.files import CheckedFile, FileRefused, check_upload, mb_to_bytes
from submissions.models import (
    OUTCOME_EDITABLE_STATES,
    CourseOutcome,
    OutcomeState,
    StoredFile,
)

if TYPE_CHECKING:
    from accounts.acting import ActingContext

log = logging.getLogger(__name__)

TITLE_MAX = 100


# --- reads the checks need -----------------------------------------------------------------


def policy_for(term: Term) -> SchoolPolicy:
    """The school's policy for the term's school year (the national defaults if none)."""
    policy = SchoolPolicy.objects.filter(school_year_id=term.school_year_id).first()
    return policy or SchoolPolicy(school=term.school, school_year=term.school_year)


def student_grade(student: Student, term: Term, fallback: int | None = None) -> int | None:
    """The student's grade in ``term``: their class's grade when the class is of that year."""
    klass = student.school_class
    if klass is not None and klass.school_year_id == term.school_year_id:
        return klass.grade
    return fallback


@dataclass
class UploadWindow:
    now: dt.datetime
    open_window: Window | None
    next_window: Window | None

    @property
    def is_open(self) -> bool:
        return self.open_window is not None

    def closed_message(self) -> str:
        if self.next_window is None:
            return _(
                "Course outcomes can be uploaded or changed only during the outcome-upload "
                "window for this term, and none is open or scheduled. The school publishes "
                "its schedule."
            )
        return _(
            "Course outcomes can be uploaded or changed only during the outcome-upload "
            "window. The next one opens on %(start)s and closes on %(end)s."
        ) % {
            "start": date_format(timezone.localtime(self.next_window.starts_at), "Y-m-d H:i"),
            "end": date_format(timezone.localtime(self.next_window.ends_at), "Y-m-d H:i"),
        }


def outcome_upload_window(
    *, school: School, term: Term, grade: int | None, now: dt.datetime
) -> UploadWindow:
    """The open outcome-upload window of ``term`` for ``grade`` at ``now``, and the next one."""
    windows = (
        Window.objects.for_school(school)
        .filter(term=term, kind=WindowKind.OUTCOME_UPLOAD)
        .for_grade(grade)
    )
    return UploadWindow(
        now=now,
        open_window=windows.open_at(now).order_by("-ends_at").first(),
        next_window=windows.upcoming_at(now).order_by("starts_at").first(),
    )


def _window_for(enrolment: CourseEnrolment, student: Student, now: dt.datetime) -> UploadWindow:
    course = enrolment.course
    return outcome_upload_window(
        school=student.school,
        term=course.term,
        grade=student_grade(student, course.term, fallback=course.grade),
        now=now,
    )


def _raise_if_closed(window: UploadWindow) -> None:
    if not window.is_open:
        raise ValidationError({NON_FIELD_ERRORS: [window.closed_message()]})


def _cap_problem(student: Student, term: Term, cap: int) -> str | None:
    used = CourseOutcome.objects.counting_toward_cap(student, term).count()
    if used < cap:
        return None
    return _(
        "You have used all your course-outcome uploads for this term (%(used)s of %(cap)s "
        "used). Withdraw one you do not need to upload another."
    ) % {"used": used, "cap": cap}


# --- files ---------------------------------------------------------------------------------


def _check_files(
    *,
    policy: SchoolPolicy,
    document: UploadedFile | None,
    media: UploadedFile | None,
    problems: dict[str, list[str]],
) -> dict[str, CheckedFile]:
    """Check the given files; refusals go into ``problems`` under the file's field."""
    checked: dict[str, CheckedFile] = {}
    limits = {
        "document": (policy.document_types, policy.document_max_mb),
        "media": (policy.media_types, policy.media_max_mb),
    }
    for field, upload in (("document", document), ("media", media)):
        if upload is None:
            continue
        types, max_mb = limits[field]
        try:
            checked[field] = check_upload(
                upload,
                original_name=upload.name or "",
                kind=field,  # type: ignore[arg-type]
                allowed_types=types,
                max_bytes=mb_to_bytes(max_mb),
            )
        except FileRefused as refused:
            problems[field] = [refused.message()]
    return checked


def _store(school: School, checked: CheckedFile) -> str:
    """Save the checked bytes; returns the storage path actually used."""
    path = StoredFile.path_for(school, checked.storage_key)
    saved = default_storage.save(path, checked.django_file())
    if saved != path:  # never expected: keys are random; keep the row and file in step
        default_storage.delete(saved)
        raise RuntimeError(f"storage saved {path!r} as {saved!r}")
    return saved


def _delete_paths(paths: list[str]) -> None:
    for path in paths:
        try:
            default_storage.delete(path)
        except Exception:  # cleanup must not hide the original error
            log.exception("could not delete stored file %s", path)


def _stored_file_row(school: School, checked: CheckedFile) -> StoredFile:
    return StoredFile.objects.create(
        school=school,
        storage_key=checked.storage_key,
        display_name=checked.display_name,
        extension=checked.extension,
        mime=checked.mime,
        size=checked.size,
        sha256=checked.sha256,
    )


def _close_all(checked: dict[str, CheckedFile]) -> None:
    for item in checked.values():
        with contextlib.suppress(Exception):
            item.close()


def _file_audit(checked: dict[str, CheckedFile]) -> dict[str, dict[str, object]]:
    return {
        field: {"name": item.display_name, "size": item.size, "sha256": item.sha256}
        for field, item in checked.items()
    }


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
    _raise_if_closed(_window_for(enrolment, student, now))
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

    checked = _check_files(policy=policy, document=document, media=media, problems=problems)
    stored_paths: list[str] = []
    try:
        if problems:
            raise ValidationError(problems)
        for item in checked.values():
            stored_paths.append(_store(student.school, item))
        with transaction.atomic():
            Student.objects.select_for_update().get(pk=student.pk)
            if problem := _cap_problem(student, term, cap):
                raise ValidationError({NON_FIELD_ERRORS: [problem]})
            rows = {
                field: _stored_file_row(student.school, item) for field, item in checked.items()
            }
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
                    "files": _file_audit(checked),
                },
            )
    except BaseException:
        _delete_paths(stored_paths)
        raise
    finally:
        _close_all(checked)
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
    _raise_if_closed(_window_for(outcome.enrolment, outcome.student, now))


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
    checked = _check_files(policy=policy, document=document, media=media, problems=problems)
    stored_paths: list[str] = []
    school = outcome.school
    try:
        if problems:
            raise ValidationError(problems)
        for item in checked.values():
            stored_paths.append(_store(school, item))
        with transaction.atomic():
            outcome = CourseOutcome.objects.select_for_update().get(pk=outcome.pk)
            _raise_unless_editable(outcome, now)  # it may have changed meanwhile
            old: list[StoredFile] = []
            update_fields = ["updated_at"]
            for field, item in checked.items():
                previous = getattr(outcome, field)
                if previous is not None:
                    old.append(previous)
                setattr(outcome, field, _stored_file_row(school, item))
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
                    "files": _file_audit(checked),
                    "replaced": [f.display_name for f in old],
                    **({"state": [before, outcome.state]} if before != outcome.state else {}),
                },
            )
            old_ids = [f.pk for f in old]
            old_paths = [f.storage_path for f in old]
            transaction.on_commit(lambda: _delete_stored(old_ids, old_paths))
    except BaseException:
        _delete_paths(stored_paths)
        raise
    finally:
        _close_all(checked)
    return outcome


def _delete_stored(ids: list[int], paths: list[str]) -> None:
    """After commit: the rows first (nothing points to them any more), then the files."""
    StoredFile.objects.filter(pk__in=ids).delete()
    _delete_paths(paths)
