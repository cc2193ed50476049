"""The permission matrix assembled: every URL's row (the core's here, each area's in
tests/matrix/), the world of objects its rows open, and a client for each actor."""

import datetime as dt
import importlib
import pkgutil

from django.test import Client
from django.utils import timezone

from accounts import services as account_services
from accounts.models import Division, Role
from portfolio import services
from portfolio.models import Job, Term
from tests import matrix
from tests.builders.people import client_for
from tests.matrix import (
    ACTORS,
    OTHER_DIVISION,
    OUTSIDER_ROLE,
    admin_only,
    everyone,
)

ADMIN = Role.SCHOOL_ADMIN.value
# A job is seen only by the user who started it: here the school admin of ``world``.
JOB_ROW = {**dict.fromkeys(ACTORS, 404), "anon": 302}

# name -> (method, kwargs builder, expected status per actor)
CORE_ROWS = {
    "home": ("get", None, everyone(200, anon=302)),
    "healthz": ("get", None, everyone(200)),
    "set_language": ("post", None, everyone(302)),
    "portal:public_schedule": ("get", lambda w: {"code": w["school"].code}, everyone(200)),
    "accounts:switch": ("get", None, everyone(200, anon=302)),
    # The school admin's pages. Lists show the acting school's own rows, so an admin of
    # another school gets 200 there (with their own data) and 404 on this school's objects.
    "accounts:members": ("get", None, admin_only(outsider=200)),
    "accounts:member_add": ("get", None, admin_only(outsider=200)),
    "accounts:member_edit": (
        "get",
        lambda w: {"pk": w["member"].user_id},
        admin_only(outsider=404),
    ),
    "accounts:membership_toggle": (
        "post",
        lambda w: {"pk": w["member"].pk},
        {**admin_only(outsider=404), ADMIN: 302},
    ),
    "accounts:deputies": ("get", None, admin_only(outsider=200)),
    "accounts:deputy_add": ("get", None, admin_only(outsider=200)),
    "accounts:deputy_edit": ("get", lambda w: {"pk": w["deputy"].pk}, admin_only(outsider=404)),
    "accounts:deputy_delete": (
        "post",
        lambda w: {"pk": w["deputy"].pk},
        {**admin_only(outsider=404), ADMIN: 302},
    ),
    "portal:schedule": ("get", None, admin_only(outsider=200)),
    "portal:year_add": ("get", None, admin_only(outsider=200)),
    "portal:term_edit": ("get", lambda w: {"pk": w["term"].pk}, admin_only(outsider=404)),
    "portal:window_add": ("get", None, admin_only(outsider=200)),
    "portal:window_edit": ("get", lambda w: {"pk": w["window"].pk}, admin_only(outsider=404)),
    "portal:window_delete": (
        "post",
        lambda w: {"pk": w["window"].pk},
        {**admin_only(outsider=404), ADMIN: 302},
    ),
    "portal:policy_edit": (
        "get",
        lambda w: {"roc_year": w["roc_year"]},
        admin_only(outsider=200),
    ),
    "portal:audit": ("get", None, admin_only(outsider=200)),
    # Sign-in and account pages (django-allauth): open to anyone signed in, the sign-in
    # pages to anyone; sign-up is closed (its page says so).
    "account_login": ("get", None, everyone(302, anon=200)),
    "account_logout": ("get", None, everyone(200, anon=302)),
    "account_inactive": ("get", None, everyone(200)),
    "account_signup": ("get", None, everyone(302, anon=200)),
    "account_reauthenticate": ("get", None, everyone(200, anon=302)),
    "account_request_reauthentication_code": ("get", None, everyone(302)),
    "account_confirm_reauthentication_code": ("get", None, everyone(302)),
    "account_email": ("get", None, everyone(200, anon=302)),
    "account_email_verification_sent": ("get", None, everyone(200)),
    "account_change_password": ("get", None, everyone(200, anon=302)),
    "account_set_password": ("get", None, everyone(302, anon=302)),
    "account_reset_password": ("get", None, everyone(200)),
    "account_confirm_login_code": ("get", None, everyone(302, anon=302)),
    "account_confirm_email": ("get", lambda w: {"key": "not-a-key"}, everyone(200)),
    "account_reset_password_from_key_done": ("get", None, everyone(200)),
    "account_reset_password_from_key": (
        "get",
        lambda w: {"uidb36": "zz", "key": "not-a-key"},
        everyone(200),
    ),
    "account_reset_password_done": ("get", None, everyone(200)),
    "mfa_index": ("get", None, everyone(200, anon=302)),
    "mfa_authenticate": ("get", None, everyone(302, anon=302)),
    "mfa_reauthenticate": ("get", None, everyone(302, anon=302)),
    # Activating two-factor asks for the password again unless the user just signed in
    # (these clients are signed in by the test, not by a fresh sign-in).
    "mfa_activate_totp": ("get", None, everyone(302)),
    "mfa_deactivate_totp": ("get", None, everyone(404, anon=302)),
    "mfa_view_recovery_codes": ("get", None, everyone(404, anon=302)),
    "mfa_generate_recovery_codes": ("get", None, everyone(302)),
    "mfa_download_recovery_codes": ("get", None, everyone(404, anon=302)),
}


CORE_ROWS.update(
    {
        "portal:job": ("get", lambda w: {"pk": w["job"].pk}, JOB_ROW),
        "portal:job_status": ("get", lambda w: {"pk": w["job"].pk}, JOB_ROW),
    }
)
MATRIX = dict(CORE_ROWS)
BUILDERS = []
for _module_info in pkgutil.iter_modules(matrix.__path__):
    _module = importlib.import_module(f"tests.matrix.{_module_info.name}")
    overlap = set(_module.ROWS) & set(MATRIX)
    assert not overlap, f"rows defined twice: {overlap}"
    MATRIX.update(_module.ROWS)
    if hasattr(_module, "build"):
        BUILDERS.append(_module.build)


def matrix_world(school, other_school, make_member, current_roc_year) -> dict:
    """This school's objects, which only its admin may reach."""
    member = make_member(school, Role.TEACHER, username="bob-teacher")
    principal = make_member(school, Role.REGISTRY, username="rita-registry")
    deputy = account_services.deputy_create(
        school=school,
        role=Role.REGISTRY,
        division=Division.DAY,
        principal=principal.user,
        deputy=member.user,
        order=1,
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + dt.timedelta(days=30),
        by=None,
    )
    term = Term.objects.get(school=school, school_year__roc_year=current_roc_year, number=1)
    starts = timezone.make_aware(dt.datetime.combine(term.starts_on, dt.time(8)))
    window = services.window_create(
        term=term,
        kind="basic_data_check",
        grade=None,
        starts_at=starts,
        ends_at=starts + dt.timedelta(days=10),
        by=None,
    )
    world = {
        "school": school,
        "other_school": other_school,
        "member": member,
        "deputy": deputy,
        "term": term,
        "window": window,
        "roc_year": current_roc_year,
        "job": Job.objects.create(school=school, kind="test", created_by=principal.user),
    }
    for build in BUILDERS:
        build(world, make_member)
    return world


def actor_client(actor, expected, world, make_member) -> Client:
    if actor == "anon":
        return Client()
    if actor == "outsider":
        role = expected.get(OUTSIDER_ROLE, Role.SCHOOL_ADMIN)
        return client_for(make_member(world["other_school"], role))
    if actor == OTHER_DIVISION:
        role = expected.get(OUTSIDER_ROLE, Role.SCHOOL_ADMIN)
        return client_for(make_member(world["school"], role, division=Division.CONTINUING))
    return client_for(make_member(world["school"], actor))
