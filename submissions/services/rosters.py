"""The rosters (名冊) an office submits to the central database, and their packages' lives.

Which rosters: registry submits, per term, 1 (student data) and 2 (grades), and per school
year 25 (performances) and 26 (course outcomes; 28 for the continuing-education division);
student affairs submits 24 (cadre posts) per term. In a year whose schedule has grade 12
select in batches (梯次), grade 12's items go in the batch rosters instead: 34, 35 and 36/38
for the first batch, 74, 75 and 76/78 for the second (what the first sent is not sent again). Each office handles its own division's
students. ``ROSTER_KINDS`` says how each is built (``submissions.services.packages``).

A roster's state is its newest package's: not built, building, pre-check failed, ready to
submit, submitted, answered (accepted, or errors returned), reopened for resubmission.

- ``package_start`` builds a roster in the background; only one build of a roster runs at a
  time (a second start while one runs gives that one), and a build whose worker died (no
  heartbeat for ``STALE_AFTER``) is marked interrupted and its files removed, so that
  starting again completes the roster.
- ``package_submit`` sends a package that passed its pre-check through the transport chosen
  in settings (``submissions.transports``): "download" records that the office uploaded
  the files on the central database's site; "http" sends it from a task and polls for the
  answer. A submitted package freezes its items (the student can neither withdraw them nor
  drop them from the selection) and supersedes the roster's earlier submissions.
- ``package_reopen``: the office reopens a submitted roster with a reason; its items are
  free again and the roster waits for a new build and submission.
"""

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import TYPE_CHECKING, Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Division, Role
from portfolio.audit import audit_write
from portfolio.broker import send_quietly
from portfolio.jobs import JobFailure, job_start
from portfolio.models import Job, JobStatus, SchoolYear, Term
from submissions import central
from submissions.models import (
    FROZEN_STATES,
    CourseOutcome,
    PackageState,
    Performance,
    RosterPackage,
)
from submissions.services import packages
from submissions.services.packages import PACKAGE_JOB, STALE_AFTER, Build, Row

if TYPE_CHECKING:
    from accounts.acting import ActingContext


@dataclasses.dataclass(frozen=True)
class RosterKind:
    """One roster: its name, period, office, how its code and sheets follow from the
    year's spec and the division, and where its rows come from."""

    key: str
    title: Promise
    yearly: bool
    role: str
    with_files: bool
    code_of: Callable[[ModuleType, str], int]
    sheets_of: Callable[[ModuleType, str], list[tuple[str, tuple[str, ...]]]]
    rows: Callable[[Build], Iterator[Row]]
    # Grade 12's batch (梯次) the roster sends, 1 or 2; 0 for the ordinary rosters.
    batch: int = 0

    def code(self, spec: ModuleType, division: str) -> int:
        return self.code_of(spec, division)

    def sheets(self, spec: ModuleType, division: str) -> list[tuple[str, tuple[str, ...]]]:
        return self.sheets_of(spec, division)


def _outcome_columns(spec: ModuleType, division: str) -> tuple[str, ...]:
    return (
        spec.CONTINUING_OUTCOME_COLUMNS if division == Division.CONTINUING else spec.OUTCOME_COLUMNS
    )


def _in_batch(
    code_of: Callable[[ModuleType, str], int], batch: int
) -> Callable[[ModuleType, str], int]:
    """The code of a roster in grade 12's ``batch`` (its spec maps the ordinary code)."""
    return lambda spec, division: spec.batch_roster(code_of(spec, division), batch)


