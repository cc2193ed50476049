from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import i18n
from django.views.decorators.http import require_POST

from accounts import acting, services
from accounts.access import get_deputy_for, get_member_for, get_membership_for
from accounts.acting import ActingRequest, SignedInRequest
from accounts.decorators import acting_required
from accounts.forms import (
    DeputyForm,
    MemberCreateForm,
    MemberEditForm,
    MembershipAddForm,
    PasswordSetForm,
)
from accounts.models import Deputy, Division, Membership, Role, User
from portfolio.exports import xlsx_response
from portfolio.forms import apply_errors
from portfolio.lib.text import search_text

ADMIN = Role.SCHOOL_ADMIN


@login_required
def switch(request: SignedInRequest) -> HttpResponse:
    """Pick the school and role to act in; skipped when there is only one."""
    choices = acting.contexts_for(request.user)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = ""
    if request.method == "POST":
        chosen = next((c for c in choices if c.key == request.POST.get("context")), None)
        if chosen is None:
            messages.error(request, _("Choose one of the roles listed."))
        else:
            acting.remember(request, chosen)
            return redirect(next_url or "home")
    elif len(choices) == 1 and request.acting is None:
        acting.remember(request, choices[0])
        return redirect(next_url or "home")
    return render(
        request,
        "accounts/switch.html",
        {"choices": choices, "next": next_url, "current": request.acting},
    )


@acting_required(ADMIN)
def members(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    role = request.GET.get("role", "")
    query = search_text(request.GET.get("q"))
    in_school = Membership.objects.filter(school=school)
    if role in Role.values:
        in_school = in_school.filter(role=role)
    users = User.objects.filter(pk__in=in_school.values("user"))
    if query:
        users = users.filter(
            Q(username__icontains=query) | Q(name__icontains=query) | Q(email__icontains=query)
        )
    users = users.order_by("username").prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.filter(school=school).order_by("role"),
            to_attr="school_memberships",
        )
    )
    if request.GET.get("export") == "xlsx":
        return xlsx_response(
            filename=f"members-{school.code}.xlsx",
            sheet=_("Members"),
            headers=[_("Username"), _("Name"), _("E-mail"), _("Roles")],
            rows=(
                [
                    user.username,
                    user.name,
                    user.email,
                    "、".join(
                        f"{m.get_role_display()}·{m.get_division_display()}"
                        + ("" if m.is_active else f" ({_('off')})")
                        for m in user.school_memberships
                    ),
                ]
                for user in users
            ),
        )
    page = Paginator(users, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/members.html",
        {"page": page, "roles": Role.choices, "role": role, "q": query},
    )


@acting_required(ADMIN)
def member_add(request: ActingRequest) -> HttpResponse:
    form = MemberCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.member_create(
                school=request.acting.school, by=request.acting, **form.cleaned_data
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Account %(username)s created.") % {"username": membership.user.username}
            )
            return redirect("accounts:member_edit", pk=membership.user_id)
    return render(request, "accounts/member_add.html", {"form": form})


@acting_required(ADMIN)
def member_edit(request: ActingRequest, pk: int) -> HttpResponse:
    member = get_member_for(request.acting, pk)
    school = request.acting.school
    profile_form = MemberEditForm(initial={"name": member.name, "email": member.email})
    password_form = PasswordSetForm()
    role_form = MembershipAddForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "profile":
                profile_form = MemberEditForm(request.POST)
                if profile_form.is_valid():
                    services.member_update(
                        school=school, user=member, by=request.acting, **profile_form.cleaned_data
                    )
                    messages.success(request, _("Details saved."))
                    return redirect("accounts:member_edit", pk=member.pk)
            elif action == "password":
                password_form = PasswordSetForm(request.POST)
                if password_form.is_valid():
                    services.member_set_password(
                        school=school,
                        user=member,
                        by=request.acting,
                        password=password_form.cleaned_data["password"],
                    )
                    messages.success(request, _("Password set."))
                    return redirect("accounts:member_edit", pk=member.pk)
            elif action == "role":
                role_form = MembershipAddForm(request.POST)
                if role_form.is_valid():
                    services.membership_add(
                        school=school, user=member, by=request.acting, **role_form.cleaned_data
                    )
                    messages.success(request, _("Role added."))
                    return redirect("accounts:member_edit", pk=member.pk)
        except ValidationError as exc:
            forms_by_action = {
                "profile": profile_form,
                "password": password_form,
                "role": role_form,
            }
            form = forms_by_action[action or "profile"]
            apply_errors(form, exc)
    memberships = Membership.objects.filter(school=school, user=member).order_by("role")
    return render(
        request,
        "accounts/member_edit.html",
        {
            "member": member,
            "memberships": memberships,
            "profile_form": profile_form,
            "password_form": password_form,
            "role_form": role_form,
        },
    )


@require_POST
@acting_required(ADMIN)
def membership_toggle(request: ActingRequest, pk: int) -> HttpResponse:
    membership = get_membership_for(request.acting, pk)
    try:
        services.membership_set_active(
            membership=membership, active=not membership.is_active, by=request.acting
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            _("Role switched on.") if membership.is_active else _("Role switched off."),
        )
    return redirect("accounts:member_edit", pk=membership.user_id)


@acting_required(ADMIN)
def deputies(request: ActingRequest) -> HttpResponse:
    records = (
        Deputy.objects.for_school(request.acting.school)
        .select_related("principal", "deputy")
        .order_by("role", "division", "principal__username", "order")
    )
    today = timezone.localdate()
    return render(request, "accounts/deputies.html", {"records": records, "today": today})


@acting_required(ADMIN)
def deputy_add(request: ActingRequest) -> HttpResponse:
    school = request.acting.school
    form = DeputyForm(
        request.POST or None,
        school=school,
        initial={"division": Division.DAY, "starts_on": timezone.localdate()},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.deputy_create(school=school, by=request.acting, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Deputy added."))
            return redirect("accounts:deputies")
    return render(request, "accounts/deputy_form.html", {"form": form, "record": None})


@acting_required(ADMIN)
def deputy_edit(request: ActingRequest, pk: int) -> HttpResponse:
    record = get_deputy_for(request.acting, pk)
    initial = {
        "role": record.role,
        "division": record.division,
        "principal": record.principal,
        "deputy": record.deputy,
        "order": record.order,
        "starts_on": record.starts_on,
        "ends_on": record.ends_on,
    }
    form = DeputyForm(request.POST or None, school=request.acting.school, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.deputy_update(record=record, by=request.acting, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Deputy saved."))
            return redirect("accounts:deputies")
    return render(request, "accounts/deputy_form.html", {"form": form, "record": record})


@require_POST
@acting_required(ADMIN)
def deputy_delete(request: ActingRequest, pk: int) -> HttpResponse:
    record = get_deputy_for(request.acting, pk)
    services.deputy_delete(record=record, by=request.acting)
    messages.success(request, _("Deputy removed."))
    return redirect("accounts:deputies")


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch; a signed-in person's choice is kept on their account too, so
    that their e-mails (notices) are written in the language they use on the site."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    if (
        request.method == "POST"
        and request.user.is_authenticated
        and language in dict(settings.LANGUAGES)
        and request.user.language != language
    ):
        User.objects.filter(pk=request.user.pk).update(language=language)
    return response
