"""Sign-in limits: one address must not lock a school out, and guessing stays slow.

A school's students share one address (the Wi-Fi's NAT), and behind a proxy the socket's
address is the proxy's. allauth refuses even the right password once a limit is reached, so
the per-address limits are sized for a school's rush; the per-account one stops guessing.
"""

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from accounts.models import Role
from tests.builders.people import PASSWORD

SCHOOL_WIFI = "198.51.100.20"
PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def _clear_rate_limits():
    cache.clear()


def sign_in(login: str, password: str, *, address: str = SCHOOL_WIFI, forwarded: str = ""):
    client = Client(REMOTE_ADDR=address)
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    response = client.post(
        reverse("account_login"), {"login": login, "password": password}, **headers
    )
    return response, client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_a_student_signs_in_where_another_user_failed_ten_times(school, make_member):
    make_member(school, Role.STUDENT, username="mistyper")
    make_member(school, Role.STUDENT, username="student")
    for _ in range(10):
        sign_in("mistyper", "wrong")
    _response, client = sign_in("student", PASSWORD)
    assert signed_in(client)


def test_a_whole_class_mistyping_once_still_signs_in(school, make_member):
    """Forty students behind one address, each mistyping once, all then sign in."""
    for n in range(40):
        make_member(school, Role.STUDENT, username=f"c{n}")
    for n in range(40):
        sign_in(f"c{n}", "wrong")
    assert all(signed_in(sign_in(f"c{n}", PASSWORD)[1]) for n in range(40))


def test_guessing_from_one_address_is_still_stopped(school, make_member):
    """A run across many accounts from one address: after 60 failures in a minute, every
    sign-in from it waits, the right password included."""
    make_member(school, Role.STUDENT, username="target")
    for n in range(60):
        sign_in(f"nobody{n}", "guess")
    response, client = sign_in("target", PASSWORD)
    assert not signed_in(client)
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()


def test_the_per_account_limit_holds_from_any_address(school, make_member):
    make_member(school, Role.STUDENT, username="target")
    for n in range(5):
        sign_in("target", "guess", address=f"192.0.2.{n}")
    _response, client = sign_in("target", PASSWORD, address="192.0.2.200")
    assert not signed_in(client)


def test_a_forwarded_address_is_not_believed_without_a_trusted_proxy(school, make_member):
    """With no proxy trusted (the default) a client cannot pick its own bucket by sending
    X-Forwarded-For: its failures count against its own address."""
    make_member(school, Role.STUDENT, username="target")
    for n in range(60):
        sign_in(f"nobody{n}", "guess", forwarded=f"203.0.113.{n}")
    _response, client = sign_in("target", PASSWORD, forwarded="203.0.113.250")
    assert not signed_in(client)


def test_behind_the_trusted_proxy_each_client_has_its_own_address(school, make_member, settings):
    """Behind the proxy (TRUSTED_PROXY_COUNT=1) the socket is always the proxy's: the
    address it appends to X-Forwarded-For is the client's, and one client's failures do
    not stop another's sign-in."""
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    make_member(school, Role.STUDENT, username="student")
    for n in range(60):
        sign_in(f"nobody{n}", "guess", address=PROXY, forwarded="spoofed, 203.0.113.9")
    _response, blocked = sign_in("student", PASSWORD, address=PROXY, forwarded="203.0.113.9")
    assert not signed_in(blocked)
    _response, other = sign_in("student", PASSWORD, address=PROXY, forwarded="203.0.113.10")
    assert signed_in(other)
