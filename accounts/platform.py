"""The platform operator's writes: schools created with their first administrator, suspended
and resumed.

The operator is a superuser of the deployment, not a role in a school: they act in no school,
and their audit rows are written in the school they change (its administrators read them in
its audit log). The command line (``manage.py school_create``) acts as the system (no actor).

A suspended school keeps everything; while ``School.suspended_at`` is set, no membership of
it can be acted in (``in_service``, read by ``accounts.acting`` on every request), and
resuming restores every member at once. The school's periodic work (windows opening and
closing, notices) goes on meanwhile.
"""

import dataclasses
import functools
import logging
import re
import smtplib

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts import services
from accounts.models import Division, Membership, MembershipQuerySet, Role, User
from portfolio import services as school_services
from portfolio.audit import audit_write
from portfolio.models import AuditLog, School

log = logging.getLogger(__name__)

REASON_MAX = 500
SCHOOL_CODE = re.compile(r"\d{6}")
USERNAME_CHARACTERS = re.compile(r"[^\w.@+-]")


@dataclasses.dataclass(frozen=True)
class Operator:
    """The platform operator as the actor of an audit row: a superuser, in no school."""

    user: User
    on_behalf_of: None = None
    role: str = ""

    @property
    def principal(self) -> User:
        return self.user

    @property
    def school(self) -> School:
        raise AttributeError("the platform operator acts in no school")


def _actor(by: User | None) -> Operator | None:
    return Operator(by) if by is not None else None


def in_service(memberships: MembershipQuerySet) -> MembershipQuerySet:
    """The memberships of schools that are not suspended: the only ones anyone acts in."""
    return memberships.filter(school__suspended_at__isnull=True)


@dataclasses.dataclass(frozen=True)
class SchoolCreated:
    """What ``school_create`` did: each part False when it was there already."""

    school: School
    admin: User
    school_created: bool
    account_created: bool
    admin_added: bool

    @property
    def changed(self) -> bool:
        return self.school_created or self.admin_added


def _clean(code: str, name: str, admin_email: str) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if not SCHOOL_CODE.fullmatch(code):
        problems["code"] = [_("A school code is 6 digits.")]
    if not name:
        problems["name"] = [_("Give the school's name.")]
    try:
        validate_email(admin_email)
    except ValidationError:
        problems["admin_email"] = [_("Enter a valid e-mail address.")]
    return problems


def _differences(school: School, name: str, name_en: str, continuing: bool) -> dict[str, list[str]]:
    """How an existing school differs from what was asked: refused, never changed silently."""
    problems: dict[str, list[str]] = {}
    if school.name != name:
        problems["name"] = [
            _("School %(code)s already exists under another name: %(name)s.")
            % {"code": school.code, "name": school.name}
        ]
    if name_en and school.name_en != name_en:
        problems["name_en"] = [
            _("School %(code)s already exists under another English name: %(name)s.")
            % {"code": school.code, "name": school.name_en or "—"}
        ]
    if school.has_continuing_division != continuing:
        message = (
            _("School %(code)s already exists with a continuing-education division.")
            if school.has_continuing_division
            else _("School %(code)s already exists without a continuing-education division.")
        )
        problems["continuing"] = [message % {"code": school.code}]
    return problems


def _free_username(email: str) -> str:
    """The e-mail address as the username (the characters a username allows), made unique."""
    base = USERNAME_CHARACTERS.sub("", email.lower())[:140] or "admin"
    taken = set(User.objects.filter(username__istartswith=base).values_list("username", flat=True))
    taken = {name.lower() for name in taken}
    candidate, number = base, 1
    while candidate in taken:
        number += 1
        candidate = f"{base}-{number}"
    return candidate


@transaction.atomic
def school_create(
    *,
    code: str,
    name: str,
    name_en: str = "",
    continuing: bool = False,
    admin_email: str,
    by: User | None,
) -> SchoolCreated:
    """The school ``code`` with ``admin_email`` among its administrators, made where missing.

    Idempotent: the same arguments again change nothing (the result says so). A school of
    that code with another name (or English name, or division) is refused, not changed. A
    new account gets a one-time link to set its password; an existing one (found by its
    e-mail address) gets the role and a link to sign in.
    """
    code, name, name_en, admin_email = (
        code.strip(),
        name.strip(),
        name_en.strip(),
        admin_email.strip(),
    )
    problems = _clean(code, name, admin_email)
    if problems:
        raise ValidationError(problems)
    actor = _actor(by)
    school = School.objects.select_for_update().filter(code=code).first()
    school_created = school is None
    if school is None:
        school = school_services.school_create(
            code=code, name=name, name_en=name_en, has_continuing_division=continuing, by=actor
        )
    else:
        problems = _differences(school, name, name_en, continuing)
        if problems:
            raise ValidationError(problems)
    user = User.objects.filter(email__iexact=admin_email).first()
    account_created = user is None
    if user is None:
        membership = services.member_create(
            school=school,
            username=_free_username(admin_email),
            name="",
            email=admin_email,
            password="",
            password_hash=make_password(None),  # unusable until they set one through the link
            role=Role.SCHOOL_ADMIN,
            division=Division.DAY,
            by=actor,
        )
        user = membership.user
        admin_added = True
    elif not user.is_active:
        raise ValidationError(
            {"admin_email": [_("This address belongs to an account that is switched off.")]}
        )
    else:
        held = Membership.objects.active().filter(user=user, school=school, role=Role.SCHOOL_ADMIN)
        admin_added = not held.exists()
        if admin_added:
            services.membership_add(
                school=school,
                user=user,
                role=Role.SCHOOL_ADMIN,
                division=Division.DAY,
                by=actor,
            )
    if admin_added:
        _invite(school=school, user=user, actor=actor)
    return SchoolCreated(
        school=school,
        admin=user,
        school_created=school_created,
        account_created=account_created,
        admin_added=admin_added,
    )


