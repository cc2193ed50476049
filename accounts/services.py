"""Writes to people and roles. Every change is audited, with the deputy's principal."""

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Deputy, Membership, Role, User
from portfolio.actor import Actor
from portfolio.audit import audit_write, update_audited
from portfolio.models import School
from portfolio.problems import add_problem

if TYPE_CHECKING:
    from accounts.acting import ActingContext


@transaction.atomic
def member_create(
    *,
    school: School,
    username: str,
    name: str,
    email: str,
    password: str,
    role: str,
    division: str,
    by: Actor | None,
    password_hash: str | None = None,
) -> Membership:
    """A new account with its first role in ``school``.

    ``password_hash`` (an already hashed password) serves bulk creation, where hashing
    the same initial password again for every account would cost seconds each.
    """
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [_("This username is already taken.")]})
    if email and User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [_("Another account already uses this e-mail address.")]})
    user = User(username=username, name=name, email=email)
    if password_hash is not None:
        user.password = password_hash
    else:
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    user.save()
    membership = Membership.objects.create(user=user, school=school, role=role, division=division)
    audit_write(
        school=school,
        by=by,
        action="member.create",
        target=membership,
        changes={"username": username, "role": role, "division": division},
    )
    return membership


@transaction.atomic
def member_update(
    *, school: School, user: User, name: str, email: str, by: "ActingContext | None"
) -> User:
    if email and User.objects.filter(email__iexact=email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": [_("Another account already uses this e-mail address.")]})
    update_audited(
        user, {"name": name, "email": email}, school=school, by=by, action="member.update"
    )
    return user


@transaction.atomic
def member_set_password(
    *, school: School, user: User, password: str, by: "ActingContext | None"
) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.save(update_fields=["password"])
    audit_write(school=school, by=by, action="member.set_password", target=user)


@transaction.atomic
def membership_add(
    *, school: School, user: User, role: str, division: str, by: Actor | None
) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, school=school, role=role, division=division
    )
    if not created and membership.is_active:
        raise ValidationError({"role": [_("This person already has this role.")]})
    if not created:
        membership.is_active = True
        membership.save(update_fields=["is_active"])
    audit_write(
        school=school,
        by=by,
        action="membership.add",
        target=membership,
        changes={"role": role, "division": division},
    )
    return membership


@transaction.atomic
def membership_set_active(
    *, membership: Membership, active: bool, by: "ActingContext | None"
) -> Membership:
    if not active and membership.role == Role.SCHOOL_ADMIN:
        others = (
            Membership.objects.active()
            .filter(school=membership.school, role=Role.SCHOOL_ADMIN)
            .exclude(pk=membership.pk)
        )
        if not others.exists():
            raise ValidationError(_("A school keeps at least one active administrator."))
    membership.is_active = active
    membership.save(update_fields=["is_active"])
    audit_write(
        school=membership.school,
        by=by,
        action="membership.activate" if active else "membership.deactivate",
        target=membership,
    )
    return membership


def _deputy_problems(
    *,
    school: School,
    role: str,
    division: str,
    principal: User,
    deputy: User,
    order: int,
    starts_on: dt.date,
    ends_on: dt.date,
    exclude: Deputy | None,
) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if ends_on < starts_on:
        problems["ends_on"] = [_("The end date must not be before the start date.")]
    if principal.pk == deputy.pk:
        problems["deputy"] = [_("A person cannot be their own deputy.")]
    holds_role = Membership.objects.active().filter(
        school=school, user=principal, role=role, division=division
    )
    if not holds_role.exists():
        add_problem(
            problems,
            "principal",
            _("This person does not hold the chosen unit's role in this division."),
        )
    if not Membership.objects.active().filter(school=school, user=deputy).exists():
        add_problem(problems, "deputy", _("The deputy must be a member of this school."))
    same_order = Deputy.objects.filter(
        school=school, role=role, division=division, principal=principal, order=order
    )
    if exclude is not None:
        same_order = same_order.exclude(pk=exclude.pk)
    if same_order.exists():
        add_problem(
            problems, "order", _("This order is already taken in this person's deputy list.")
        )
    return problems


@transaction.atomic
def deputy_create(
    *,
    school: School,
    role: str,
    division: str,
    principal: User,
    deputy: User,
    order: int,
    starts_on: dt.date,
    ends_on: dt.date,
    by: "ActingContext | None",
) -> Deputy:
    data: dict[str, Any] = {
        "role": role,
        "division": division,
        "principal": principal,
        "deputy": deputy,
        "order": order,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    problems = _deputy_problems(school=school, exclude=None, **data)
    if problems:
        raise ValidationError(problems)
    record = Deputy.objects.create(school=school, **data)
    audit_write(
        school=school,
        by=by,
        action="deputy.create",
        target=record,
        changes={k: str(v) for k, v in data.items()},
    )
    return record


@transaction.atomic
def deputy_update(
    *,
    record: Deputy,
    role: str,
    division: str,
    principal: User,
    deputy: User,
    order: int,
    starts_on: dt.date,
    ends_on: dt.date,
    by: "ActingContext | None",
) -> Deputy:
    data: dict[str, Any] = {
        "role": role,
        "division": division,
        "principal": principal,
        "deputy": deputy,
        "order": order,
        "starts_on": starts_on,
        "ends_on": ends_on,
    }
    problems = _deputy_problems(school=record.school, exclude=record, **data)
    if problems:
        raise ValidationError(problems)
    update_audited(record, data, school=record.school, by=by, action="deputy.update")
    return record


@transaction.atomic
def deputy_delete(*, record: Deputy, by: "ActingContext | None") -> None:
    audit_write(school=record.school, by=by, action="deputy.delete", target=record)
    record.delete()
