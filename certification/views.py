"""The certification pages: the teacher's queue, the registry's proxy page, the decisions.

Both pages show one form around the whole list: each item's Certify and Reject buttons send
it to the item's own address (``formaction``), the "Certify selected" buttons to the
address for several. Enter in a field presses the form's first button, a hidden one that
asks for nothing to be done, so Enter never decides on an item by accident. After a
decision the page comes back with the next item in view (``#item-<pk>``), the filters kept.

Whether a decision is allowed (who, window, state, a page out of date) is the services'
to say; an outcome outside the acting person's scope is a 404 here.
"""

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from certification import services
from certification.access import decision_scope, get_decided_for_registry, get_outcome_for
from certification.forms import (
    STAND_IN_PK,
    DecisionForm,
    QueueFilterForm,
    QueueRejectForms,
    RejectForm,
    ReopenForm,
)
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib.numbers import parse_id, parse_ids
from submissions.models import CourseOutcome, OutcomeState
from submissions.services.rosters import frozen_ids

DECIDERS = (Role.TEACHER, Role.REGISTRY)
PER_PAGE = 50
# Query parameters of the list that a decision keeps when it returns to it.
KEPT = ("course", "school_class", "show", "page")


# --- access and small helpers -------------------------------------------------------------


def _list_url(request: ActingRequest) -> str:
    name = "certification:proxy" if request.acting.role == Role.REGISTRY else "certification:queue"
    return reverse(name)


def _url_of_pk(name: str) -> Callable[[int], str]:
    """``reverse(name, args=[pk])`` for the many pks of a page, reversed once."""
    head, tail = reverse(name, args=[STAND_IN_PK]).split(str(STAND_IN_PK))
    return lambda pk: f"{head}{pk}{tail}"


def _kept_query(request: ActingRequest, names: tuple[str, ...] = KEPT) -> str:
    """The list's filters (and page) from the request's address, only the known ones."""
    kept = {}
    for name in names:
        value = request.GET.get(name, "")
        if parse_id(value) or (name == "show" and value in services.Show.values):
            kept[name] = value
    return urlencode(kept)


def _back(request: ActingRequest, anchor: int | str | None = None) -> HttpResponse:
    """Back to the list with its filters, the item ``anchor`` in view."""
    url = _list_url(request)
    if query := _kept_query(request):
        url = f"{url}?{query}"
    if anchor:
        url = f"{url}#item-{anchor}"
    return redirect(url)


def _next_pk(request: ActingRequest) -> str:
    """The item to show once this one is decided, as the list's page named it."""
    value = request.GET.get("next", "")
    return value if parse_id(value) else ""


def _who(outcome: CourseOutcome) -> dict[str, str]:
    return {"title": outcome.title, "student": outcome.student.name}


def _refusal(outcome: CourseOutcome, reason: str) -> str:
    return _("“%(title)s” by %(student)s: %(reason)s") % {**_who(outcome), "reason": reason}


# --- the lists ---------------------------------------------------------------------------------


def _listing(request: ActingRequest, *, proxy: bool) -> HttpResponse:
    now = timezone.now()
    acting = request.acting
    options = services.queue_options(acting, now=now)
    filter_form = QueueFilterForm(
        request.GET or None, courses=options.courses, classes=options.classes
    )
    filters = filter_form.filters()
    items = services.queue_items(acting, now=now, **filters)
    page = Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
    groups = services.group_items(page.object_list, options, now)
    decided = [i.outcome.pk for g in groups for i in g.items if not i.outcome.is_submitted]
    frozen = frozen_ids(CourseOutcome, decided) if decided else set()
    query = _kept_query(request)
    # What each item shows to decide on it: its reject form (rendered once for the page, see
    # QueueRejectForms) and the address Certify and Reject send the form to, which returns
    # to the list with the next item in view (reversed once for the page).
    reject_forms = QueueRejectForms()
    decide_url = _url_of_pk("certification:decide")
    back = f"?{query}&next=" if query else "?next="
    for group in groups:
        for item in group.items:
            outcome = item.outcome
            if not outcome.is_submitted:
                item.may_undo = not services.undo_refusal(
                    outcome, acting, group.window, outcome.pk in frozen
                )
            elif group.window.is_open:
                item.reject_form = reject_forms.item(
                    outcome.pk,
                    outcome.updated_at,
                    action=f"{decide_url(outcome.pk)}{back}{item.next_pk or ''}",
                )
    return render(
        request,
        "certification/queue.html",
        {
            "proxy": proxy,
            "options": options,
            "filter_form": filter_form,
            "show": filters["show"],
            "page": page,
            "groups": groups,
            "query": query,
            "filter_query": _kept_query(request, names=KEPT[:-1]),
            "now": now,
        },
    )


