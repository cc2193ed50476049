"""Writes to diverse performances (多元表現): the student's own, and those the offices enter.

A student adds, changes and withdraws their own items only while the performance-upload
window of the school year is open for them (or their extension runs), and at most the
school's yearly cap of them (``SchoolPolicy.performance_upload_cap_per_year``), counted
with the student's row locked so that two uploads at once cannot both take the last
place. Items an office enters for a student (source school or outside) need no window
and use up no place; the student sees them but cannot change them.

Files follow ``submissions.services.stored_files``: checked, stored, then the rows written
in one transaction, the stored files deleted again if anything fails; files that a change
makes unused are deleted once it is committed.
"""

import dataclasses
import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role
from portfolio.audit import audit_write
from portfolio.models import School, SchoolPolicy, SchoolYear, WindowKind
from records.models import Student
from submissions import performance_categories as categories
from submissions.files import CheckedFile
from submissions.models import (
    PERFORMANCE_EDITABLE_STATES,
    STAFF_SOURCES,
    Performance,
    PerformanceSource,
    PerformanceState,
    StoredFile,
)
from submissions.services.rosters import frozen_refusal
from submissions.services.stored_files import (
    check_files,
    close_all,
    delete_paths,
    delete_stored_after_commit,
    file_audit,
    store_all,
    stored_file_row,
)
from submissions.services.windows import UploadWindow, policy_for_year, student_grade, upload_window

if TYPE_CHECKING:
    from accounts.acting import ActingContext

NAME_MAX = 100
VIDEO_URL_MAX = 500
VIDEO_SCHEMES = ("http", "https")
# Offices that enter performances they held or that an outside body reported: student
# affairs above all, also registry, counselling and curriculum for their own activities.
ENTRY_ROLES = frozenset({Role.STUDENT_AFFAIRS, Role.REGISTRY, Role.COUNSELLOR, Role.CURRICULUM})


# --- reads the checks and pages need -----------------------------------------------------------


def current_school_year(school: School, now: dt.datetime | None = None) -> SchoolYear | None:
    """The school year that ``now`` falls in (Taiwan time)."""
    return school.year_for(timezone.localdate(now or timezone.now()))


def performance_window(
    student: Student, *, school_year: SchoolYear | None, now: dt.datetime
) -> UploadWindow:
    """The performance-upload window of the year's terms for the student's grade, or their
    extension; closed when the school has no such year."""
    terms = list(school_year.terms.order_by("number")) if school_year is not None else []
    grade = student_grade(student, terms[0]) if terms else None
    return upload_window(
        kind=WindowKind.PERFORMANCE_UPLOAD, student=student, terms=terms, grade=grade, now=now
    )


def _policy(school: School, school_year: SchoolYear | None) -> SchoolPolicy:
    if school_year is None:
        return SchoolPolicy(school=school)
    return policy_for_year(school, school_year)


@dataclasses.dataclass
class YearStatus:
    """Where a student stands this school year: the window and the places used."""

    school_year: SchoolYear | None
    window: UploadWindow
    policy: SchoolPolicy
    used: int

    @property
    def cap(self) -> int:
        return self.policy.performance_upload_cap_per_year

    @property
    def left(self) -> int:
        return max(0, self.cap - self.used)

    @property
    def may_add(self) -> bool:
        return self.window.is_open and self.left > 0


def performance_status(student: Student, *, now: dt.datetime | None = None) -> YearStatus:
    now = now or timezone.now()
    year = current_school_year(student.school, now)
    used = (
        Performance.objects.counting_toward_cap(student, year.pk).count() if year is not None else 0
    )
    return YearStatus(
        school_year=year,
        window=performance_window(student, school_year=year, now=now),
        policy=_policy(student.school, year),
        used=used,
    )


def _cap_problem(student: Student, school_year: SchoolYear, cap: int) -> str | None:
    used = Performance.objects.counting_toward_cap(student, school_year.pk).count()
    if used < cap:
        return None
    return _(
        "You have used all your diverse-performance uploads for this school year (%(used)s "
        "of %(cap)s used). Withdraw one you do not need to add another; items the school "
        "entered for you do not count."
    ) % {"used": used, "cap": cap}


# --- checks of what was typed ----------------------------------------------------------------


