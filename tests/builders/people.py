"""Schools with a school year, members, signed-in clients, acting contexts, pages in English."""

import datetime as dt

from django.conf import settings
from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.acting import SESSION_KEY, ActingContext
from accounts.models import Division, Membership, Role
from portfolio import services
from portfolio.lib import roc

PASSWORD = "a-Strong-test-password-1"


def make_school_with_year(code: str, name: str, roc_year: int):
    school = services.school_create(code=code, name=name, by=None)
    y = roc_year + roc.ROC_OFFSET
    services.school_year_create(
        school=school,
        roc_year=roc_year,
        terms=[
            {
                "number": 1,
                "starts_on": dt.date(y, 8, 30),
                "closing_day": dt.date(y + 1, 1, 20),
                "ends_on": dt.date(y + 1, 1, 31),
            },
            {
                "number": 2,
                "starts_on": dt.date(y + 1, 2, 11),
                "closing_day": dt.date(y + 1, 6, 30),
                "ends_on": dt.date(y + 1, 7, 31),
            },
        ],
        by=None,
    )
    return school


def client_for(membership: Membership) -> Client:
    """A client signed in and acting in ``membership``."""
    client = Client()
    client.force_login(membership.user)
    session = client.session
    session[SESSION_KEY] = {"membership": membership.pk, "deputy": None}
    session.save()
    return client


def english(client: Client) -> Client:
    """Pages in English, as if the user had switched the language."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def english_client(membership: Membership) -> Client:
    return english(client_for(membership))


def acting(membership: Membership, deputy=None) -> ActingContext:
    """The acting context of ``membership`` (a deputy acting for its user, when given)."""
    return ActingContext(
        user=membership.user if deputy is None else deputy.deputy,
        membership=membership,
        deputy=deputy,
    )


def deputy_client(school, make_member, role) -> tuple[Client, Membership, Membership]:
    """A client acting as a deputy for a member of ``role``: (client, principal, deputy)."""
    principal = make_member(school, role)
    deputy = make_member(school, Role.TEACHER)
    record = account_services.deputy_create(
        school=school,
        role=role,
        division=Division.DAY,
        principal=principal.user,
        deputy=deputy.user,
        order=1,
        starts_on=timezone.localdate() - dt.timedelta(days=1),
        ends_on=timezone.localdate() + dt.timedelta(days=30),
        by=None,
    )
    client = Client()
    client.force_login(deputy.user)
    session = client.session
    session[SESSION_KEY] = {"membership": principal.pk, "deputy": record.pk}
    session.save()
    return english(client), principal, deputy