@acting_required(Role.TEACHER)
def queue(request: ActingRequest) -> HttpResponse:
    """The acting teacher's outcomes awaiting certification, by course and class."""
    return _listing(request, proxy=False)


@acting_required(Role.REGISTRY)
def proxy(request: ActingRequest) -> HttpResponse:
    """Outcomes of courses whose teachers have all left, which the registry certifies."""
    return _listing(request, proxy=True)


# --- one decision ------------------------------------------------------------------------------


@require_POST
@acting_required(*DECIDERS)
def decide(request: ActingRequest, pk: int) -> HttpResponse:
    """``action=certify`` or ``action=reject`` (with the reason fields) on one outcome."""
    outcome = get_outcome_for(request.acting, pk)
    action = request.POST.get("action")
    if action == "reject":
        return _reject(request, outcome)
    if action != "certify":
        messages.error(request, _("Choose Certify or Reject."))
        return _back(request, outcome.pk)
    form = DecisionForm(request.POST, pk=outcome.pk)
    if not form.is_valid():
        messages.error(
            request, _refusal(outcome, " ".join(str(error) for error in form.errors["seen_at"]))
        )
        return _back(request, outcome.pk)
    try:
        services.outcome_certify(
            outcome=outcome, by=request.acting, seen_at=form.cleaned_data["seen_at"]
        )
    except ValidationError as exc:
        messages.error(request, _refusal(outcome, " ".join(exc.messages)))
        return _back(request, outcome.pk)
    except PermissionDenied:
        raise Http404 from None
    messages.success(request, _("Certified: “%(title)s” by %(student)s.") % _who(outcome))
    return _back(request, _next_pk(request))


