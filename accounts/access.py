"""Access to a school's people: one helper per kind, 404 for "not found" and "not yours"."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.acting import ActingContext
from accounts.models import Deputy, Membership, User


def get_member_for(acting: ActingContext, pk: int) -> User:
    """A user who holds (or held) a role in the acting school; 404 otherwise."""
    user = User.objects.filter(pk=pk, memberships__school=acting.school).distinct().first()
    if user is None:
        raise Http404
    return user


def get_membership_for(acting: ActingContext, pk: int) -> Membership:
    return get_object_or_404(
        Membership.objects.select_related("user", "school"), pk=pk, school=acting.school
    )


def get_deputy_for(acting: ActingContext, pk: int) -> Deputy:
    return get_object_or_404(
        Deputy.objects.select_related("principal", "deputy"), pk=pk, school=acting.school
    )
