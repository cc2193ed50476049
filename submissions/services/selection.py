"""The year's selection for the central database (勾選): what a student sends, within the caps.

A student selects, of one school year, certified course outcomes and the diverse performances
they entered themselves, at most the school's caps (``SchoolPolicy.outcome_selection_cap``
and ``performance_selection_cap``, never above the national 6 and 10), while the selection
window of the year is open for their grade, or while a registry extension of kind
"selection" runs for them. An item whose file is missing or failed its checksum (the nightly
sweep marks it) cannot be selected until the file is whole again.

Saving replaces the selection with what was ticked (audited with the ids before and after)
and asks for a new confirmation; confirming records that the student checked the preview.
When the window has closed for a student, ``selections_lock`` marks their selection final,
once, audited; an extension opens it again, and it locks again when the extension ends.

The caps are counted with the selection's row locked, so two saves at once cannot both pass.
"""

import dataclasses
import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from portfolio.audit import audit_write, audit_write_many
from portfolio.models import SchoolPolicy, SchoolYear, Term, Window, WindowKind
from portfolio.problems import Problems, add_problem, raise_if
from records.models import Student
from submissions.central import spec_for
from submissions.models import (
    CourseOutcome,
    ExtensionKind,
    OutcomeState,
    Performance,
    PerformanceSource,
    PerformanceState,
    Selection,
    StoredFile,
    WindowExtension,
)
from submissions.services.rosters import frozen_ids
from submissions.services.windows import (
    UploadWindow,
    policy_for_year,
    student_grade,
    upload_window,
)

if TYPE_CHECKING:
    from portfolio.actor import Actor

OUTCOMES, PERFORMANCES = "outcomes", "performances"
# How far back the lock task looks for selection windows that have closed: a year, so that a
# beat that was down for a while still locks what it missed.
LOCK_LOOKBACK = dt.timedelta(days=370)


# --- what may be selected --------------------------------------------------------------------


@dataclasses.dataclass
class Candidate:
    """An item the student may (or may not, and why) select."""

    item: CourseOutcome | Performance
    selected: bool = False
    reason: str = ""
    # Why it stays selected: it went to the central database in a roster not reopened.
    frozen: str = ""

    @property
    def selectable(self) -> bool:
        return not self.reason

    @property
    def pk(self) -> int:
        return self.item.pk


def _file_refusal(files: Iterable[StoredFile | None]) -> str:
    for stored in files:
        if stored is not None and stored.fault:
            return _(
                "Its file %(name)s is damaged or missing in storage (%(fault)s). Tell the "
                "registry; the item can be selected again once the file is whole."
            ) % {"name": stored.display_name, "fault": stored.get_fault_display()}
    return ""


def outcome_refusal(outcome: CourseOutcome) -> str:
    """Why ``outcome`` cannot be selected, or "" if it can."""
    if outcome.state == OutcomeState.REJECTED:
        return _("Rejected by the teacher: only certified outcomes can be selected.")
    if outcome.state != OutcomeState.CERTIFIED:
        return _("Not certified yet: only outcomes the teacher has certified can be selected.")
    if outcome.document is None and outcome.media is None:
        return _("It has no file: an outcome is sent with its file.")
    return _file_refusal((outcome.document, outcome.media))


def performance_refusal(performance: Performance) -> str:
    if performance.state == PerformanceState.DRAFT:
        return _("Still a draft: finish and upload it during the performance-upload window.")
    return _file_refusal((performance.document, performance.media))


def year_outcomes(student: Student, school_year: SchoolYear) -> list[CourseOutcome]:
    """The student's outcomes of courses of ``school_year`` (withdrawn ones left out)."""
    return list(
        CourseOutcome.objects.filter(
            student=student,
            school_id=student.school_id,
            enrolment__course__term__school_year=school_year,
        )
        .exclude(state=OutcomeState.WITHDRAWN)
        .select_related("enrolment__course__term__school_year", "document", "media")
        .order_by("enrolment__course__term__number", "enrolment__course__name", "pk")
    )


def year_performances(student: Student, school_year: SchoolYear) -> list[Performance]:
    """The performances the student entered themselves in ``school_year`` (not withdrawn)."""
    return list(
        Performance.objects.filter(
            student=student,
            school_id=student.school_id,
            school_year=school_year,
            source=PerformanceSource.STUDENT,
        )
        .exclude(state=PerformanceState.WITHDRAWN)
        .select_related("document", "media")
        .order_by("category", "starts_on", "pk")
    )


def selection_window(student: Student, school_year: SchoolYear, now: dt.datetime) -> UploadWindow:
    """The selection window of the year open for the student's grade (or their extension)."""
    terms = list(Term.objects.filter(school_year=school_year).order_by("number"))
    grade = student_grade(student, terms[0]) if terms else None
    return upload_window(
        kind=WindowKind.SELECTION, student=student, terms=terms, grade=grade, now=now
    )