def video_url_problem(url: str) -> str | None:
    """Why a video link is refused, or None: only plain web links (http, https) are kept,
    never ``javascript:``, ``data:``, ``file:`` or ``ftp:`` ones, which a page would run or
    open as something else."""
    if not url:
        return None
    if len(url) > VIDEO_URL_MAX:
        return _("A link may have at most %(max)s characters; this has %(n)s.") % {
            "max": VIDEO_URL_MAX,
            "n": len(url),
        }
    scheme = urlsplit(url).scheme.lower()
    if scheme not in VIDEO_SCHEMES:
        return _(
            "Only web links starting with https:// or http:// are accepted (for example "
            "https://www.youtube.com/watch?v=...); this link starts with “%(start)s”."
        ) % {"start": f"{scheme}:" if scheme else url[:12]}
    try:
        URLValidator(schemes=list(VIDEO_SCHEMES))(url)
    except ValidationError:
        return _(
            "This is not a complete web link. Copy the address from the video site's share "
            "button, such as https://youtu.be/..."
        )
    return None


def _check_dates(
    category: categories.Category,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    today: dt.date,
    problems: dict[str, list[str]],
) -> tuple[dt.date | None, dt.date | None]:
    """The dates the category keeps: a period, one day, or none."""
    if category.dates == categories.NO_DATES:
        return None, None
    if category.dates == categories.SINGLE:
        ends_on = None
    if starts_on is None:
        problems["starts_on"] = [_("Give the date.")]
        return None, ends_on
    if starts_on > today:
        problems["starts_on"] = [
            _("The date cannot be in the future (today is %(today)s).")
            % {"today": today.isoformat()}
        ]
    if ends_on is not None and ends_on < starts_on:
        problems["ends_on"] = [_("The end cannot be before the start.")]
    return starts_on, ends_on


def _checked_fields(
    *,
    category: str,
    name: str,
    description: str,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    details: dict[str, Any] | None,
    video_url: str,
    policy: SchoolPolicy,
    now: dt.datetime,
    problems: dict[str, list[str]],
) -> dict[str, Any]:
    """The shared fields and the category's details as they are kept; what is wrong goes
    into ``problems`` under the field's name."""
    spec = categories.CATEGORIES.get(category)
    if spec is None:
        problems["category"] = [_("Choose one of the ten categories.")]
        return {}
    name = (name or "").strip()
    description = (description or "").strip()
    video_url = (video_url or "").strip()
    if not name:
        problems["name"] = [_("Fill this in: %(what)s.") % {"what": spec.name_label}]
    elif len(name) > NAME_MAX:
        problems["name"] = [
            _("At most %(max)s characters; this has %(n)s.") % {"max": NAME_MAX, "n": len(name)}
        ]
    if not description:
        problems["description"] = [_("Write a short description of what you did.")]
    elif len(description) > policy.short_description_max:
        problems["description"] = [
            _("The short description may have at most %(max)s characters; it has %(n)s.")
            % {"max": policy.short_description_max, "n": len(description)}
        ]
    starts_on, ends_on = _check_dates(spec, starts_on, ends_on, timezone.localdate(now), problems)
    kept_details, detail_problems = categories.clean_details(category, details)
    problems.update(detail_problems)
    if problem := video_url_problem(video_url):
        problems["video_url"] = [problem]
    return {
        "category": category,
        "name": name,
        "description": description,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "details": kept_details,
        "video_url": video_url,
    }


def performance_problems(
    *,
    category: str,
    name: str,
    description: str,
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    details: dict[str, Any] | None,
    video_url: str,
    policy: SchoolPolicy,
    now: dt.datetime | None = None,
) -> dict[str, list[str]]:
    """What the services would refuse in these fields, writing nothing: a page whose form
    already has an error (an unknown student, say) lists these too, so that one round
    shows every problem."""
    problems: dict[str, list[str]] = {}
    _checked_fields(
        category=category,
        name=name,
        description=description,
        starts_on=starts_on,
        ends_on=ends_on,
        details=details,
        video_url=video_url,
        policy=policy,
        now=now or timezone.now(),
        problems=problems,
    )
    return problems


# --- the shared write --------------------------------------------------------------------------