ROSTER_KINDS = (
    RosterKind(
        "students", gettext_lazy("Student data (roster 1)"), False, Role.REGISTRY, False,
        lambda spec, d: spec.STUDENTS_ROSTER,
        lambda spec, d: [(spec.STUDENT_SHEET, spec.STUDENT_COLUMNS)],
        packages.student_rows,
    ),
    RosterKind(
        "grades", gettext_lazy("Grades (roster 2)"), False, Role.REGISTRY, False,
        lambda spec, d: spec.GRADES_ROSTER,
        lambda spec, d: [(spec.GRADE_SHEET, spec.GRADE_COLUMNS[d])],
        packages.grade_rows,
    ),
    RosterKind(
        "cadres", gettext_lazy("Cadre posts (roster 24)"), False, Role.STUDENT_AFFAIRS, False,
        lambda spec, d: spec.CADRES_ROSTER,
        lambda spec, d: [(spec.CADRE_SHEET, spec.CADRE_COLUMNS)],
        packages.cadre_rows,
    ),
    RosterKind(
        "performances", gettext_lazy("Diverse performances (roster 25)"), True, Role.REGISTRY,
        True,
        lambda spec, d: spec.PERFORMANCES_ROSTER,
        lambda spec, d: list(spec.PERFORMANCE_SHEETS.items()),
        packages.performance_rows,
    ),
    RosterKind(
        "outcomes", gettext_lazy("Course outcomes (roster 26; 28 continuing education)"), True,
        Role.REGISTRY, True,
        lambda spec, d: spec.outcomes_roster(d),
        lambda spec, d: [(spec.OUTCOME_SHEET, _outcome_columns(spec, d))],
        packages.outcome_rows,
    ),
    *(
        kind
        for batch, cadres_title, performances_title, outcomes_title in (
            (
                1,
                gettext_lazy("Cadre posts, grade 12 first batch (roster 34)"),
                gettext_lazy("Diverse performances, grade 12 first batch (roster 35)"),
                gettext_lazy(
                    "Course outcomes, grade 12 first batch (roster 36; 38 continuing education)"
                ),
            ),
            (
                2,
                gettext_lazy("Cadre posts, grade 12 second batch (roster 74)"),
                gettext_lazy("Diverse performances, grade 12 second batch (roster 75)"),
                gettext_lazy(
                    "Course outcomes, grade 12 second batch (roster 76; 78 continuing education)"
                ),
            ),
        )
        for kind in (
            RosterKind(
                f"cadres_batch{batch}", cadres_title, True, Role.STUDENT_AFFAIRS, False,
                _in_batch(lambda spec, d: spec.CADRES_ROSTER, batch),
                lambda spec, d: [(spec.CADRE_SHEET, spec.CADRE_COLUMNS)],
                packages.cadre_rows, batch,
            ),
            RosterKind(
                f"performances_batch{batch}", performances_title, True, Role.REGISTRY, True,
                _in_batch(lambda spec, d: spec.PERFORMANCES_ROSTER, batch),
                lambda spec, d: list(spec.PERFORMANCE_SHEETS.items()),
                packages.performance_rows, batch,
            ),
            RosterKind(
                f"outcomes_batch{batch}", outcomes_title, True, Role.REGISTRY, True,
                _in_batch(lambda spec, d: spec.outcomes_roster(d), batch),
                lambda spec, d: [(spec.OUTCOME_SHEET, _outcome_columns(spec, d))],
                packages.outcome_rows, batch,
            ),
        )
    ),
)  # fmt: skip
KINDS_BY_KEY = {kind.key: kind for kind in ROSTER_KINDS}
ROSTER_ROLES = (Role.REGISTRY, Role.STUDENT_AFFAIRS)


def kind_of(roster: int, spec: ModuleType, division: str) -> RosterKind:
    for kind in ROSTER_KINDS:
        if kind.code(spec, division) == roster:
            return kind
    raise LookupError(f"no roster {roster} in spec {spec.VERSION}")


def kinds_for(role: str) -> list[RosterKind]:
    return [kind for kind in ROSTER_KINDS if kind.role == role]


def codes_for(role: str) -> set[int]:
    """Every roster code the role is responsible for, in any spec and division."""
    return {
        kind.code(module, division)
        for _first, module in central.SPECS
        for division in Division.values
        for kind in kinds_for(role)
    }


def packages_of(acting: "ActingContext") -> QuerySet[RosterPackage]:
    """The packages of the rosters the acting office submits, of its own division."""
    if acting.role not in ROSTER_ROLES:
        return RosterPackage.objects.none()
    return RosterPackage.objects.filter(
        school=acting.school, division=acting.division, roster__in=codes_for(acting.role)
    )


