"""Rows of the sign-in with the school's accounts: the school picker (accounts.signin_views)
and allauth's social-account pages. This school has a provider (built below); the pages are
for people not signed in, so the signed-in are sent home (the picker) or see the same page as
anyone (allauth's). The callback without a state of the flow is refused (401)."""

import os

from accounts import signin
from tests.matrix import everyone

SECRET_ENV = "PORTFOLIO_MATRIX_SIGNIN_SECRET"


def build(world, make_member) -> None:
    os.environ.setdefault(SECRET_ENV, "matrix-client-secret")
    world["signin_provider"], _changed = signin.signin_provider_save(
        school=world["school"],
        data={
            "kind": "oidc",
            # A closed port: the provider fails at once, without a lookup on the network.
            "issuer": "https://127.0.0.1:9",
            "client_id": "portfolio",
            "secret_file": "",
            "secret_env": SECRET_ENV,
            "email_domains": ["example.edu.tw"],
            "label_zh": "",
            "label_en": "",
            "enabled": True,
        },
        by=None,
    )


def _provider(world) -> dict:
    return {"provider_id": world["signin_provider"].provider_id}


ROWS = {
    "accounts:school_signin": ("get", None, everyone(302, anon=200)),
    "openid_connect_login": ("get", _provider, everyone(200)),
    "openid_connect_callback": ("get", _provider, everyone(401)),
    "socialaccount_login_cancelled": ("get", None, everyone(200)),
    "socialaccount_login_error": ("get", None, everyone(401)),
    "socialaccount_signup": ("get", None, everyone(302)),
    "socialaccount_connections": ("get", None, everyone(200, anon=302)),
}
