"""Writes to the records the offices keep: cadre posts, clubs, attendance (student affairs),
consultations (course consultants), career exploration (counselling), enrolment changes
(registry), and the consultants of a class.

Every function is keyword-only, runs in one transaction, checks what it is given (the
views scope objects too; these checks hold for imports and commands as well) and writes
one audit row per change. Problems come back as ``ValidationError({field: [messages]})``.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, Role
from portfolio.audit import audit_write, update_audited
from portfolio.lib import roc
from portfolio.models import School, SchoolYear, Term
from portfolio.problems import add_problem, raise_if
from records.models import (
    AbsenceKind,
    AttendanceSummary,
    CadreLevel,
    CadrePost,
    CareerExploration,
    Club,
    ClubMembership,
    Cluster,
    Consultation,
    EnrolmentChange,
    EnrolmentChangeKind,
    SchoolClass,
    Student,
    StudentStatus,
)

if TYPE_CHECKING:
    from accounts.acting import ActingContext
    from accounts.models import User

# Periods of one kind of absence in one term: a term has about 20 weeks of 35 periods.
ATTENDANCE_MAX_PERIODS = 999
# An enrolment change dated further ahead than this is almost surely a typing slip.
CHANGE_MAX_DAYS_AHEAD = 366


def _text(value: str) -> str:
    return (value or "").strip()


def _require_same_school(school: School, **objects: Any) -> None:
    """Objects handed in by a caller must belong to ``school``: never write across schools."""
    problems: dict[str, list[str]] = {}
    for field, obj in objects.items():
        if obj is not None and obj.school_id != school.pk:
            add_problem(problems, field, _("This belongs to another school."))
    raise_if(problems)


def _required_text(problems: dict[str, list[str]], field: str, value: str, limit: int) -> str:
    value = _text(value)
    if not value:
        add_problem(problems, field, _("This field is required."))
    elif len(value) > limit:
        add_problem(
            problems,
            field,
            _("At most %(limit)s characters (this has %(count)s).")
            % {"limit": limit, "count": len(value)},
        )
    return value


def _stringified(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: (v.pk if hasattr(v, "pk") else v if isinstance(v, int | list) else str(v))
        for k, v in data.items()
    }


# --- Cadre posts (幹部經歷) -------------------------------------------------------------


def _cadre_data(
    *,
    school: School,
    student: Student,
    term: Term,
    unit: str,
    title: str,
    level: str,
    starts_on: dt.date,
    ends_on: dt.date,
) -> dict[str, Any]:
    _require_same_school(school, student=student, term=term)
    problems: dict[str, list[str]] = {}
    unit = _required_text(problems, "unit", unit, 100)
    title = _required_text(problems, "title", title, 100)
    if level not in CadreLevel.values:
        add_problem(problems, "level", _("Choose a level from the list."))
    if starts_on > ends_on:
        add_problem(problems, "ends_on", _("The post cannot end before it starts."))
    year_first, year_last = roc.school_year_bounds(term.school_year.roc_year)
    for field, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if not year_first <= day <= year_last:
            add_problem(
                problems,
                field,
                _("Give a date in school year %(year)s (%(first)s to %(last)s).")
                % {"year": term.school_year.roc_year, "first": year_first, "last": year_last},
            )
    if starts_on <= ends_on and (ends_on < term.starts_on or starts_on > term.ends_on):
        add_problem(
            problems,
            "starts_on",
            _("The post must be held during term %(term)s (%(first)s to %(last)s).")
            % {"term": term.label, "first": term.starts_on, "last": term.ends_on},
        )
    raise_if(problems)
    return {
        "student": student,
        "term": term,
        "unit": unit,
        "title": title,
        "level": level,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }


@transaction.atomic
def cadre_post_create(
    *,
    school: School,
    student: Student,
    term: Term,
    unit: str,
    title: str,
    level: str,
    starts_on: dt.date,
    ends_on: dt.date,
    by: "ActingContext | None",
) -> CadrePost:
    data = _cadre_data(
        school=school,
        student=student,
        term=term,
        unit=unit,
        title=title,
        level=level,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    post = CadrePost.objects.create(school=school, **data)
    audit_write(
        school=school, by=by, action="cadre_post.create", target=post, changes=_stringified(data)
    )
    return post


@transaction.atomic
def cadre_post_update(
    *,
    post: CadrePost,
    student: Student,
    term: Term,
    unit: str,
    title: str,
    level: str,
    starts_on: dt.date,
    ends_on: dt.date,
    by: "ActingContext | None",
) -> CadrePost:
    data = _cadre_data(
        school=post.school,
        student=student,
        term=term,
        unit=unit,
        title=title,
        level=level,
        starts_on=starts_on,
        ends_on=ends_on,
    )
    update_audited(post, data, school=post.school, by=by, action="cadre_post.update")
    return post


@transaction.atomic
def cadre_post_delete(*, post: CadrePost, by: "ActingContext | None") -> None:
    audit_write(
        school=post.school,
        by=by,
        action="cadre_post.delete",
        target=post,
        changes={"student": post.student_id, "term": post.term_id, "title": post.title},
    )
    post.delete()


# --- Clubs and their members ---------------------------------------------------------------


def _club_name(problems: dict[str, list[str]], *, school_year: SchoolYear, name: str, exclude=None):
    name = _required_text(problems, "name", name, 100)
    if name:
        clash = Club.objects.filter(school_year=school_year, name=name)
        if exclude is not None:
            clash = clash.exclude(pk=exclude.pk)
        if clash.exists():
            add_problem(
                problems,
                "name",
                _("School year %(year)s already has a club named %(name)s.")
                % {"year": school_year.roc_year, "name": name},
            )
    return name


@transaction.atomic
def club_create(
    *, school: School, school_year: SchoolYear, name: str, by: "ActingContext | None"
) -> Club:
    _require_same_school(school, school_year=school_year)
    problems: dict[str, list[str]] = {}
    name = _club_name(problems, school_year=school_year, name=name)
    raise_if(problems)
    club = Club.objects.create(school=school, school_year=school_year, name=name)
    audit_write(
        school=school,
        by=by,
        action="club.create",
        target=club,
        changes={"school_year": school_year.roc_year, "name": name},
    )
    return club


@transaction.atomic
def club_update(*, club: Club, name: str, by: "ActingContext | None") -> Club:
    problems: dict[str, list[str]] = {}
    name = _club_name(problems, school_year=club.school_year, name=name, exclude=club)
    raise_if(problems)
    update_audited(club, {"name": name}, school=club.school, by=by, action="club.update")
    return club


@transaction.atomic
def club_delete(*, club: Club, by: "ActingContext | None") -> int:
    """Remove a club with its memberships; returns how many memberships went with it."""
    members = club.memberships.count()
    audit_write(
        school=club.school,
        by=by,
        action="club.delete",
        target=club,
        changes={"name": club.name, "memberships": members},
    )
    club.delete()
    return members


@transaction.atomic
def club_member_add(
    *, club: Club, student: Student, term: Term, by: "ActingContext | None"
) -> ClubMembership:
    _require_same_school(club.school, student=student, term=term)
    problems: dict[str, list[str]] = {}
    if term.school_year_id != club.school_year_id:
        add_problem(problems, "term", _("Choose a term of the club's school year."))
    elif ClubMembership.objects.filter(club=club, student=student, term=term).exists():
        add_problem(
            problems,
            "student",
            _("%(student)s is already a member in term %(term)s.")
            % {"student": student, "term": term.label},
        )
    raise_if(problems)
    membership = ClubMembership.objects.create(
        school=club.school, club=club, student=student, term=term
    )
    audit_write(
        school=club.school,
        by=by,
        action="club_membership.create",
        target=membership,
        changes={"club": club.pk, "student": student.pk, "term": term.pk},
    )
    return membership


@transaction.atomic
def club_member_remove(*, membership: ClubMembership, by: "ActingContext | None") -> None:
    audit_write(
        school=membership.school,
        by=by,
        action="club_membership.delete",
        target=membership,
        changes={
            "club": membership.club_id,
            "student": membership.student_id,
            "term": membership.term_id,
        },
    )
    membership.delete()


@transaction.atomic
def club_members_copy(
    *, club: Club, from_term: Term, to_term: Term, by: "ActingContext | None"
) -> int:
    """Carry the members of one term into another (most stay for the year); returns how
    many were added. Students already members in ``to_term`` are left as they are."""
    if from_term.pk == to_term.pk or {from_term.school_year_id, to_term.school_year_id} != {
        club.school_year_id
    }:
        raise ValidationError({"term": [_("Choose two different terms of the club's year.")]})
    present = set(
        ClubMembership.objects.filter(club=club, term=to_term).values_list("student_id", flat=True)
    )
    wanted = [
        student_id
        for student_id in ClubMembership.objects.filter(club=club, term=from_term).values_list(
            "student_id", flat=True
        )
        if student_id not in present
    ]
    ClubMembership.objects.bulk_create(
        ClubMembership(school=club.school, club=club, student_id=student_id, term=to_term)
        for student_id in wanted
    )
    if wanted:
        audit_write(
            school=club.school,
            by=by,
            action="club_membership.copy",
            target=club,
            changes={"from_term": from_term.pk, "to_term": to_term.pk, "added": len(wanted)},
        )
    return len(wanted)


# --- Attendance (缺勤) ----------------------------------------------------------------------


@transaction.atomic
def attendance_set(
    *,
    school: School,
    student: Student,
    term: Term,
    periods: Mapping[str, int | None],
    by: "ActingContext | None",
) -> dict[str, int]:
    """Set a student's whole term at once: periods per absence kind; 0 or None clears a
    kind. Returns the kinds now recorded. Nothing is written when nothing changed."""
    _require_same_school(school, student=student, term=term)
    problems: dict[str, list[str]] = {}
    wanted: dict[str, int] = {}
    for kind, value in periods.items():
        if kind not in AbsenceKind.values:
            raise ValueError(f"not an absence kind: {kind!r}")
        value = value or 0
        if not 0 <= value <= ATTENDANCE_MAX_PERIODS:
            add_problem(
                problems,
                kind,
                _("Give a number of periods from 0 to %(max)s.") % {"max": ATTENDANCE_MAX_PERIODS},
            )
        elif value:
            wanted[kind] = value
    raise_if(problems)
    rows = {row.kind: row for row in AttendanceSummary.objects.filter(student=student, term=term)}
    changes: dict[str, list[int]] = {}
    for kind in periods:
        old = rows[kind].periods if kind in rows else 0
        new = wanted.get(kind, 0)
        if old == new:
            continue
        changes[kind] = [old, new]
        if not new:
            rows.pop(kind).delete()
        elif kind in rows:
            rows[kind].periods = new
            rows[kind].save(update_fields=["periods"])
        else:
            rows[kind] = AttendanceSummary.objects.create(
                school=school, student=student, term=term, kind=kind, periods=new
            )
    if changes:
        audit_write(
            school=school,
            by=by,
            action="attendance.set",
            target=student,
            changes={"term": term.pk, "periods": changes},
        )
    return {kind: row.periods for kind, row in sorted(rows.items())}


# --- Consultants of a class, and their consultation records (諮詢紀錄) ------------------------


@transaction.atomic
def school_class_consultant_add(
    *, school_class: SchoolClass, user: "User", by: "ActingContext | None"
) -> bool:
    """Make ``user`` a course consultant of the class; False when they already were."""
    if not Membership.objects.filter(
        school=school_class.school, user=user, role=Role.CONSULTANT, is_active=True
    ).exists():
        raise ValidationError(
            {"user": [_("Only a course consultant of this school can consult a class.")]}
        )
    if school_class.consultants.filter(pk=user.pk).exists():
        return False
    school_class.consultants.add(user)
    audit_write(
        school=school_class.school,
        by=by,
        action="class.consultant_add",
        target=school_class,
        changes={"consultant": user.pk},
    )
    return True


@transaction.atomic
def school_class_consultant_remove(
    *, school_class: SchoolClass, user: "User", by: "ActingContext | None"
) -> bool:
    if not school_class.consultants.filter(pk=user.pk).exists():
        return False
    school_class.consultants.remove(user)
    audit_write(
        school=school_class.school,
        by=by,
        action="class.consultant_remove",
        target=school_class,
        changes={"consultant": user.pk},
    )
    return True


def _consultation_data(
    *,
    school: School,
    student: Student,
    consultant: "User",
    held_at: dt.datetime,
    place: str,
    content: str,
    advice: str,
) -> dict[str, Any]:
    _require_same_school(school, student=student)
    if timezone.is_naive(held_at):
        raise ValueError("held_at must be an aware datetime")
    problems: dict[str, list[str]] = {}
    counselled = (
        student.school_class_id is not None
        and SchoolClass.objects.filter(
            pk=student.school_class_id, school=school, consultants=consultant
        ).exists()
    )
    if not counselled:
        add_problem(problems, "student", _("This student is not in a class you counsel."))
    if held_at > timezone.now():
        add_problem(problems, "held_at", _("Record a consultation after it has taken place."))
    place = _required_text(problems, "place", place, 100)
    content = _required_text(problems, "content", content, 5000)
    advice = _text(advice)
    if len(advice) > 5000:
        add_problem(problems, "advice", _("At most %(limit)s characters.") % {"limit": 5000})
    raise_if(problems)
    return {
        "student": student,
        "held_at": held_at,
        "place": place,
        "content": content,
        "advice": advice,
    }


@transaction.atomic
def consultation_create(
    *,
    school: School,
    student: Student,
    consultant: "User",
    held_at: dt.datetime,
    place: str,
    content: str,
    advice: str = "",
    by: "ActingContext | None",
) -> Consultation:
    """A consultant's record; ``consultant`` is the teacher who consulted (the principal
    when a deputy writes it), who must consult the student's class."""
    data = _consultation_data(
        school=school,
        student=student,
        consultant=consultant,
        held_at=held_at,
        place=place,
        content=content,
        advice=advice,
    )
    record = Consultation.objects.create(school=school, consultant=consultant, **data)
    audit_write(
        school=school,
        by=by,
        action="consultation.create",
        target=record,
        changes={"student": student.pk, "held_at": held_at.isoformat()},
    )
    return record