def _reject(request: ActingRequest, outcome: CourseOutcome) -> HttpResponse:
    form = RejectForm(request.POST, pk=outcome.pk)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.outcome_reject(
                outcome=outcome,
                reason_code=data["reason_code"],
                reason_text=data["reason_text"],
                by=request.acting,
                seen_at=data["seen_at"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied:
            raise Http404 from None
        else:
            messages.success(
                request,
                _(
                    "Rejected: “%(title)s” by %(student)s. The student sees your reason and "
                    "may send the work again."
                )
                % _who(outcome),
            )
            return _back(request, _next_pk(request))
    outcome.refresh_from_db()  # show the outcome as it is now, and take its time as seen
    fresh = RejectForm(pk=outcome.pk, initial={"seen_at": outcome.updated_at})
    return _reject_page(request, outcome, form, seen=fresh["seen_at"])


def _reject_page(request: ActingRequest, outcome: CourseOutcome, form: RejectForm, seen=None):
    return render(
        request,
        "certification/reject.html",
        {
            "outcome": outcome,
            "form": form,
            "seen": seen or form["seen_at"],
            "window": services.certification_window(outcome.enrolment.course, timezone.now()),
            "awaiting": outcome.state == OutcomeState.SUBMITTED,
            "list_url": _list_url(request),
            "query": _kept_query(request),
            "next": _next_pk(request),
        },
    )


@acting_required(*DECIDERS)
def reject(request: ActingRequest, pk: int) -> HttpResponse:
    """The reject form on a page of its own (the queue shows it in place)."""
    outcome = get_outcome_for(request.acting, pk)
    form = RejectForm(pk=outcome.pk, initial={"seen_at": outcome.updated_at})
    return _reject_page(request, outcome, form)


# --- several at once ---------------------------------------------------------------------------


def _seen(request: ActingRequest, pk: int) -> dt.datetime | None:
    form = DecisionForm(request.POST, pk=pk)
    return form.cleaned_data["seen_at"] if form.is_valid() else None


def _report(
    request: ActingRequest, done: int, refused: list[tuple[int | None, str]]
) -> HttpResponse:
    """Say what was certified and what was not (and why), back at the first refused item."""
    if not refused:
        messages.success(
            request,
            ngettext("%(n)s outcome certified.", "%(n)s outcomes certified.", done) % {"n": done},
        )
        return _back(request)
    messages.warning(
        request,
        _("%(done)s certified, %(refused)s refused: %(reasons)s")
        % {"done": done, "refused": len(refused), "reasons": " · ".join(r for _pk, r in refused)},
    )
    return _back(request, refused[0][0])


@require_POST
@acting_required(*DECIDERS)
def certify_many(request: ActingRequest) -> HttpResponse:
    """Certify the ticked items; each is checked alone, and the page says which were not."""
    if request.POST.get("enter"):
        messages.info(
            request,
            _(
                "Nothing was done: Enter alone decides nothing. Press Certify, Reject… or "
                "Certify selected."
            ),
        )
        return _back(request)
    wanted = parse_ids(request.POST.getlist("selected"))
    if not wanted:
        messages.warning(request, _("Tick the outcomes to certify first."))
        return _back(request)
    found = list(
        decision_scope(request.acting)
        .filter(pk__in=wanted)
        .select_related("student", "enrolment__course")
        .order_by("pk")
    )
    seen = {outcome.pk: _seen(request, outcome.pk) for outcome in found}
    result = services.certify_many(
        outcomes=[o for o in found if seen[o.pk] is not None], by=request.acting, seen_at=seen
    )
    refused: list[tuple[int | None, str]] = [
        (o.pk, _refusal(o, reason)) for o, reason in result.refused
    ]
    refused += [
        (o.pk, _refusal(o, _("the page was out of date; look at it again.")))
        for o in found
        if seen[o.pk] is None
    ]
    refused += [(None, _("an outcome that is not yours to decide on, or no longer exists"))] * (
        len(wanted) - len(found)
    )
    return _report(request, len(result.done), refused)


# --- taking a decision back ----------------------------------------------------------------------


@require_POST
@acting_required(*DECIDERS)
def undo(request: ActingRequest, pk: int) -> HttpResponse:
    """The acting teacher (or registry, as proxy) undoes their own decision made just now."""
    outcome = get_outcome_for(request.acting, pk)
    try:
        services.outcome_undo(outcome=outcome, by=request.acting)
    except ValidationError as exc:
        messages.error(request, _refusal(outcome, " ".join(exc.messages)))
        return _back(request, outcome.pk)
    except PermissionDenied:
        raise Http404 from None
    messages.success(
        request, _("Undone: “%(title)s” by %(student)s awaits your decision again.") % _who(outcome)
    )
    return _back(request, outcome.pk)


@acting_required(Role.REGISTRY)
def reopen(request: ActingRequest, pk: int) -> HttpResponse:
    """The registry reopens a decision with a reason (GET: the form; POST: reopen)."""
    outcome = get_decided_for_registry(request.acting, pk)
    form = ReopenForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.outcome_reopen(
                    outcome=outcome, by=request.acting, reason=form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    for error in errors:
                        form.add_error(None if field == NON_FIELD_ERRORS else field, error)
            else:
                messages.success(
                    request,
                    _("Reopened: “%(title)s” by %(student)s awaits certification again.")
                    % _who(outcome),
                )
                return redirect(
                    reverse("basicdata:student", args=[outcome.student_id]) + "#portfolio"
                )
        status = 400
    return render(
        request, "certification/reopen.html", {"outcome": outcome, "form": form}, status=status
    )


@acting_required(*DECIDERS)
def export(request: ActingRequest) -> HttpResponse:
    """What awaits the acting person's decision, as a worksheet (the queue's filters apply)."""
    now = timezone.now()
    options = services.queue_options(request.acting, now=now)
    filter_form = QueueFilterForm(
        request.GET or None, courses=options.courses, classes=options.classes
    )
    filters = {**filter_form.filters(), "show": services.Show.AWAITING}
    items = services.queue_items(request.acting, now=now, **filters)
    headers = [
        _("Course"), _("Course code"), _("Term"), _("Class"), _("Seat"), _("Student number"),
        _("Name"), _("Title"), _("Uploaded"), _("Certification window closes"),
    ]  # fmt: skip
    windows = options.windows

    def rows():
        for outcome in items.iterator(chunk_size=500):
            course = outcome.enrolment.course
            window = windows.get(course.pk)
            closes = window.closes_at if window is not None else None
            student = outcome.student
            yield [
                course.name, course.code, course.term.label,
                student.school_class.name if student.school_class else "", student.seat_number,
                student.student_number, student.name, outcome.title,
                timezone.localtime(outcome.created_at).strftime("%Y-%m-%d %H:%M"),
                timezone.localtime(closes).strftime("%Y-%m-%d %H:%M") if closes else "",
            ]  # fmt: skip

    return xlsx_response(
        filename=_("awaiting-certification") + f"-{timezone.localdate():%Y%m%d}.xlsx",
        sheet=_("Awaiting certification"),
        headers=headers,
        rows=rows(),
    )