# --- the state of each roster -----------------------------------------------------------------


@dataclasses.dataclass
class RosterLine:
    kind: RosterKind
    code: int
    term: Term | None
    latest: RosterPackage | None = None
    submitted: RosterPackage | None = None

    @property
    def term_number(self) -> int:
        return self.term.number if self.term else 0

    @property
    def has_precheck(self) -> bool:
        """The grade roster has its own pre-check file (41/42) besides the build's checks."""
        return self.kind.key == "grades"

    @property
    def state_label(self) -> str:
        if self.latest is None:
            return _("Not built")
        return str(self.latest.get_state_display())


def roster_lines(acting: "ActingContext", school_year: SchoolYear) -> list[RosterLine]:
    """Each roster the acting office submits for the school year, with its newest package
    and its newest submitted one (one query for all packages)."""
    spec = central.spec_for(school_year.roc_year)
    division = acting.division
    terms = list(school_year.terms.order_by("number"))
    batches = packages.year_has_batches(school_year)
    lines: list[RosterLine] = []
    for kind in kinds_for(acting.role):
        if kind.batch and not batches:
            continue
        code = kind.code(spec, division)
        if kind.yearly:
            lines.append(RosterLine(kind, code, None))
        else:
            lines.extend(RosterLine(kind, code, term) for term in terms)
    by_identity = {(line.code, line.term_number): line for line in lines}
    found = (
        packages_of(acting)
        .filter(school_year=school_year)
        .select_related("created_by", "submitted_by", "reopened_by", "job")
        .defer("row_digests", "findings")
        .order_by("-created_at", "-pk")
    )
    for package in found:
        line = by_identity.get((package.roster, package.term_number))
        if line is None:
            continue
        if line.latest is None:
            line.latest = package
        if line.submitted is None and package.submitted_at is not None:
            line.submitted = package
    return lines


# --- building ---------------------------------------------------------------------------------


class BuildInterrupted(JobFailure):
    code = "roster_build_interrupted"
    text = gettext_lazy(
        "The build stopped before it finished (the background worker was stopped). "
        "Build the roster again."
    )


def _identity(package: RosterPackage) -> dict[str, Any]:
    return {
        "school_id": package.school_id,
        "school_year_id": package.school_year_id,
        "term_number": package.term_number,
        "roster": package.roster,
        "division": package.division,
    }


def _mark_interrupted(package: RosterPackage) -> None:
    RosterPackage.objects.filter(pk=package.pk).update(
        state=PackageState.INTERRUPTED, heartbeat_at=None
    )
    if package.job_id:
        Job.objects.filter(
            pk=package.job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]
        ).update(status=JobStatus.FAILED, finished_at=timezone.now(), message=BuildInterrupted.code)
    transaction.on_commit(lambda: packages.remove_files(package))


def _is_stale(package: RosterPackage, now: dt.datetime) -> bool:
    alive_at = package.heartbeat_at or package.created_at
    return now - alive_at > STALE_AFTER


def package_start(
    *,
    acting: "ActingContext",
    kind: RosterKind,
    school_year: SchoolYear,
    term: Term | None,
    now: dt.datetime | None = None,
) -> RosterPackage:
    """Build the roster in the background; the running build if there is one."""
    if acting.role != kind.role:
        raise PermissionError("this office does not submit that roster")
    now = now or timezone.now()
    spec = central.spec_for(school_year.roc_year)
    package = RosterPackage(
        school=acting.school,
        school_year=school_year,
        term=None if kind.yearly else term,
        term_number=0 if kind.yearly or term is None else term.number,
        roster=kind.code(spec, acting.division),
        division=acting.division,
        spec_version=spec.VERSION,
        created_by=acting.user,
    )
    if not kind.yearly and term is None:
        raise ValueError("a term roster needs its term")
    with transaction.atomic():
        running = (
            RosterPackage.objects.select_for_update()
            .filter(**_identity(package), state=PackageState.BUILDING)
            .first()
        )
        if running is not None:
            if not _is_stale(running, now):
                return running
            _mark_interrupted(running)
        try:
            with transaction.atomic():
                package.save()
        except IntegrityError:
            # Another start got there first: its build is the roster's build (which may
            # have finished already).
            return RosterPackage.objects.filter(**_identity(package)).order_by("-pk")[0]
        job = job_start(
            school=acting.school,
            kind=PACKAGE_JOB,
            params={"package": package.pk, "language": translation.get_language()},
            by=acting,
        )
        RosterPackage.objects.filter(pk=package.pk).update(job=job)
        package.job = job
        audit_write(
            school=acting.school,
            by=acting,
            action="roster.build",
            target=package,
            changes={"roster": package.roster, "term": package.term_number},
        )
    return package