@transaction.atomic
def consultation_update(
    *,
    record: Consultation,
    student: Student,
    held_at: dt.datetime,
    place: str,
    content: str,
    advice: str = "",
    by: "ActingContext | None",
) -> Consultation:
    data = _consultation_data(
        school=record.school,
        student=student,
        consultant=record.consultant,
        held_at=held_at,
        place=place,
        content=content,
        advice=advice,
    )
    # The texts are personal: the audit notes that they changed, not what they say.
    update_audited(
        record,
        data,
        school=record.school,
        by=by,
        action="consultation.update",
        redact=("content", "advice"),
    )
    return record


@transaction.atomic
def consultation_delete(*, record: Consultation, by: "ActingContext | None") -> None:
    audit_write(
        school=record.school,
        by=by,
        action="consultation.delete",
        target=record,
        changes={"student": record.student_id, "held_at": record.held_at.isoformat()},
    )
    record.delete()


# --- Career exploration (學群探索與生涯規劃) ---------------------------------------------------


def _career_data(
    *,
    school: School,
    student: Student,
    held_on: dt.date,
    clusters: Iterable[str],
    content: str,
) -> dict[str, Any]:
    _require_same_school(school, student=student)
    problems: dict[str, list[str]] = {}
    chosen = sorted(set(clusters))
    if not chosen:
        add_problem(problems, "clusters", _("Choose at least one academic cluster."))
    elif any(code not in Cluster.values for code in chosen):
        add_problem(problems, "clusters", _("Choose clusters from the list."))
    if held_on > timezone.localdate():
        add_problem(problems, "held_on", _("Record the exploration after it has taken place."))
    content = _required_text(problems, "content", content, 5000)
    raise_if(problems)
    return {"student": student, "held_on": held_on, "clusters": chosen, "content": content}


