"""The student's course-outcome pages and portfolio page.

Every page acts on the signed-in student's own record; any other outcome is a 404. The
services decide windows, caps and limits at the moment of the request: a page may show a
form that the server then refuses, never the other way round.

The upload pages cut off a file past the school's largest limit while it arrives
(``limit_upload_size``), so they are CSRF-exempt outside and check the token inside, once
the limit is in place (see ``submissions.upload_handlers``). When the page's script sends the
form (to show a progress bar), a success answers JSON with the address to go to, and an
error answers the page with its messages, which the script puts in place.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from portfolio.forms import apply_errors
from portfolio.models import SchoolPolicy
from records.access import get_own_student, students_visible_to
from records.models import Student
from submissions.access import get_own_outcome_for
from submissions.forms.outcomes import OutcomeFilesForm, OutcomeTextForm, OutcomeUploadForm
from submissions.models import CourseOutcome, OutcomeState
from submissions.selectors import outcome_item, outcome_item_for, portfolio_for
from submissions.services import outcomes as outcome_services
from submissions.services.windows import WindowBook, policy_for
from submissions.upload_handlers import (
    add_too_large_error,
    limit_upload_size,
    policy_upload_limit,
    upload_done,
)

STUDENT = Role.STUDENT
NOT_LINKED = "submissions/outcomes/not_linked.html"


# --- access and small helpers -------------------------------------------------------------


def _portfolio_url(outcome: CourseOutcome | None = None) -> str:
    url = reverse("outcomes:portfolio")
    return f"{url}#outcome-{outcome.pk}" if outcome is not None else url


# --- the portfolio page --------------------------------------------------------------------


@acting_required(STUDENT)
def portfolio(request: ActingRequest) -> HttpResponse:
    student = get_own_student(request.acting)
    if student is None:
        return render(request, NOT_LINKED, {"title": _("My portfolio")})
    page = portfolio_for(student, now=timezone.now())
    return render(request, "submissions/portfolio.html", {"page": page})


# --- add -------------------------------------------------------------------------------------


@csrf_exempt
@acting_required(STUDENT)
def add(request: ActingRequest) -> HttpResponse:
    student = get_own_student(request.acting)
    if student is None:
        return render(request, NOT_LINKED, {"title": _("Add a course outcome")})
    # The school's windows and policies from its calendar (current: the school row came with
    # this request's membership) and the student's extensions, read once for the page and
    # the upload's checks.
    book = WindowBook(student, timezone.now())
    options = outcome_services.upload_options(student, now=book.now, book=book)
    limit_upload_size(request, max_bytes=options.max_upload_bytes)
    return _add(request, student, options, book)


@csrf_protect
def _add(
    request: ActingRequest,
    student: Student,
    options: outcome_services.UploadOptions,
    book: WindowBook,
) -> HttpResponse:
    form = None
    refused = request.method == "POST" and not options.can_upload
    if options.is_open and options.policy is not None:
        kwargs: dict[str, Any] = {"enrolments": options.enrolments, "policy": options.policy}
        if request.method == "POST" and options.can_upload:
            form = OutcomeUploadForm(request.POST, request.FILES, **kwargs)
            if outcome := _upload(request, student, form, options.policy, book):
                return upload_done(request, _portfolio_url(outcome))
        else:
            wanted = request.GET.get("enrolment", "")
            chosen = next((e.pk for e in options.enrolments if str(e.pk) == wanted), None)
            form = OutcomeUploadForm(initial={"enrolment": chosen}, **kwargs)
    return render(
        request,
        "submissions/outcomes/add.html",
        {"options": options, "form": form, "refused": refused},
    )


def _upload(
    request: ActingRequest,
    student: Student,
    form: OutcomeUploadForm,
    policy: SchoolPolicy,
    book: WindowBook,
) -> CourseOutcome | None:
    """The outcome uploaded, or None with the reasons on the form."""
    if add_too_large_error(request, form, policy):
        form.is_valid()  # the other fields' errors too, in one go
        return None
    if not form.is_valid():
        return None
    draft = request.POST.get("action") == "draft"
    data = form.cleaned_data
    try:
        outcome = outcome_services.outcome_upload(
            student=student,
            enrolment=data["enrolment"],
            title=data["title"],
            description=data["description"],
            document=data["document"],
            media=data["media"],
            save_as_draft=draft,
            by=request.acting,
            book=book,
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return None
    if draft:
        messages.success(
            request,
            _(
                "“%(title)s” was saved as a draft. Your teacher sees it only once you send it "
                "for certification, before the window closes."
            )
            % {"title": outcome.title},
        )
    else:
        messages.success(
            request,
            _(
                "“%(title)s” was uploaded and sent to your teacher for certification. You can "
                "still change or withdraw it until it is certified."
            )
            % {"title": outcome.title},
        )
    return outcome


# --- edit ------------------------------------------------------------------------------------


@acting_required(STUDENT)
def edit(request: ActingRequest, pk: int) -> HttpResponse:
    outcome = get_own_outcome_for(request.acting, pk)
    options = outcome_services.upload_options(outcome.student, now=timezone.now())
    slot = options.slot_for(outcome.enrolment.course.term_id)
    item = outcome_item(outcome, slot)
    form = None
    if item.can_change and slot is not None:  # a change needs the term's window open
        kwargs: dict[str, Any] = {"enrolments": options.enrolments, "policy": slot.policy}
        if request.method == "POST":
            form = OutcomeTextForm(request.POST, **kwargs)
            if form.is_valid():
                try:
                    outcome_services.outcome_edit(
                        outcome=outcome, by=request.acting, **form.cleaned_data
                    )
                except ValidationError as exc:
                    apply_errors(form, exc)
                else:
                    messages.success(request, _("Your changes were saved."))
                    return redirect(_portfolio_url(outcome))
        else:
            form = OutcomeTextForm(
                initial={
                    "enrolment": outcome.enrolment_id,
                    "title": outcome.title,
                    "description": outcome.description,
                },
                **kwargs,
            )
    return render(
        request, "submissions/outcomes/edit.html", {"outcome": outcome, "item": item, "form": form}
    )


# --- replace files ---------------------------------------------------------------------------


@csrf_exempt
@acting_required(STUDENT)
def replace(request: ActingRequest, pk: int) -> HttpResponse:
    outcome = get_own_outcome_for(request.acting, pk)
    policy = policy_for(outcome.enrolment.course.term)
    limit_upload_size(request, max_bytes=policy_upload_limit(policy))
    return _replace(request, outcome, policy)


@csrf_protect
def _replace(request: ActingRequest, outcome: CourseOutcome, policy: SchoolPolicy) -> HttpResponse:
    item = outcome_item_for(outcome, now=timezone.now())
    form = None
    if item.can_change:
        if request.method == "POST":
            form = OutcomeFilesForm(request.POST, request.FILES, policy=policy)
            if _replace_files(request, outcome, form, policy):
                return upload_done(request, _portfolio_url(outcome))
        else:
            form = OutcomeFilesForm(policy=policy)
    return render(
        request,
        "submissions/outcomes/replace.html",
        {"outcome": outcome, "item": item, "form": form},
    )


def _replace_files(
    request: ActingRequest, outcome: CourseOutcome, form: OutcomeFilesForm, policy: SchoolPolicy
) -> bool:
    if add_too_large_error(request, form, policy):
        return False
    if not form.is_valid():
        return False
    was_rejected = outcome.state == OutcomeState.REJECTED
    try:
        outcome_services.outcome_replace_file(
            outcome=outcome,
            document=form.cleaned_data["document"],
            media=form.cleaned_data["media"],
            by=request.acting,
        )
    except ValidationError as exc:
        apply_errors(form, exc)
        return False
    if was_rejected:
        messages.success(
            request, _("The new file was saved and the outcome sent back for certification.")
        )
    else:
        messages.success(request, _("The new file was saved."))
    return True


# --- a file storage lost, uploaded again --------------------------------------------------------

RESTORERS = (Role.STUDENT, Role.REGISTRY)


def _restorable_for(acting, pk: int) -> CourseOutcome:
    """The student's own outcome, or (registry) one of a student it may see; 404 otherwise."""
    if acting.role == Role.STUDENT:
        return get_own_outcome_for(acting, pk)
    return get_object_or_404(
        CourseOutcome.objects.for_school(acting.school)
        .filter(student__in=students_visible_to(acting))
        .select_related("student", "enrolment__course__term", "document", "media"),
        pk=pk,
    )