def _create(
    *,
    student: Student,
    school_year: SchoolYear,
    fields: dict[str, Any],
    checked: dict[str, CheckedFile],
    source: str,
    state: str,
    by: "ActingContext | None",
    action: str,
    cap: int | None,
) -> Performance:
    """Store the files, then the rows in one transaction (the cap counted with the student
    locked when ``cap`` is given); on any failure the stored files are deleted again."""
    stored_paths: list[str] = []
    try:
        store_all(student.school, checked, stored_paths)
        with transaction.atomic():
            if cap is not None:
                Student.objects.select_for_update().get(pk=student.pk)
                if problem := _cap_problem(student, school_year, cap):
                    raise ValidationError({NON_FIELD_ERRORS: [problem]})
            rows = {field: stored_file_row(student, item) for field, item in checked.items()}
            performance = Performance.objects.create(
                school=student.school,
                student=student,
                school_year=school_year,
                source=source,
                state=state,
                entered_by=by.user if by else None,
                entered_by_office=by.role if by and source != PerformanceSource.STUDENT else "",
                document=rows.get("document"),
                media=rows.get("media"),
                **fields,
            )
            audit_write(
                school=student.school,
                by=by,
                action=action,
                target=performance,
                changes={
                    "student": student.pk,
                    "school_year": school_year.roc_year,
                    "category": performance.category,
                    "name": performance.name,
                    "source": source,
                    "state": state,
                    "files": file_audit(checked),
                },
            )
    except BaseException:
        delete_paths(stored_paths)
        raise
    finally:
        close_all(checked)
    return performance


def _audit_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _update(
    *,
    performance: Performance,
    fields: dict[str, Any],
    checked: dict[str, CheckedFile],
    remove: tuple[str, ...],
    state: str | None,
    by: "ActingContext | None",
    action: str,
    still_allowed: Callable[[Performance], None],
) -> Performance:
    """Write changed fields and files; the replaced or removed files go after commit."""
    stored_paths: list[str] = []
    try:
        store_all(performance.school, checked, stored_paths)
        with transaction.atomic():
            performance = Performance.objects.select_for_update().get(pk=performance.pk)
            still_allowed(performance)  # it may have changed since the page was loaded
            changes = {
                name: [_audit_value(getattr(performance, name)), _audit_value(value)]
                for name, value in fields.items()
                if getattr(performance, name) != value
            }
            for name, value in fields.items():
                setattr(performance, name, value)
            old: list[StoredFile] = []
            for field in ("document", "media"):
                previous = getattr(performance, field)
                if field in checked:
                    setattr(
                        performance, field, stored_file_row(performance.student, checked[field])
                    )
                elif field in remove:
                    setattr(performance, field, None)
                else:
                    continue
                if previous is not None:
                    old.append(previous)
            if state is not None and state != performance.state:
                changes["state"] = [performance.state, state]
                performance.state = state
            performance.save()
            audit_write(
                school=performance.school,
                by=by,
                action=action,
                target=performance,
                changes={
                    **changes,
                    **({"files": file_audit(checked)} if checked else {}),
                    **({"removed": [f.display_name for f in old]} if old else {}),
                },
            )
            delete_stored_after_commit(old)
    except BaseException:
        delete_paths(stored_paths)
        raise
    finally:
        close_all(checked)
    return performance


def _files(
    policy: SchoolPolicy,
    document: UploadedFile | None,
    media: UploadedFile | None,
    problems: dict[str, list[str]],
) -> dict[str, CheckedFile]:
    checked = check_files(policy=policy, document=document, media=media, problems=problems)
    if problems:
        close_all(checked)
        raise ValidationError(problems)
    return checked


# --- the student -------------------------------------------------------------------------------


def performance_add(
    *,
    student: Student,
    category: str,
    name: str,
    description: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    details: dict[str, Any] | None = None,
    document: UploadedFile | None = None,
    media: UploadedFile | None = None,
    video_url: str = "",
    save_as_draft: bool = False,
    school_year: SchoolYear | None = None,
    by: "ActingContext | None",
    now: dt.datetime | None = None,
) -> Performance:
    """A student's own performance of the school year whose window is open for them.

    Saved at once (a draft only when asked); it uses one of the year's places until it
    is withdrawn.
    """
    now = now or timezone.now()
    year = school_year or current_school_year(student.school, now)
    if year is not None and year.school_id != student.school_id:
        raise ValueError("the school year belongs to another school")
    window = performance_window(student, school_year=year, now=now)
    window.raise_if_closed()
    if year is None:  # no school year has a window open: refused above
        raise ValidationError({NON_FIELD_ERRORS: [window.closed_message()]})
    policy = _policy(student.school, year)
    cap = policy.performance_upload_cap_per_year
    # A first look without a lock, so a student at the cap hears it before anything else;
    # the count that decides is taken again with the student's row locked.
    if problem := _cap_problem(student, year, cap):
        raise ValidationError({NON_FIELD_ERRORS: [problem]})
    problems: dict[str, list[str]] = {}
    fields = _checked_fields(
        category=category,
        name=name,
        description=description,
        starts_on=starts_on,
        ends_on=ends_on,
        details=details,
        video_url=video_url,
        policy=policy,
        now=now,
        problems=problems,
    )
    checked = _files(policy, document, media, problems)
    return _create(
        student=student,
        school_year=year,
        fields=fields,
        checked=checked,
        source=PerformanceSource.STUDENT,
        state=PerformanceState.DRAFT if save_as_draft else PerformanceState.SAVED,
        by=by,
        action="performance.add",
        cap=cap,
    )