@transaction.atomic
def career_record_create(
    *,
    school: School,
    student: Student,
    counsellor: "User",
    held_on: dt.date,
    clusters: Iterable[str],
    content: str,
    by: "ActingContext | None",
) -> CareerExploration:
    data = _career_data(
        school=school, student=student, held_on=held_on, clusters=clusters, content=content
    )
    record = CareerExploration.objects.create(school=school, counsellor=counsellor, **data)
    audit_write(
        school=school,
        by=by,
        action="career_record.create",
        target=record,
        changes={"student": student.pk, "held_on": str(held_on), "clusters": data["clusters"]},
    )
    return record


@transaction.atomic
def career_record_update(
    *,
    record: CareerExploration,
    student: Student,
    held_on: dt.date,
    clusters: Iterable[str],
    content: str,
    by: "ActingContext | None",
) -> CareerExploration:
    data = _career_data(
        school=record.school, student=student, held_on=held_on, clusters=clusters, content=content
    )
    update_audited(
        record,
        data,
        school=record.school,
        by=by,
        action="career_record.update",
        redact=("content",),
    )
    return record


@transaction.atomic
def career_record_delete(*, record: CareerExploration, by: "ActingContext | None") -> None:
    audit_write(
        school=record.school,
        by=by,
        action="career_record.delete",
        target=record,
        changes={"student": record.student_id, "held_on": str(record.held_on)},
    )
    record.delete()


