"""Rows of the platform operator's pages (portal/operator_urls.py): only a superuser reaches
them (tests/test_operator.py signs one in); every school role, of this school or another, gets
403 and the anonymous are sent to sign in."""

from tests.matrix import everyone


def _school(world) -> dict:
    return {"code": world["school"].code}


def _admin(world) -> dict:
    return {"code": world["school"].code, "pk": world["member"].user_id}


ROWS = {
    "operator:index": ("get", None, everyone(403, anon=302)),
    "operator:school_add": ("get", None, everyone(403, anon=302)),
    "operator:school": ("get", _school, everyone(403, anon=302)),
    "operator:school_suspend": ("post", _school, everyone(403, anon=302)),
    "operator:school_resume": ("post", _school, everyone(403, anon=302)),
    "operator:school_signin": ("get", _school, everyone(403, anon=302)),
    "operator:admin_invite": ("post", _admin, everyone(403, anon=302)),
}