def _raise_unless_student_may_change(performance: Performance, now: dt.datetime) -> None:
    """The student's own item, not withdrawn, within the window of its school year."""
    if performance.source != PerformanceSource.STUDENT:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _(
                        "The school entered this item for you, so only the office that "
                        "entered it can change it. Ask them if something is wrong."
                    )
                ]
            }
        )
    if performance.state not in PERFORMANCE_EDITABLE_STATES:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("This item is %(state)s and can no longer be changed.")
                    % {"state": performance.get_state_display().lower()}
                ]
            }
        )
    frozen = frozen_refusal(performance)
    if frozen:
        raise ValidationError({NON_FIELD_ERRORS: [frozen]})
    performance_window(
        performance.student, school_year=performance.school_year, now=now
    ).raise_if_closed()


def student_may_change(performance: Performance, *, now: dt.datetime | None = None) -> str | None:
    """Why the student cannot change the item now, or None (for pages)."""
    try:
        _raise_unless_student_may_change(performance, now or timezone.now())
    except ValidationError as exc:
        return " ".join(exc.messages)
    return None


def performance_edit(
    *,
    performance: Performance,
    name: str,
    description: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    details: dict[str, Any] | None = None,
    video_url: str = "",
    document: UploadedFile | None = None,
    media: UploadedFile | None = None,
    remove_document: bool = False,
    remove_media: bool = False,
    send: bool = False,
    by: "ActingContext | None",
    now: dt.datetime | None = None,
) -> Performance:
    """Change the student's own item (its category stays); a new file replaces the old one.

    ``send`` turns a draft into a saved item.
    """
    now = now or timezone.now()
    _raise_unless_student_may_change(performance, now)
    policy = _policy(performance.school, performance.school_year)
    problems: dict[str, list[str]] = {}
    fields = _checked_fields(
        category=performance.category,
        name=name,
        description=description,
        starts_on=starts_on,
        ends_on=ends_on,
        details=details,
        video_url=video_url,
        policy=policy,
        now=now,
        problems=problems,
    )
    checked = _files(policy, document, media, problems)
    return _update(
        performance=performance,
        fields=fields,
        checked=checked,
        remove=_removed(remove_document, remove_media),
        state=PerformanceState.SAVED if send else None,
        by=by,
        action="performance.edit",
        still_allowed=lambda locked: _raise_unless_student_may_change(locked, now),
    )


def _removed(remove_document: bool, remove_media: bool) -> tuple[str, ...]:
    return tuple(
        field
        for field, wanted in (("document", remove_document), ("media", remove_media))
        if wanted
    )


@transaction.atomic
def performance_withdraw(
    *, performance: Performance, by: "ActingContext | None", now: dt.datetime | None = None
) -> Performance:
    """Withdraw the student's own item within the window; it frees its place."""
    now = now or timezone.now()
    performance = Performance.objects.select_for_update().get(pk=performance.pk)
    _raise_unless_student_may_change(performance, now)
    before = performance.state
    performance.state = PerformanceState.WITHDRAWN
    performance.save(update_fields=["state", "updated_at"])
    audit_write(
        school=performance.school,
        by=by,
        action="performance.withdraw",
        target=performance,
        changes={"state": [before, performance.state]},
    )
    return performance


# --- the offices -------------------------------------------------------------------------------


def _raise_unless_office(by: "ActingContext", school_id: int) -> None:
    if by is None or by.role not in ENTRY_ROLES or by.school.pk != school_id:
        raise PermissionDenied("only an office of the student's school enters performances")


