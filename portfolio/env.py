"""Strict readers for settings taken from the environment.

Each reader refuses values it cannot interpret instead of guessing, and every text or
list may also be given as ``NAME_FILE`` (a path whose contents are the value), which is
how container orchestrators hand secrets over.

Every name asked for is remembered in ``READ``, so that a check of a deployment's
environment (deploy/prodcheck.py) can tell a variable the settings never read from one
they do.
"""

import os

from django.core.exceptions import ImproperlyConfigured

READ: set[str] = set()

_TRUE = {"1", "true", "on"}
_FALSE = {"0", "false", "off", ""}


def env_str(name: str, default: str = "") -> str:
    READ.update((name, f"{name}_FILE"))
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            with open(file_path, encoding="utf-8") as handle:
                return handle.read().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points to an unreadable file: {exc}") from exc
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    READ.add(name)
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, on/off; got {raw!r}")


def env_int(name: str, default: int) -> int:
    READ.add(name)
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer; got {raw!r}") from exc


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    """Comma-separated items (from ``NAME_FILE`` too, where commas or lines separate them)."""
    if os.environ.get(f"{name}_FILE"):
        raw: str | None = env_str(name).replace("\n", ",")
    else:
        READ.update((name, f"{name}_FILE"))
        raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]
