"""The concern pages: a student raises one from their outcome; the thread, where the student,
the course's teachers and the registry write; the lists of concerns of each."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts.acting import ActingRequest
from accounts.decorators import acting_required
from accounts.models import Role
from certification import concerns
from certification.access import CONCERN_STAFF, concerns_visible_to, get_concern_for
from certification.forms import ConcernForm
from certification.models import Concern
from portfolio.forms import apply_errors
from submissions.access import get_own_outcome_for

PER_PAGE = 50
PARTICIPANTS = (Role.STUDENT, *CONCERN_STAFF)


@acting_required(Role.STUDENT)
def concern_new(request: ActingRequest, pk: int) -> HttpResponse:
    """GET: the form (or the outcome's thread, when it has one); POST: raise the concern."""
    outcome = get_own_outcome_for(request.acting, pk)
    existing = Concern.objects.filter(outcome=outcome).first()
    if existing is not None and request.method != "POST":
        return redirect("certification:concern", existing.pk)
    form = ConcernForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                concern = concerns.concern_raise(
                    outcome=outcome, acting=request.acting, text=form.cleaned_data["text"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request, _("Your concern is sent to the course's teachers and the registry.")
                )
                return redirect("certification:concern", concern.pk)
        status = 400
    context = {"outcome": outcome, "form": form, "refusal": concerns.concern_refusal(outcome)}
    return render(request, "certification/concern_new.html", context, status=status)


@acting_required(*PARTICIPANTS)
def concern(request: ActingRequest, pk: int) -> HttpResponse:
    """The thread; POST writes in it."""
    found = get_concern_for(request.acting, pk)
    form = ConcernForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                concerns.concern_reply(
                    concern=found, acting=request.acting, text=form.cleaned_data["text"]
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Your message is sent."))
                return redirect("certification:concern", found.pk)
        status = 400
    context = {
        "concern": found,
        "outcome": found.outcome,
        "thread": found.messages.select_related("author"),
        "form": form,
        "may_reopen": request.acting.role == Role.REGISTRY,
    }
    return render(request, "certification/concern.html", context, status=status)


@acting_required(*PARTICIPANTS)
def concern_list(request: ActingRequest) -> HttpResponse:
    """Concerns waiting for an answer first, then the answered ones, newest first."""
    found = (
        concerns_visible_to(request.acting)
        .select_related("student__school_class", "outcome__enrolment__course")
        .order_by(F("answered_at").desc(nulls_first=True), "-created_at", "-pk")
    )
    page = Paginator(found, PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "certification/concerns.html", {"page": page})
