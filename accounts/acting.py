"""The acting context: in which school, in which role, and for whom a user acts now.

A user picks it once after signing in (or it is picked for them when there is only
one choice); it lives in the session and is checked again on every request, so a
membership switched off, a deputyship that ended or a school the platform operator suspended
stops working at once (and works again as soon as it is resumed).
"""

import dataclasses

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import STAFF_ROLES, Deputy, Membership, User
from accounts.platform import in_service
from portfolio.models import School

SESSION_KEY = "acting"


@dataclasses.dataclass(frozen=True)
class ActingContext:
    user: User
    membership: Membership
    deputy: Deputy | None = None

    @property
    def school(self) -> School:
        return self.membership.school

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def division(self) -> str:
        return self.membership.division

    @property
    def on_behalf_of(self) -> User | None:
        return self.deputy.principal if self.deputy else None

    @property
    def principal(self) -> User:
        """Whose work this is: the person a deputy acts for, else the user themself.
        Scopes ("my classes", "my courses") and decisions are the principal's."""
        return self.deputy.principal if self.deputy else self.user

    @property
    def is_staff_role(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def key(self) -> str:
        return f"{self.membership.pk}:{self.deputy.pk if self.deputy else ''}"


class SignedInRequest(HttpRequest):
    """A request of a signed-in user; ``ActingContextMiddleware`` sets ``acting`` (None until
    the user picks, or is given, a school and role)."""

    user: User
    acting: "ActingContext | None"


class ActingRequest(SignedInRequest):
    """The request of a view behind ``acting_required``: signed in and acting in a school."""

    acting: "ActingContext"


def contexts_for(user: User) -> list[ActingContext]:
    """Every context the user may act in today: own memberships, then deputyships."""
    memberships = list(
        in_service(Membership.objects.active())
        .filter(user=user, school__isnull=False)
        .select_related("school")
    )
    found = [ActingContext(user=user, membership=m) for m in memberships]
    deputyships = Deputy.objects.in_force_on(timezone.localdate()).filter(deputy=user)
    for deputy in deputyships.select_related("principal", "school"):
        principal_membership = (
            in_service(Membership.objects.active())
            .filter(
                user=deputy.principal,
                school=deputy.school,
                role=deputy.role,
                division=deputy.division,
            )
            .select_related("school", "user")
            .first()
        )
        if principal_membership is not None:
            found.append(ActingContext(user=user, membership=principal_membership, deputy=deputy))
    return found


def resolve(request: HttpRequest) -> ActingContext | None:
    """The context stored in the session, if it is still valid for this user today."""
    user = request.user
    if not user.is_authenticated:
        return None
    stored = request.session.get(SESSION_KEY)
    if not isinstance(stored, dict):
        return None
    membership = (
        in_service(Membership.objects.active())
        .filter(pk=stored.get("membership"))
        .select_related("school")
        .first()
    )
    if membership is None:
        return None
    deputy_id = stored.get("deputy")
    if deputy_id is None:
        if membership.user_id != user.pk:
            return None
        return ActingContext(user=user, membership=membership)
    deputy = (
        Deputy.objects.in_force_on(timezone.localdate())
        .filter(
            pk=deputy_id,
            deputy=user,
            principal_id=membership.user_id,
            school_id=membership.school_id,
            role=membership.role,
            division=membership.division,
        )
        .select_related("principal")
        .first()
    )
    if deputy is None:
        return None
    return ActingContext(user=user, membership=membership, deputy=deputy)


def remember(request: HttpRequest, context: ActingContext) -> None:
    request.session[SESSION_KEY] = {
        "membership": context.membership.pk,
        "deputy": context.deputy.pk if context.deputy else None,
    }


def suspended_school_for(user: User) -> School | None:
    """The suspended school that keeps ``user`` out: one they are a member of, when they have
    no other school or role to act in; None otherwise (and for the platform operator)."""
    if user.is_superuser:
        return None
    membership = (
        Membership.objects.active()
        .filter(user=user, school__suspended_at__isnull=False)
        .select_related("school")
        .first()
    )
    if membership is None or contexts_for(user):
        return None
    return membership.school