@csrf_exempt
@acting_required(*RESTORERS)
def restore(request: ActingRequest, pk: int) -> HttpResponse:
    """Upload again the file of a certified outcome that storage lost or altered."""
    outcome = _restorable_for(request.acting, pk)
    policy = policy_for(outcome.enrolment.course.term)
    limit_upload_size(request, max_bytes=policy_upload_limit(policy))
    return _restore(request, outcome, policy)


@csrf_protect
def _restore(request: ActingRequest, outcome: CourseOutcome, policy: SchoolPolicy) -> HttpResponse:
    back = (
        _portfolio_url(outcome)
        if request.acting.role == Role.STUDENT
        else reverse("basicdata:student", args=[outcome.student_id]) + "#portfolio"
    )
    form = None
    if outcome.needs_file_again:
        form = OutcomeFilesForm(request.POST or None, request.FILES or None, policy=policy)
        if (
            request.method == "POST"
            and not add_too_large_error(request, form, policy)
            and form.is_valid()
        ):
            try:
                restored = outcome_services.outcome_restore_file(
                    outcome=outcome,
                    document=form.cleaned_data["document"],
                    media=form.cleaned_data["media"],
                    by=request.acting,
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("The file is the one that was certified: the certification stands.")
                    if restored.is_certified
                    else _(
                        "The file differs from the one that was certified: the outcome "
                        "awaits certification again."
                    ),
                )
                return upload_done(request, back)
    return render(
        request,
        "submissions/outcomes/restore.html",
        {"outcome": outcome, "form": form, "back": back},
    )


# --- withdraw and send -----------------------------------------------------------------------


@acting_required(STUDENT)
def withdraw(request: ActingRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST withdraws."""
    outcome = get_own_outcome_for(request.acting, pk)
    if request.method == "POST":
        try:
            outcome_services.outcome_withdraw(outcome=outcome, by=request.acting)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("“%(title)s” was withdrawn; its place under this term's limit is free again.")
                % {"title": outcome.title},
            )
        return redirect(_portfolio_url(outcome))
    item = outcome_item_for(outcome, now=timezone.now())
    return render(request, "submissions/outcomes/withdraw.html", {"outcome": outcome, "item": item})


@require_POST
@acting_required(STUDENT)
def submit(request: ActingRequest, pk: int) -> HttpResponse:
    outcome = get_own_outcome_for(request.acting, pk)
    try:
        outcome_services.outcome_submit(outcome=outcome, by=request.acting)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("“%(title)s” was sent to your teacher for certification.") % {"title": outcome.title},
        )
    return redirect(_portfolio_url(outcome))