# --- the page's reading ----------------------------------------------------------------------


@dataclasses.dataclass
class SelectionState:
    """Everything the selection page and the preview show, read in a fixed number of queries."""

    student: Student
    school_year: SchoolYear
    policy: SchoolPolicy
    window: UploadWindow
    selection: Selection | None
    outcomes: list[Candidate]
    performances: list[Candidate]

    @property
    def outcome_cap(self) -> int:
        return self.policy.outcome_selection_cap

    @property
    def performance_cap(self) -> int:
        return self.policy.performance_selection_cap

    @property
    def outcomes_selected(self) -> list[Candidate]:
        return [c for c in self.outcomes if c.selected]

    @property
    def performances_selected(self) -> list[Candidate]:
        return [c for c in self.performances if c.selected]

    @property
    def may_change(self) -> bool:
        return self.window.is_open

    @property
    def is_final(self) -> bool:
        """Locked, and no extension runs for the student."""
        return self.selection is not None and self.selection.is_locked and not self.may_change

    @property
    def is_saved(self) -> bool:
        return self.selection is not None and self.selection.saved_at is not None

    @property
    def is_confirmed(self) -> bool:
        return self.selection is not None and self.selection.is_confirmed


def selection_state(
    student: Student, school_year: SchoolYear, now: dt.datetime, *, items: bool = True
) -> SelectionState:
    """The student's selection of ``school_year`` at ``now``; without ``items``, only where it
    stands (window, saved, confirmed, final), as a list of years shows it."""
    selection = Selection.objects.filter(student=student, school_year=school_year).first()
    state = SelectionState(
        student=student,
        school_year=school_year,
        policy=policy_for_year(student.school, school_year),
        window=selection_window(student, school_year, now),
        selection=selection,
        outcomes=[],
        performances=[],
    )
    if not items:
        return state
    chosen_outcomes = set(selection.outcomes.values_list("pk", flat=True)) if selection else set()
    chosen_performances = (
        set(selection.performances.values_list("pk", flat=True)) if selection else set()
    )
    state.outcomes = [
        Candidate(o, o.pk in chosen_outcomes, outcome_refusal(o))
        for o in year_outcomes(student, school_year)
    ]
    state.performances = [
        Candidate(p, p.pk in chosen_performances, performance_refusal(p))
        for p in year_performances(student, school_year)
    ]
    _mark_frozen(state.outcomes, CourseOutcome)
    _mark_frozen(state.performances, Performance)
    return state


def _mark_frozen(
    candidates: list[Candidate], model: type[CourseOutcome] | type[Performance]
) -> None:
    """Selected items held by a submitted roster stay selected, and say why (one query)."""
    chosen = [c.pk for c in candidates if c.selected]
    frozen = frozen_ids(model, chosen) if chosen else set()
    for candidate in candidates:
        if candidate.pk in frozen:
            candidate.frozen = _(
                "Submitted to the central database: it stays selected until the registry "
                "reopens the roster."
            )


def years_to_select(student: Student) -> QuerySet[SchoolYear]:
    """The school years the student may have a selection of: those with a selection window
    or with a selection already, newest first."""
    with_window = Window.objects.filter(
        school_id=student.school_id, kind=WindowKind.SELECTION
    ).values("term__school_year")
    with_selection = Selection.objects.filter(student=student).values("school_year")
    return (
        SchoolYear.objects.filter(school_id=student.school_id)
        .filter(Q(pk__in=with_window) | Q(pk__in=with_selection))
        .order_by("-roc_year")
    )


# --- writes ----------------------------------------------------------------------------------


def _check_choice(
    problems: Problems, field: str, candidates: list[Candidate], ids: set[int], cap: int
) -> None:
    by_pk = {c.pk: c for c in candidates}
    if ids - by_pk.keys():
        add_problem(
            problems,
            field,
            _(
                "Some of the items sent are not yours to select in this school year. Reload the page."
            ),
        )
    chosen = [by_pk[pk] for pk in sorted(ids) if pk in by_pk]
    for candidate in chosen:
        if not candidate.selectable:
            add_problem(
                problems,
                field,
                _("%(item)s cannot be selected: %(reason)s")
                % {"item": _item_name(candidate.item), "reason": candidate.reason},
            )
    if len(chosen) > cap:
        message = (
            _("You ticked %(count)s course outcomes; the school allows at most %(cap)s a year.")
            if field == OUTCOMES
            else _("You ticked %(count)s performances; the school allows at most %(cap)s a year.")
        )
        add_problem(problems, field, message % {"count": len(chosen), "cap": cap})


