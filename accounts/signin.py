"""Sign-in with a school's own accounts (issue 14): each school's provider as an allauth app,
and who may sign in through it.

A school's provider (``SignInProvider``) becomes an OpenID Connect app of its own, known to
allauth as ``school-<code>`` (its URLs, its ``SocialAccount`` rows). Google Workspace for
Education is OpenID Connect too (issuer https://accounts.google.com), so one provider class
serves every school and each school keeps its own client: allauth's Google provider has one
fixed login URL, which many schools' apps cannot share. For Google the hosted-domain claim
(``hd``) must also be one of the school's domains: a personal Google account can carry an
address of any domain.

Nobody signs up. An identity signs in only when the provider vouches for its e-mail address
(``email_verified``), the address is in one of the school's domains, and it is the address
of an active member of that school (case-insensitive); the identity is then connected to that
member. The same is checked at every sign-in, so a member switched off or given another
address stops signing in at once. Anything else is refused (``Refused``) and nothing is
written.

The client secret is never stored: the row names a file (or an environment variable) that
holds it, read when allauth asks for the app.
"""

import dataclasses
import enum
import logging
import os
import re
from typing import Any
from urllib.parse import urlsplit

from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import AuthProcess
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import SignInProvider, User
from portfolio.actor import Actor
from portfolio.audit import audit_write, update_audited
from portfolio.models import School

log = logging.getLogger(__name__)

OIDC = "openid_connect"  # allauth's provider class
PROVIDER_PREFIX = "school-"
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# What the service sets; the form (accounts.signin_forms) cleans each of them.
FIELDS = (
    "kind",
    "issuer",
    "client_id",
    "secret_file",
    "secret_env",
    "email_domains",
    "label_zh",
    "label_en",
    "enabled",
)


# --- Configuration ----------------------------------------------------------------------


@transaction.atomic
def signin_provider_save(
    *, school: School, data: dict[str, Any], by: Actor | None
) -> tuple[SignInProvider, bool]:
    """Set ``school``'s provider to ``data`` (every name of FIELDS, as the form cleans it).
    Returns the row and whether anything changed; the same data again changes nothing."""
    row = SignInProvider.objects.select_for_update().filter(school=school).first()
    if row is None:
        row = SignInProvider.objects.create(school=school, **data)
        audit_write(school=school, by=by, action="signin.configure", target=row, changes=dict(data))
        return row, True
    changes = update_audited(
        row, data, school=school, by=by, action="signin.configure", only_if_changed=True
    )
    return row, bool(changes)


def enabled_providers() -> QuerySet[SignInProvider]:
    return SignInProvider.objects.filter(enabled=True).select_related("school")


def issuer_origins() -> list[str]:
    """The origins of every enabled provider: a sign-in form's redirect goes there."""
    origins = {origin_of(issuer) for issuer in enabled_providers().values_list("issuer", flat=True)}
    return sorted(origins)


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(url: str) -> bool:
    return (urlsplit(url).hostname or "") in LOOPBACK_HOSTS


# --- The providers as allauth apps ------------------------------------------------------


class SecretUnavailable(Exception):
    pass


def unavailable_message() -> str:
    """What a person is told when their school's provider cannot be used now (its secret
    unreadable, the provider down), in the active language."""
    return _(
        "This school's sign-in is not available right now. Sign in with your username and "
        "password, or try again later."
    )


def read_secret(provider: SignInProvider) -> str:
    """The client secret, from the file or the environment variable the row names."""
    if provider.secret_file:
        try:
            with open(provider.secret_file, encoding="utf-8") as handle:
                secret = handle.read().strip()
        except OSError as exc:
            raise SecretUnavailable(
                _("%(file)s cannot be read (%(error)s)")
                % {"file": provider.secret_file, "error": exc.strerror}
            ) from exc
    else:
        secret = os.environ.get(provider.secret_env, "").strip()
    if not secret:
        raise SecretUnavailable(
            _("%(source)s is empty or not set")
            % {"source": provider.secret_file or provider.secret_env}
        )
    return secret


def apps(*, provider: str | None = None, client_id: str | None = None) -> list[SocialApp]:
    """The enabled providers as allauth apps (not saved), for ``SocialAccountAdapter.list_apps``:
    all of them, or the one whose provider id (``school-<code>``) is ``provider``."""
    rows = enabled_providers()
    if provider and provider != OIDC:
        if not provider.startswith(PROVIDER_PREFIX):
            return []
        rows = rows.filter(school__code=provider.removeprefix(PROVIDER_PREFIX))
    if client_id:
        rows = rows.filter(client_id=client_id)
    found = []
    for row in rows:
        try:
            secret = read_secret(row)
        except SecretUnavailable as exc:
            # Not offered until the operator fixes it; the sign-in page says it is unavailable.
            log.error("school %s: sign-in provider left out, its secret: %s", row.school.code, exc)
            continue
        found.append(app_for(row, secret))
    return found