@transaction.atomic
def admin_invite(*, school: School, user: User, by: User | None) -> None:
    """Send ``user``, an administrator of ``school``, their sign-in link again (a new
    one-time link to set a password while they have none)."""
    held = Membership.objects.active().filter(user=user, school=school, role=Role.SCHOOL_ADMIN)
    if not held.exists():
        raise ValidationError(_("This person is not an administrator of this school."))
    if not user.email:
        raise ValidationError(_("This person has no e-mail address."))
    _invite(school=school, user=user, actor=_actor(by))


def _invite(*, school: School, user: User, actor: Operator | None) -> None:
    audit_write(
        school=school,
        by=actor,
        action="school.admin_invite",
        target=user,
        changes={"email": user.email, "set_password": not user.has_usable_password()},
    )
    transaction.on_commit(functools.partial(invite_send, school_id=school.pk, user_id=user.pk))


def invite_link(user: User) -> str:
    """Where the e-mail sends ``user``: allauth's one-time link to set a password while they
    have none (it stops working once used, or after PASSWORD_RESET_TIMEOUT), else sign-in."""
    if user.has_usable_password():
        return f"{settings.SITE_URL}{reverse('account_login')}"
    path = reverse(
        "account_reset_password_from_key",
        kwargs={
            "uidb36": user_pk_to_url_str(user),
            "key": default_token_generator.make_token(user),
        },
    )
    return f"{settings.SITE_URL}{path}"


def invite_send(*, school_id: int, user_id: int) -> bool:
    """E-mail the invitation, after the commit; a mail server that fails is logged (the
    operator sends it again from the school's page), never the request's failure."""
    school = School.objects.get(pk=school_id)
    user = User.objects.get(pk=user_id)
    language = user.language or settings.LANGUAGE_CODE
    with translation.override(language):
        school_name = school.display_name(language)
        context = {
            "user": user,
            "school": school_name,
            "code": school.code,
            "link": invite_link(user),
            "set_password": not user.has_usable_password(),
            "valid_days": max(1, settings.PASSWORD_RESET_TIMEOUT // 86400),
            "language": language,
        }
        message = EmailMultiAlternatives(
            subject=_(
                "[%(school)s] You are a school administrator on the learning-portfolio platform"
            )
            % {"school": school_name},
            body=render_to_string("accounts/platform/invite.txt", context),
            to=[user.email],
        )
        message.attach_alternative(
            render_to_string("accounts/platform/invite.html", context), "text/html"
        )
    try:
        message.send()
    except (OSError, smtplib.SMTPException):
        log.exception(
            "platform: the invitation of user %s to school %s was not sent", user_id, school.code
        )
        return False
    return True


@transaction.atomic
def school_suspend(*, school: School, reason: str, by: User | None) -> School:
    """Stop every member of ``school`` from acting in it, until ``school_resume``."""
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": [_("Give the reason for the suspension.")]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [_("At most %(max)d characters.") % {"max": REASON_MAX}]})
    now = timezone.now()
    claimed = School.objects.filter(pk=school.pk, suspended_at__isnull=True).update(
        suspended_at=now, suspended_reason=reason
    )
    if not claimed:
        raise ValidationError(_("This school is already suspended."))
    school.suspended_at, school.suspended_reason = now, reason
    audit_write(
        school=school,
        by=_actor(by),
        action="school.suspend",
        target=school,
        changes={"reason": reason},
    )
    return school


@transaction.atomic
def school_resume(*, school: School, by: User | None) -> School:
    """Let the members of ``school`` act in it again, all at once."""
    current = School.objects.select_for_update().get(pk=school.pk)
    if current.suspended_at is None:
        raise ValidationError(_("This school is not suspended."))
    School.objects.filter(pk=school.pk).update(suspended_at=None, suspended_reason="")
    audit_write(
        school=school,
        by=_actor(by),
        action="school.resume",
        target=school,
        changes={
            "suspended_at": current.suspended_at.isoformat(),
            "reason": current.suspended_reason,
        },
    )
    school.suspended_at, school.suspended_reason = None, ""
    return school


@dataclasses.dataclass(frozen=True)
class Contacts:
    """Whom the members of a suspended school may ask: its administrators, and the operator
    who suspended it."""

    admins: list[User]
    operator: User | None


def suspension_contacts(school: School) -> Contacts:
    admins = list(
        User.objects.filter(
            is_active=True,
            memberships__school=school,
            memberships__role=Role.SCHOOL_ADMIN,
            memberships__is_active=True,
        )
        .distinct()
        .order_by("name", "username")
    )
    entry = (
        AuditLog.objects.filter(school=school, action="school.suspend", actor__isnull=False)
        .select_related("actor")
        .first()
    )
    return Contacts(admins=admins, operator=entry.actor if entry else None)
