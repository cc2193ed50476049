"""Rows of the permission matrix, one module per area; each module defines

- ``ROWS``: {url name: (method, kwargs builder or None, {actor: status})}, built with the
  helpers below; an ``OUTSIDER_ROLE`` key in a row's expectations names the role the
  user of another school acts in (default: school administrator);
- optionally ``build(world, make_member)``, adding the area's objects of this school to
  the ``world`` dict that kwargs builders read.

Actors: ``anon``, every role of this school, ``outsider`` (a user of another school).
"""

from accounts.models import Role

ROLES = [r.value for r in Role]
ACTORS = ["anon", *ROLES, "outsider"]
OUTSIDER_ROLE = "_outsider_role"


def only(
    allowed: dict[str, int],
    *,
    outsider: int,
    outsider_role: str = Role.SCHOOL_ADMIN,
    others: int = 403,
    anon: int = 302,
) -> dict[str, int | str]:
    """``allowed`` roles get their status, other roles ``others``."""
    expected: dict[str, int | str] = dict.fromkeys(ROLES, others)
    expected.update(allowed)
    expected.update({"anon": anon, "outsider": outsider, OUTSIDER_ROLE: outsider_role})
    return expected


def admin_only(*, outsider: int) -> dict[str, int | str]:
    return only({Role.SCHOOL_ADMIN: 200}, outsider=outsider)


def everyone(status: int, anon: int | None = None) -> dict[str, int | str]:
    expected: dict[str, int | str] = dict.fromkeys(ACTORS, status)
    expected["anon"] = status if anon is None else anon
    return expected
