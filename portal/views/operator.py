"""The platform operator's pages: every school with its size, a new school, suspending and
resuming one. Only superusers reach them; they act in no school (accounts.platform)."""

import functools
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import platform, signin
from accounts.acting import SignedInRequest
from accounts.models import Membership, Role, SignInProvider, User
from accounts.signin_forms import SignInProviderForm
from portal.operator import schools_with_sizes, size_of
from portal.operator_forms import SchoolCreateForm, SuspendForm
from portfolio.audit import action_label
from portfolio.forms import apply_errors
from portfolio.models import AuditLog, School

PLATFORM_ACTIONS = ("school.create", "school.suspend", "school.resume", "school.admin_invite")


def operator_required(view: Callable) -> Callable:
    """Signed in as a superuser; anyone else signed in gets 403, the anonymous sign in."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@operator_required
def index(request: SignedInRequest) -> HttpResponse:
    page = Paginator(schools_with_sizes(), 50).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/operator/index.html",
        {"page": page, "rows": [size_of(school) for school in page.object_list]},
    )


@operator_required
def school_add(request: SignedInRequest) -> HttpResponse:
    form = SchoolCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = platform.school_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _created_message(done))
            return redirect("operator:school", code=done.school.code)
    return render(request, "portal/operator/school_form.html", {"form": form})


def _created_message(done: platform.SchoolCreated) -> str:
    words = {"school": str(done.school), "email": done.admin.email}
    if done.school_created:
        return _("School %(school)s created; a sign-in link was sent to %(email)s.") % words
    if done.admin_added:
        return (
            _("School %(school)s was already there; %(email)s is now an administrator of it.")
            % words
        )
    return (
        _("School %(school)s and its administrator %(email)s were already there: nothing changed.")
        % words
    )


def _school_page(
    request: SignedInRequest, school: School, suspend_form: SuspendForm
) -> HttpResponse:
    admins = (
        User.objects.filter(
            memberships__school=school,
            memberships__role=Role.SCHOOL_ADMIN,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("email", "username")
    )
    history = [
        (entry, action_label(entry.action))
        for entry in AuditLog.objects.filter(school=school, action__in=PLATFORM_ACTIONS)
        .select_related("actor")
        .order_by("-created_at", "-id")[:20]
    ]
    return render(
        request,
        "portal/operator/school.html",
        {
            "school": school,
            "size": size_of(schools_with_sizes().get(pk=school.pk)),
            "admins": admins,
            "history": history,
            "suspend_form": suspend_form,
            "provider": SignInProvider.objects.filter(school=school).first(),
        },
    )


@operator_required
def school_signin(request: SignedInRequest, code: str) -> HttpResponse:
    """The school's own sign-in provider (accounts.signin), as `manage.py school_signin` sets
    it: the secret stays in a file or an environment variable the app reads, never here."""
    school = get_object_or_404(School, code=code)
    row = SignInProvider.objects.filter(school=school).first()
    form = SignInProviderForm(request.POST or None, initial=SignInProviderForm.initial_for(row))
    if request.method == "POST" and form.is_valid():
        _row, changed = signin.signin_provider_save(
            school=school, data=form.provider_data(), by=platform.Operator(request.user)
        )
        if changed:
            messages.success(
                request,
                _("The sign-in with the accounts of %(school)s is saved.") % {"school": school},
            )
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("operator:school", code=school.code)
    return render(
        request,
        "portal/operator/signin_form.html",
        {"school": school, "form": form, "callback": signin_callback_url(request, school)},
    )


def signin_callback_url(request: SignedInRequest, school: School) -> str:
    """The redirect URI to register with the provider."""
    provider_id = f"{signin.PROVIDER_PREFIX}{school.code}"
    return request.build_absolute_uri(
        reverse("openid_connect_callback", kwargs={"provider_id": provider_id})
    )


@operator_required
def school_detail(request: SignedInRequest, code: str) -> HttpResponse:
    school = get_object_or_404(School, code=code)
    return _school_page(request, school, SuspendForm())


@require_POST
@operator_required
def school_suspend(request: SignedInRequest, code: str) -> HttpResponse:
    school = get_object_or_404(School, code=code)
    form = SuspendForm(request.POST)
    if form.is_valid():
        try:
            platform.school_suspend(
                school=school, reason=form.cleaned_data["reason"], by=request.user
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("School %(school)s is suspended: its members cannot act in it.")
                % {"school": school},
            )
            return redirect("operator:school", code=school.code)
    return _school_page(request, school, form)


@require_POST
@operator_required
def school_resume(request: SignedInRequest, code: str) -> HttpResponse:
    school = get_object_or_404(School, code=code)
    try:
        platform.school_resume(school=school, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("School %(school)s is resumed: its members act in it again.") % {"school": school},
        )
    return redirect("operator:school", code=school.code)


@require_POST
@operator_required
def admin_invite(request: SignedInRequest, code: str, pk: int) -> HttpResponse:
    school = get_object_or_404(School, code=code)
    membership = get_object_or_404(
        Membership.objects.active().select_related("user"),
        school=school,
        user_id=pk,
        role=Role.SCHOOL_ADMIN,
    )
    platform.admin_invite(school=school, user=membership.user, by=request.user)
    messages.success(
        request,
        _("The sign-in link was sent again to %(email)s.") % {"email": membership.user.email},
    )
    return redirect("operator:school", code=school.code)