def _check_frozen(
    problems: Problems,
    field: str,
    model: type[CourseOutcome] | type[Performance],
    dropped: set[int],
) -> None:
    """Items submitted to the central database stay selected until the roster is reopened."""
    if not dropped:
        return
    for item in model.objects.filter(pk__in=frozen_ids(model, sorted(dropped))):
        add_problem(
            problems,
            field,
            _(
                "%(item)s was submitted to the central database and stays selected until the "
                "registry reopens the roster."
            )
            % {"item": _item_name(item)},
        )


def _item_name(item: CourseOutcome | Performance) -> str:
    return item.title if isinstance(item, CourseOutcome) else item.name


def _locked_selection(student: Student, school_year: SchoolYear) -> Selection:
    Selection.objects.get_or_create(
        student=student, school_year=school_year, defaults={"school_id": student.school_id}
    )
    return Selection.objects.select_for_update().get(student=student, school_year=school_year)


def selection_save(
    *,
    student: Student,
    school_year: SchoolYear,
    outcome_ids: Iterable[int],
    performance_ids: Iterable[int],
    by: "Actor",
    now: dt.datetime,
) -> Selection:
    """Replace the student's selection of ``school_year`` with the ticked items.

    Refused (every problem at once) outside the window, for an item that is not the
    student's in that year or cannot be selected, or beyond a cap. A change asks for a new
    confirmation; saving the same selection again changes nothing.
    """
    outcome_ids, performance_ids = set(outcome_ids), set(performance_ids)
    with transaction.atomic():
        selection = _locked_selection(student, school_year)
        state = selection_state(student, school_year, now)
        state.window.raise_if_closed()
        problems: Problems = {}
        _check_choice(problems, OUTCOMES, state.outcomes, outcome_ids, state.outcome_cap)
        _check_choice(
            problems, PERFORMANCES, state.performances, performance_ids, state.performance_cap
        )
        before = {
            OUTCOMES: sorted(c.pk for c in state.outcomes_selected),
            PERFORMANCES: sorted(c.pk for c in state.performances_selected),
        }
        _check_frozen(problems, OUTCOMES, CourseOutcome, set(before[OUTCOMES]) - outcome_ids)
        _check_frozen(
            problems, PERFORMANCES, Performance, set(before[PERFORMANCES]) - performance_ids
        )
        raise_if(problems)
        after = {OUTCOMES: sorted(outcome_ids), PERFORMANCES: sorted(performance_ids)}
        if before == after and selection.saved_at is not None:
            return selection
        selection.outcomes.set(outcome_ids)
        selection.performances.set(performance_ids)
        selection.saved_at = now
        selection.confirmed_at = None
        selection.locked_at = None
        selection.save(update_fields=["saved_at", "confirmed_at", "locked_at"])
        audit_write(
            school=student.school,
            by=by,
            action="selection.save",
            target=selection,
            changes={key: [before[key], after[key]] for key in (OUTCOMES, PERFORMANCES)},
        )
    return selection


def selection_confirm(
    *, student: Student, school_year: SchoolYear, by: "Actor", now: dt.datetime
) -> Selection:
    """The student confirms the saved selection after seeing its preview."""
    with transaction.atomic():
        selection = _locked_selection(student, school_year)
        state = selection_state(student, school_year, now)
        state.window.raise_if_closed()
        if selection.saved_at is None:
            raise ValidationError(
                {NON_FIELD_ERRORS: [_("Save your selection first; then confirm it.")]}
            )
        problems: Problems = {}
        for _field, chosen in (
            (OUTCOMES, state.outcomes_selected),
            (PERFORMANCES, state.performances_selected),
        ):
            for candidate in chosen:
                if not candidate.selectable:
                    add_problem(
                        problems,
                        NON_FIELD_ERRORS,
                        _("%(item)s can no longer be sent: %(reason)s Change your selection.")
                        % {"item": _item_name(candidate.item), "reason": candidate.reason},
                    )
        raise_if(problems)
        if selection.confirmed_at is not None:
            return selection
        selection.confirmed_at = now
        selection.save(update_fields=["confirmed_at"])
        audit_write(
            school=student.school,
            by=by,
            action="selection.confirm",
            target=selection,
            changes={
                OUTCOMES: sorted(c.pk for c in state.outcomes_selected),
                PERFORMANCES: sorted(c.pk for c in state.performances_selected),
            },
        )
    return selection


# --- the lock when the window closes ---------------------------------------------------------