# --- Enrolment changes (學籍異動) and the status that follows them ----------------------------

K = EnrolmentChangeKind
S = StudentStatus
# The status a student has after each kind of change.
STATUS_AFTER: dict[str, str] = {
    K.TRANSFER_IN: S.ENROLLED,
    K.TRANSFER_OUT: S.TRANSFERRED_OUT,
    K.REPEAT: S.ENROLLED,
    K.SUSPEND: S.SUSPENDED,
    K.RESUME: S.ENROLLED,
    K.BORROWED: S.ENROLLED,
    K.GRADUATE: S.GRADUATED,
}
# The changes that may follow a status set by an earlier change. The first change recorded
# for a student may be of any kind: what came before it is not in this system.
ALLOWED_AFTER: dict[str, frozenset[str]] = {
    S.ENROLLED: frozenset({K.TRANSFER_OUT, K.REPEAT, K.SUSPEND, K.BORROWED, K.GRADUATE}),
    S.SUSPENDED: frozenset({K.RESUME, K.TRANSFER_OUT}),
    S.TRANSFERRED_OUT: frozenset({K.TRANSFER_IN}),
    S.GRADUATED: frozenset(),
}
_NEW = float("inf")  # an unsaved change sorts after saved ones of the same date


def status_after(changes: Iterable[EnrolmentChange]) -> str:
    """The status that follows from a student's changes: that of the latest one (by
    effective date, then by when it was recorded); enrolled when there is none."""
    latest = max(changes, key=lambda c: (c.effective_on, c.pk), default=None)
    return STATUS_AFTER[latest.kind] if latest is not None else S.ENROLLED