# --- submitting, answers, reopening -----------------------------------------------------------


def _refuse(message: str) -> None:
    raise ValidationError({NON_FIELD_ERRORS: [message]})


def package_submit(
    *, package: RosterPackage, acting: "ActingContext", now: dt.datetime | None = None
) -> RosterPackage:
    """Submit a package that passed its pre-check (see the module's docstring)."""
    from submissions.tasks import send_package
    from submissions.transports import transport_name

    now = now or timezone.now()
    with transaction.atomic():
        package = RosterPackage.objects.select_for_update().get(pk=package.pk)
        if package.state == PackageState.PROBLEMS:
            _refuse(_("The pre-check found problems: fix them and build the roster again."))
        if package.state != PackageState.BUILT:
            _refuse(_("Only a package that is built and not yet submitted can be submitted."))
        newer = (
            RosterPackage.objects.filter(**_identity(package), created_at__gt=package.created_at)
            .exclude(state__in=[PackageState.INTERRUPTED])
            .exists()
        )
        if newer:
            _refuse(_("A newer build of this roster exists: submit that one."))
        RosterPackage.objects.filter(**_identity(package), state__in=FROZEN_STATES).exclude(
            pk=package.pk
        ).filter(superseded_at=None).update(superseded_at=now)
        package.state = PackageState.SUBMITTED
        package.transport = transport_name()
        package.submitted_by = acting.user
        package.submitted_at = now
        package.save(update_fields=["state", "transport", "submitted_by", "submitted_at"])
        audit_write(
            school=package.school,
            by=acting,
            action="roster.submit",
            target=package,
            changes={"roster": package.roster, "transport": package.transport},
        )
        if package.transport != "download":
            pk = package.pk
            # Not taken by the broker: send_roster_packages (beat) sends it.
            transaction.on_commit(lambda: send_quietly(send_package, pk))
    return package


# A sender holds a package for this long at most; one that died is taken over after it.
SEND_CLAIM = dt.timedelta(minutes=10)


def package_send(package_id: int, now: dt.datetime | None = None) -> str:
    """Send a submitted package over HTTP: the workbook, then the files zip, each once; its
    reference, the FIDs of both, once every file is sent.

    The package is claimed with a conditional update (``heartbeat_at``: sending since), not a
    lock held through the network calls, so two senders never both send and no transaction
    waits on the central database. What was sent before a failure is kept, the failure
    noted (the page says another attempt comes) and raised for the task to log."""
    from submissions.transports import outgoings, transport
    from submissions.transports.base import TransportError

    now = now or timezone.now()
    claimed = (
        RosterPackage.objects.filter(pk=package_id, state=PackageState.SUBMITTED, reference="")
        .filter(Q(heartbeat_at=None) | Q(heartbeat_at__lt=now - SEND_CLAIM))
        .update(heartbeat_at=now)
    )
    package = RosterPackage.objects.select_related("school", "school_year").get(pk=package_id)
    if not claimed:
        return package.reference
    sent: list[str] = list((package.answer or {}).get("sent", []))
    mine = RosterPackage.objects.filter(pk=package.pk, heartbeat_at=now)
    try:
        for outgoing in outgoings(package)[len(sent) :]:
            sent.append(transport().send(outgoing))
            mine.update(answer={"sent": sent})
    except TransportError:
        mine.update(answer={"sent": sent, "failed_at": now.isoformat()}, heartbeat_at=None)
        raise
    with transaction.atomic():
        mine.update(reference=",".join(sent), answer={}, heartbeat_at=None)
        audit_write(
            school=package.school,
            by=None,
            action="roster.send",
            target=package,
            changes={"reference": ",".join(sent)},
        )
    return ",".join(sent)