def _closed_for(windows: list[Window], grade: int | None, now: dt.datetime) -> bool:
    """Whether the year's selection is over for ``grade``: a window of it has closed and
    none is open or still to come (``grade`` None: for every grade); for grade 12 in
    batches, none is open now."""
    mine = [w for w in windows if grade is None or w.grade in (None, grade)]
    if grade == 12 and any(w.batch for w in mine):
        # Grade 12 selects in batches (梯次): what a batch selected is final once its window
        # has closed, though the next batch is still to come; the next opens it again.
        return any(w.ends_at <= now for w in mine) and not any(w.is_open_at(now) for w in mine)
    return any(w.ends_at <= now for w in mine) and not any(w.ends_at > now for w in mine)


def _students_to_lock(school_year: SchoolYear, windows: list[Window], now: dt.datetime):
    """Students of ``school_year`` whose selection window is over, without a lock, and without
    an extension in force."""
    grades = [g for g in (10, 11, 12) if _closed_for(windows, g, now)]
    in_class = Q(school_class__school_year=school_year, school_class__grade__in=grades)
    # Whoever has a selection of the year but is in no class of it now (a past year, a
    # student who left): locked when the year's every window is over.
    with_row = Q(selections__school_year=school_year) & ~Q(school_class__school_year=school_year)
    wanted = in_class | with_row if _closed_for(windows, None, now) else in_class
    extended = WindowExtension.objects.filter(
        kind=ExtensionKind.SELECTION,
        term__school_year=school_year,
        starts_at__lte=now,
        ends_at__gt=now,
    ).values("student")
    locked = Selection.objects.filter(school_year=school_year, locked_at__isnull=False).values(
        "student"
    )
    return (
        Student.objects.filter(school_id=school_year.school_id)
        .filter(wanted)
        .exclude(pk__in=extended)
        .exclude(pk__in=locked)
        .distinct()
        .values_list("pk", flat=True)
    )


def selections_lock(now: dt.datetime) -> int:
    """Mark final the selection of every student whose selection window has closed (an empty
    selection for one who never saved any), once each, audited; the number locked."""
    recent = Window.objects.filter(
        kind=WindowKind.SELECTION, ends_at__lte=now, ends_at__gt=now - LOCK_LOOKBACK
    ).values("term__school_year")
    locked = 0
    for school_year in SchoolYear.objects.filter(pk__in=recent).select_related("school"):
        locked += selections_lock_year(school_year, now)
    return locked


def selections_lock_year(school_year: SchoolYear, now: dt.datetime) -> int:
    """``selections_lock`` for one school year: what a roster build runs first, so that it
    never waits for the periodic task to find a window that has just closed."""
    windows = list(Window.objects.filter(kind=WindowKind.SELECTION, term__school_year=school_year))
    student_ids = list(_students_to_lock(school_year, windows, now))
    return _lock(school_year, student_ids, now) if student_ids else 0


def _lock(school_year: SchoolYear, student_ids: list[int], now: dt.datetime) -> int:
    Selection.objects.bulk_create(
        [
            Selection(school_id=school_year.school_id, student_id=pk, school_year=school_year)
            for pk in student_ids
        ],
        ignore_conflicts=True,
    )
    with transaction.atomic():
        # Rows another run holds are skipped; that run locks and audits them.
        due = list(
            Selection.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(school_year=school_year, student_id__in=student_ids, locked_at__isnull=True)
            .select_related("student", "school_year")
        )
        Selection.objects.filter(pk__in=[s.pk for s in due]).update(locked_at=now)
        audit_write_many(
            school=school_year.school,
            by=None,
            action="selection.lock",
            entries=[(selection, {"confirmed": selection.is_confirmed}) for selection in due],
        )
    return len(due)


# --- what will be sent -----------------------------------------------------------------------


@dataclasses.dataclass
class PreviewSheet:
    """One roster sheet as the selection fills it: its columns after the key, and per
    selected item the values in those columns."""

    roster: int
    sheet: str
    columns: tuple[str, ...]
    rows: list[tuple[Candidate, list]]


def preview_sheets(state: SelectionState) -> list[PreviewSheet]:
    """The selected items as the rosters will carry them (the format of the year's spec)."""
    spec = spec_for(state.school_year.roc_year)
    sheets: list[PreviewSheet] = []
    if state.outcomes_selected:
        sheets.append(
            PreviewSheet(
                spec.OUTCOMES_ROSTER,
                spec.OUTCOME_SHEET,
                spec.OUTCOME_COLUMNS,
                [(c, list(spec.outcome_row(c.item).values())) for c in state.outcomes_selected],
            )
        )
    for sheet, columns in spec.PERFORMANCE_SHEETS.items():
        rows = [
            (c, list(spec.performance_row(c.item).values()))
            for c in state.performances_selected
            if spec.performance_sheet(c.item) == sheet
        ]
        if rows:
            sheets.append(PreviewSheet(spec.PERFORMANCES_ROSTER, sheet, columns, rows))
    return sheets