def _raise_unless_own_office(performance: Performance, by: "ActingContext") -> None:
    """An office changes only what it entered (items with no office: any office)."""
    if performance.entered_by_office not in ("", by.role):
        raise PermissionDenied("another office entered this performance")


def _raise_unless_school_entered(performance: Performance) -> None:
    if performance.source not in STAFF_SOURCES:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: [
                    _("The student added this item; only they can change or withdraw it.")
                ]
            }
        )


def _source_problem(source: str, problems: dict[str, list[str]]) -> None:
    if source not in STAFF_SOURCES:
        problems["source"] = [_("Choose who the item comes from: the school or an outside body.")]


def performance_enter(
    *,
    student: Student,
    category: str,
    name: str,
    description: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    details: dict[str, Any] | None = None,
    document: UploadedFile | None = None,
    media: UploadedFile | None = None,
    video_url: str = "",
    source: str = PerformanceSource.SCHOOL,
    school_year: SchoolYear | None = None,
    by: "ActingContext",
    now: dt.datetime | None = None,
) -> Performance:
    """An office enters a performance for a student: a school-held activity or one an
    outside body reported. No window, no cap; saved at once."""
    now = now or timezone.now()
    _raise_unless_office(by, student.school_id)
    year = school_year or current_school_year(student.school, now)
    problems: dict[str, list[str]] = {}
    if year is None or year.school_id != student.school_id:
        problems["school_year"] = [_("Choose one of the school's years.")]
        year = None
    _source_problem(source, problems)
    policy = _policy(student.school, year)
    fields = _checked_fields(
        category=category,
        name=name,
        description=description,
        starts_on=starts_on,
        ends_on=ends_on,
        details=details,
        video_url=video_url,
        policy=policy,
        now=now,
        problems=problems,
    )
    checked = _files(policy, document, media, problems)
    assert year is not None, "a missing school year is one of the problems _files raised"
    return _create(
        student=student,
        school_year=year,
        fields=fields,
        checked=checked,
        source=source,
        state=PerformanceState.SAVED,
        by=by,
        action="performance.enter",
        cap=None,
    )


def performance_staff_edit(
    *,
    performance: Performance,
    name: str,
    description: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    details: dict[str, Any] | None = None,
    video_url: str = "",
    source: str | None = None,
    document: UploadedFile | None = None,
    media: UploadedFile | None = None,
    remove_document: bool = False,
    remove_media: bool = False,
    by: "ActingContext",
    now: dt.datetime | None = None,
) -> Performance:
    """An office changes an item the school entered (never a student's own)."""
    now = now or timezone.now()
    _raise_unless_office(by, performance.school_id)
    _raise_unless_own_office(performance, by)
    _raise_unless_school_entered(performance)
    problems: dict[str, list[str]] = {}
    source = source or performance.source
    _source_problem(source, problems)
    policy = _policy(performance.school, performance.school_year)
    fields = _checked_fields(
        category=performance.category,
        name=name,
        description=description,
        starts_on=starts_on,
        ends_on=ends_on,
        details=details,
        video_url=video_url,
        policy=policy,
        now=now,
        problems=problems,
    )
    checked = _files(policy, document, media, problems)
    return _update(
        performance=performance,
        fields={**fields, "source": source},
        checked=checked,
        remove=_removed(remove_document, remove_media),
        state=None,
        by=by,
        action="performance.staff_edit",
        still_allowed=_raise_unless_school_entered,
    )


@transaction.atomic
def performance_staff_delete(*, performance: Performance, by: "ActingContext") -> None:
    """Remove an item the school entered, with its files (after commit)."""
    _raise_unless_office(by, performance.school_id)
    performance = (
        Performance.objects.select_for_update(of=("self",))
        .select_related("document", "media", "school", "school_year")
        .get(pk=performance.pk)
    )
    _raise_unless_own_office(performance, by)
    _raise_unless_school_entered(performance)
    files = [f for f in (performance.document, performance.media) if f is not None]
    audit_write(
        school=performance.school,
        by=by,
        action="performance.staff_delete",
        target=performance,
        changes={
            "student": performance.student_id,
            "school_year": performance.school_year.roc_year,
            "category": performance.category,
            "name": performance.name,
            "files": [f.display_name for f in files],
        },
    )
    performance.delete()
    delete_stored_after_commit(files)