def _kind_label(kind: str) -> str:
    return str(EnrolmentChangeKind(kind).label)


def _sequence_problem(rows: list[tuple[dt.date, float, str]], check: set[float]) -> str | None:
    """Why a change whose key is in ``check`` cannot follow the one before it, if so."""
    rows = sorted(rows)
    for previous, current in zip(rows, rows[1:], strict=False):
        if current[1] in check and current[2] not in ALLOWED_AFTER[STATUS_AFTER[previous[2]]]:
            return _("%(kind)s on %(date)s cannot follow %(previous)s on %(previous_date)s.") % {
                "kind": _kind_label(current[2]),
                "date": current[0],
                "previous": _kind_label(previous[2]),
                "previous_date": previous[0],
            }
    return None


def _here_and_next(rows: list[tuple[dt.date, float, str]], at: tuple[dt.date, float]) -> set[float]:
    """The key at ``at`` and that of the change right after it: the two changes whose
    predecessor an insertion, a move or a removal at ``at`` alters."""
    after = [row for row in sorted(rows) if (row[0], row[1]) > at]
    return {at[1], after[0][1]} if after else {at[1]}


def _change_rows(student: Student, exclude_pk: int | None = None) -> list[tuple]:
    changes = EnrolmentChange.objects.filter(student=student)
    if exclude_pk is not None:
        changes = changes.exclude(pk=exclude_pk)
    return [
        (effective_on, float(pk), kind)
        for pk, effective_on, kind in changes.values_list("pk", "effective_on", "kind")
    ]