def app_for(row: SignInProvider, secret: str) -> SocialApp:
    auth_params = {}
    if row.is_google:
        # Google's account chooser, narrowed to the school's Workspace (a hint; ``hd`` is
        # checked on the answer); "*" when the school has several domains.
        domains = row.email_domains
        auth_params = {"hd": domains[0] if len(domains) == 1 else "*", "prompt": "select_account"}
    return SocialApp(
        provider=OIDC,
        provider_id=row.provider_id,
        name=row.school.name,
        client_id=row.client_id,
        secret=secret,
        settings={
            "server_url": row.issuer,
            "oauth_pkce_enabled": True,
            "auth_params": auth_params,
        },
    )


def provider_for(provider_id: str) -> SignInProvider | None:
    if not provider_id.startswith(PROVIDER_PREFIX):
        return None
    code = provider_id.removeprefix(PROVIDER_PREFIX)
    return enabled_providers().filter(school__code=code).first()


# --- Who signs in -----------------------------------------------------------------------


class Reason(enum.Enum):
    UNVERIFIED = "unverified"
    DOMAIN = "domain"
    NOT_ON_ROSTER = "not_on_roster"
    LINKED_ELSEWHERE = "linked_elsewhere"
    INCONSISTENT = "inconsistent"
    NOT_SIGN_IN = "not_sign_in"
    UNAVAILABLE = "unavailable"


class Refused(Exception):
    def __init__(self, reason: Reason, *, school: School | None = None, email: str = "") -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.school = school
        self.email = email

    def message(self, language: str) -> str:
        """What the person is told, in the active language."""
        school = self.school.display_name(language) if self.school else ""
        words = {"school": school, "email": self.email}
        if self.reason is Reason.UNVERIFIED:
            return _(
                "Your school account did not give a verified e-mail address, so it cannot be "
                "matched to a member of the school. Ask your school's IT staff to check the "
                "account, or sign in with your username and password."
            )
        if self.reason is Reason.DOMAIN:
            return (
                _(
                    "%(email)s is not an address of %(school)s's accounts. Sign in with the "
                    "account your school gave you."
                )
                % words
            )
        if self.reason is Reason.NOT_ON_ROSTER:
            return (
                _(
                    "%(email)s is not on %(school)s's list of members. Students: ask the "
                    "registry office (註冊組) or the school's administrator to enter this address "
                    "for you. Staff: ask the school's administrator."
                )
                % words
            )
        if self.reason is Reason.LINKED_ELSEWHERE:
            return (
                _(
                    "This school account is linked to another member of %(school)s. Ask the "
                    "school's administrator to check the members' e-mail addresses."
                )
                % words
            )
        return _(
            "Signing in with your school's account did not work. Try again, or sign in with "
            "your username and password."
        )


@dataclasses.dataclass(frozen=True)
class Identity:
    """What the provider says of the person, from the ID token and the user info."""

    email: str
    email_verified: bool
    hosted_domain: str

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2].lower()


def identity_of(extra_data: dict[str, Any]) -> Identity:
    userinfo = extra_data.get("userinfo") or {}
    id_token = extra_data.get("id_token") or {}
    if userinfo and id_token and str(userinfo.get("sub")) != str(id_token.get("sub")):
        # OpenID Connect Core 5.3.2: user info about someone else is not to be used.
        raise Refused(Reason.INCONSISTENT)
    claims = {**id_token, **userinfo}
    verified = claims.get("email_verified")
    return Identity(
        email=str(claims.get("email") or "").strip(),
        email_verified=verified is True or str(verified).lower() == "true",
        hosted_domain=str(claims.get("hd") or "").lower(),
    )


def member_for(provider: SignInProvider, identity: Identity) -> User:
    """The active member of the provider's school whose e-mail address ``identity`` has."""
    school = provider.school
    if not identity.email or not identity.email_verified:
        raise Refused(Reason.UNVERIFIED, school=school)
    domains = provider.email_domains
    if identity.domain not in domains or (
        provider.is_google and identity.hosted_domain not in domains
    ):
        raise Refused(Reason.DOMAIN, school=school, email=identity.email)
    member = (
        User.objects.filter(
            email__iexact=identity.email,
            is_active=True,
            memberships__school=school,
            memberships__is_active=True,
        )
        .distinct()
        .first()
    )
    if member is None:
        raise Refused(Reason.NOT_ON_ROSTER, school=school, email=identity.email)
    return member


def member_for_login(
    *, provider_id: str, extra_data: dict[str, Any], process: str, linked: User | None
) -> User:
    """The member an identity signs in as, or ``Refused``: ``linked`` is the user the identity
    was connected to at an earlier sign-in, if any."""
    if process != AuthProcess.LOGIN:
        # Connecting an account by hand, or allauth's bare redirect: not offered here.
        raise Refused(Reason.NOT_SIGN_IN)
    provider = provider_for(provider_id)
    if provider is None:
        raise Refused(Reason.UNAVAILABLE)
    member = member_for(provider, identity_of(extra_data))
    if linked is not None and linked.pk != member.pk:
        raise Refused(Reason.LINKED_ELSEWHERE, school=provider.school)
    return member
