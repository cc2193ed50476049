"""Writes to the schedule and policy. Views, tasks and commands call these, nothing else."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from portfolio import calendar, rules
from portfolio.actor import Actor
from portfolio.audit import audit_write, update_audited
from portfolio.models import School, SchoolPolicy, SchoolYear, Term, Window, WindowState
from portfolio.problems import raise_if

POLICY_FIELDS = [
    "outcome_upload_cap_per_term",
    "performance_upload_cap_per_year",
    "outcome_selection_cap",
    "performance_selection_cap",
    "document_types",
    "document_max_mb",
    "media_types",
    "media_max_mb",
    "short_description_max",
    "staff_require_2fa",
]


@transaction.atomic
def school_create(
    *,
    code: str,
    name: str,
    name_en: str = "",
    has_continuing_division: bool = False,
    by: Actor | None,
) -> School:
    school = School(
        code=code, name=name, name_en=name_en, has_continuing_division=has_continuing_division
    )
    school.full_clean()
    school.save()
    audit_write(school=school, by=by, action="school.create", target=school)
    return school


@transaction.atomic
def school_year_create(
    *,
    school: School,
    roc_year: int,
    terms: list[dict[str, Any]],
    by: Actor | None,
) -> SchoolYear:
    """A school year with its two terms, and a policy carried over from the year before."""
    if SchoolYear.objects.filter(school=school, roc_year=roc_year).exists():
        raise ValidationError({"roc_year": [_already_exists(roc_year)]})
    problems: dict[str, list[str]] = {}
    for term in terms:
        for field, messages in rules.term_problems(roc_year=roc_year, **term).items():
            problems.setdefault(f"term{term['number']}_{field}", []).extend(messages)
    raise_if(problems)
    year = SchoolYear.objects.create(school=school, roc_year=roc_year)
    for term in terms:
        Term.objects.create(school=school, school_year=year, **term)
    previous = (
        SchoolPolicy.objects.filter(school=school, school_year__roc_year__lt=roc_year)
        .order_by("-school_year__roc_year")
        .first()
    )
    carried = {name: getattr(previous, name) for name in POLICY_FIELDS} if previous else {}
    SchoolPolicy.objects.create(school=school, school_year=year, **carried)
    audit_write(
        school=school,
        by=by,
        action="school_year.create",
        target=year,
        changes={"terms": [{k: str(v) for k, v in t.items()} for t in terms]},
    )
    return year


def _already_exists(roc_year: int) -> str:
    return _("School year %(year)s already exists.") % {"year": roc_year}


@transaction.atomic
def term_update(
    *,
    term: Term,
    starts_on: dt.date,
    closing_day: dt.date,
    ends_on: dt.date,
    by: Actor | None,
) -> Term:
    raise_if(
        rules.term_problems(
            roc_year=term.school_year.roc_year,
            number=term.number,
            starts_on=starts_on,
            closing_day=closing_day,
            ends_on=ends_on,
        )
    )
    data = {"starts_on": starts_on, "closing_day": closing_day, "ends_on": ends_on}
    update_audited(term, data, school=term.school, by=by, action="term.update")
    return term


def _window_data(
    *,
    kind: str,
    grade: int | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    self_check_on: dt.date | None,
    note: str,
    batch: int | None,
) -> dict[str, Any]:
    return {
        "kind": kind,
        "grade": grade,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "self_check_on": self_check_on,
        "note": note,
        "batch": batch,
    }


@transaction.atomic
def window_create(
    *,
    term: Term,
    kind: str,
    grade: int | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    self_check_on: dt.date | None = None,
    note: str = "",
    batch: int | None = None,
    by: Actor | None,
) -> Window:
    data = _window_data(
        kind=kind,
        grade=grade,
        starts_at=starts_at,
        ends_at=ends_at,
        self_check_on=self_check_on,
        note=note,
        batch=batch,
    )
    raise_if(rules.window_problems(term=term, **_rule_args(data)))
    window = Window.objects.create(school=term.school, term=term, **data)
    audit_write(
        school=term.school,
        by=by,
        action="window.create",
        target=window,
        changes={k: str(v) for k, v in data.items()},
    )
    return window


@transaction.atomic
def window_update(
    *,
    window: Window,
    kind: str,
    grade: int | None,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    self_check_on: dt.date | None = None,
    note: str = "",
    batch: int | None = None,
    by: Actor | None,
) -> Window:
    data = _window_data(
        kind=kind,
        grade=grade,
        starts_at=starts_at,
        ends_at=ends_at,
        self_check_on=self_check_on,
        note=note,
        batch=batch,
    )
    raise_if(rules.window_problems(term=window.term, exclude=window, **_rule_args(data)))
    update_audited(window, data, school=window.school, by=by, action="window.update")
    return window


def _rule_args(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "note"}


@transaction.atomic
def window_delete(*, window: Window, by: Actor | None) -> None:
    audit_write(
        school=window.school,
        by=by,
        action="window.delete",
        target=window,
        changes={"starts_at": str(window.starts_at), "ends_at": str(window.ends_at)},
    )
    window.delete()


@transaction.atomic
def policy_update(*, policy: SchoolPolicy, data: dict[str, Any], by: Actor | None) -> SchoolPolicy:
    unknown = set(data) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"not policy fields: {sorted(unknown)}")
    update_audited(
        policy, data, school=policy.school, by=by, action="policy.update", full_clean=True
    )
    return policy


def window_states_apply(*, now: dt.datetime | None = None) -> list[tuple[int, str]]:
    """Move every window whose times say so to its due state, once.

    Safe to run as often as one likes and from several workers at once: each
    transition is claimed with a conditional UPDATE, and only the claimer audits it.
    """
    now = now or timezone.now()
    behind = (
        Q(state=WindowState.SCHEDULED, starts_at__lte=now)
        | Q(state=WindowState.OPEN, ends_at__lte=now)
        # Times moved after a transition (a window reopened or postponed).
        | Q(state=WindowState.OPEN, starts_at__gt=now)
        | Q(state=WindowState.CLOSED, ends_at__gt=now)
    )
    applied = []
    for window in Window.objects.filter(behind).select_related("school", "term__school_year"):
        due = window.due_state(now)
        if due == window.state:
            continue
        with transaction.atomic():
            claimed = Window.objects.filter(pk=window.pk, state=window.state).update(
                state=due, state_changed_at=now
            )
            if claimed:
                calendar.bump(window.school_id)
                audit_write(
                    school=window.school,
                    by=None,
                    action=f"window.{due}",
                    target=window,
                    changes={"state": [window.state, due], "at": now.isoformat()},
                )
                applied.append((window.pk, due))
    return applied