def _change_problems(kind: str, effective_on: dt.date) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if kind not in EnrolmentChangeKind.values:
        add_problem(problems, "kind", _("Choose a change from the list."))
    if effective_on > timezone.localdate() + dt.timedelta(days=CHANGE_MAX_DAYS_AHEAD):
        add_problem(problems, "effective_on", _("That is more than a year ahead; check the date."))
    return problems


def _status_follow(student: Student, by: "ActingContext | None") -> str:
    """Set ``student.status`` from their changes, auditing it when it moves."""
    student = Student.objects.select_for_update().get(pk=student.pk)
    status = status_after(EnrolmentChange.objects.filter(student=student))
    if status != student.status:
        audit_write(
            school=student.school,
            by=by,
            action="student.status",
            target=student,
            changes={"status": [student.status, status]},
        )
        Student.objects.filter(pk=student.pk).update(status=status)
    return status


@transaction.atomic
def enrolment_change_create(
    *,
    school: School,
    student: Student,
    kind: str,
    effective_on: dt.date,
    note: str = "",
    by: "ActingContext | None",
) -> EnrolmentChange:
    """Record a change; the student's status then follows their latest change."""
    _require_same_school(school, student=student)
    note = _text(note)
    problems = _change_problems(kind, effective_on)
    if len(note) > 200:
        add_problem(problems, "note", _("At most %(limit)s characters.") % {"limit": 200})
    raise_if(problems)
    rows = [*_change_rows(student), (effective_on, _NEW, kind)]
    problem = _sequence_problem(rows, _here_and_next(rows, (effective_on, _NEW)))
    if problem:
        raise ValidationError({"kind": [problem]})
    change = EnrolmentChange.objects.create(
        school=school, student=student, kind=kind, effective_on=effective_on, note=note
    )
    audit_write(
        school=school,
        by=by,
        action="enrolment_change.create",
        target=change,
        changes={"student": student.pk, "kind": kind, "effective_on": str(effective_on)},
    )
    student.status = _status_follow(student, by)
    return change


@transaction.atomic
def enrolment_change_update(
    *,
    change: EnrolmentChange,
    kind: str,
    effective_on: dt.date,
    note: str = "",
    by: "ActingContext | None",
) -> EnrolmentChange:
    note = _text(note)
    problems = _change_problems(kind, effective_on)
    if len(note) > 200:
        add_problem(problems, "note", _("At most %(limit)s characters.") % {"limit": 200})
    raise_if(problems)
    key = float(change.pk)
    rows = [*_change_rows(change.student, exclude_pk=change.pk), (effective_on, key, kind)]
    problem = _sequence_problem(rows, _here_and_next(rows, (effective_on, key)))
    if problem:
        raise ValidationError({"kind": [problem]})
    update_audited(
        change,
        {"kind": kind, "effective_on": effective_on, "note": note},
        school=change.school,
        by=by,
        action="enrolment_change.update",
    )
    change.student.status = _status_follow(change.student, by)
    return change


@transaction.atomic
def enrolment_change_delete(*, change: EnrolmentChange, by: "ActingContext | None") -> str:
    """Remove a change recorded in error; returns the student's status afterwards."""
    rows = _change_rows(change.student, exclude_pk=change.pk)
    # Removing it must not leave the change after it following one it cannot follow.
    problem = _sequence_problem(rows, _here_and_next(rows, (change.effective_on, float(change.pk))))
    if problem:
        raise ValidationError(
            _("Removing this change would leave: %(problem)s Edit or remove that one first.")
            % {"problem": problem}
        )
    audit_write(
        school=change.school,
        by=by,
        action="enrolment_change.delete",
        target=change,
        changes={
            "student": change.student_id,
            "kind": change.kind,
            "effective_on": str(change.effective_on),
        },
    )
    student = change.student
    change.delete()
    return _status_follow(student, by)