def package_poll(package_id: int, now: dt.datetime | None = None) -> str:
    """Ask the central database about each file of a sent package; record its answer once
    every file has one (accepted only if all are; errors of any reject it)."""
    from submissions.transports import transport
    from submissions.transports.base import AnswerState

    package = RosterPackage.objects.get(pk=package_id)
    if package.state != PackageState.SUBMITTED or not package.reference:
        return package.state
    answers = [transport().poll(fid) for fid in package.reference.split(",")]
    if any(a.state == AnswerState.PENDING for a in answers):
        return package.state
    rejected = any(a.state == AnswerState.REJECTED for a in answers)
    state = PackageState.REJECTED if rejected else PackageState.ACCEPTED
    errors = [error for a in answers for error in a.errors]
    with transaction.atomic():
        updated = RosterPackage.objects.filter(pk=package.pk, state=PackageState.SUBMITTED).update(
            state=state,
            answer={"errors": errors, "raw": [a.raw for a in answers]},
            answered_at=now or timezone.now(),
        )
        if updated:
            audit_write(
                school=package.school,
                by=None,
                action="roster.answer",
                target=package,
                changes={"state": state, "errors": len(errors)},
            )
    return state


def sent_packages() -> QuerySet[RosterPackage]:
    """Packages submitted over HTTP still waiting to be sent or answered."""
    return RosterPackage.objects.filter(state=PackageState.SUBMITTED).exclude(transport="download")


def package_reopen(
    *, package: RosterPackage, acting: "ActingContext", reason: str, now: dt.datetime | None = None
) -> RosterPackage:
    """Reopen a submitted roster with a reason: its items are free again, and the roster
    waits for a new build and submission."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the roster is reopened.")]})
    with transaction.atomic():
        package = RosterPackage.objects.select_for_update().get(pk=package.pk)
        if not package.is_frozen:
            _refuse(_("Only the roster's current submission can be reopened."))
        before = package.state
        package.state = PackageState.REOPENED
        package.reopened_by = acting.user
        package.reopened_at = now or timezone.now()
        package.reopen_reason = reason
        package.save(update_fields=["state", "reopened_by", "reopened_at", "reopen_reason"])
        audit_write(
            school=package.school,
            by=acting,
            action="roster.reopen",
            target=package,
            changes={"state": [before, package.state], "reason": reason},
        )
    return package


# --- what a submission freezes ----------------------------------------------------------------


def freezing_package(item: CourseOutcome | Performance) -> RosterPackage | None:
    """The submitted package that holds ``item`` fast, if any."""
    return item.packages.filter(state__in=FROZEN_STATES, superseded_at=None).first()


def frozen_ids(model: type[CourseOutcome] | type[Performance], ids: list[int]) -> set[int]:
    """Which of ``ids`` are held fast by a submitted package (one query)."""
    frozen = Q(packages__state__in=FROZEN_STATES, packages__superseded_at=None)
    return set(model.objects.filter(frozen, pk__in=ids).values_list("pk", flat=True))


def frozen_message(package: RosterPackage) -> str:
    return _(
        "Submitted to the central database in roster %(roster)s on %(day)s: it cannot "
        "change until the registry reopens the roster."
    ) % {
        "roster": package.roster,
        "day": formats.date_format(timezone.localtime(package.submitted_at), "SHORT_DATE_FORMAT"),
    }


def frozen_refusal(item: CourseOutcome | Performance) -> str | None:
    package = freezing_package(item)
    return frozen_message(package) if package else None
