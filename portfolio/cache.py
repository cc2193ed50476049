"""The Redis cache, made to outlive Redis: while Redis does not answer, the site keeps serving.

Django's ``RedisCache`` raises when Redis is down, and every signed-in request reads its
session through the cache (``cached_db`` sessions), so a stopped Redis would stop the site.
``FaultTolerantRedisCache`` takes a connection error or a timeout as a miss instead: reads
return the default, writes are dropped, and a warning goes to the log (once a minute at most).
Sessions then come from the database, which holds them all anyway. After a failure Redis is
left alone for ``RETRY_AFTER_SECONDS`` (every operation a miss), so a Redis that hangs costs
a process one timeout (settings: half a second) every two seconds, not one per operation.

``add`` answers True when Redis does not answer, as if the key had been stored: its callers
here are allauth's rate-limit lock and its record of used TOTP codes, and a False would
refuse every sign-in while Redis is down. So while Redis is down, sign-in limits are not
counted and a TOTP code could be used twice within its 90 seconds (both come back with Redis).

A write that was dropped would leave Redis holding what it held before, served again once
Redis is back: a session signed out during the outage, a session whose acting context
changed. So the keys of dropped writes are kept (by this process, up to ``STALE_KEYS_KEPT``)
and deleted as soon as Redis answers again, before anything else is read from it.
"""

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisConnectionError, RedisTimeoutError)
WARN_EVERY_SECONDS = 60.0
RETRY_AFTER_SECONDS = 2.0
STALE_KEYS_KEPT = 50_000

# What this process knows of Redis being down, shared by its threads (Django keeps one cache
# object per thread): when it last said so and, by server, until when it is left alone and
# the keys of the writes dropped.
_lock = threading.Lock()
_warned_at: list[float] = []
_down_until: dict[str, float] = {}
_stale: dict[str, set[tuple[Any, int | None]]] = {}


def _warn(operation: str, exc: Exception) -> None:
    now = time.monotonic()
    with _lock:
        if _warned_at and now - _warned_at[0] < WARN_EVERY_SECONDS:
            return
        _warned_at[:] = [now]
    logger.warning(
        "Redis cache unreachable (%s on %s): served as a miss; said at most once a minute",
        exc.__class__.__name__,
        operation,
    )


class FaultTolerantRedisCache(RedisCache):
    """Django's Redis cache taking connection errors and timeouts as misses (see above)."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = server if isinstance(server, str) else ",".join(server)

    def _settle(self) -> None:
        """Delete the keys of writes dropped while Redis was down; raises if it still is."""
        if not _stale.get(self._location):
            return
        with _lock:
            stale = set(_stale.get(self._location, ()))
        by_version: dict[int | None, list[Any]] = {}
        for key, version in stale:
            by_version.setdefault(version, []).append(key)
        for version, keys in by_version.items():
            super().delete_many(keys, version=version)
        with _lock:
            _stale[self._location] -= stale
        logger.warning("Redis cache back: %d keys written while it was down deleted", len(stale))

    def _call(self, operation: str, call: Callable[[], Any], default: Any, written=()) -> Any:
        if time.monotonic() < _down_until.get(self._location, 0.0):
            return self._missed(default, written)
        try:
            self._settle()
            return call()
        except UNREACHABLE as exc:
            self._went_down()
            _warn(operation, exc)
            return self._missed(default, written)

    def _went_down(self) -> None:
        with _lock:
            _down_until[self._location] = time.monotonic() + RETRY_AFTER_SECONDS

    def _missed(self, default: Any, written) -> Any:
        if written:
            with _lock:
                stale = _stale.setdefault(self._location, set())
                stale.update(list(written)[: max(STALE_KEYS_KEPT - len(stale), 0)])
        return default

    def probe(self) -> None:
        """Raise if Redis does not answer now (for /healthz: the other methods hide it)."""
        try:
            self._settle()
            super().has_key("healthz:probe")
        except UNREACHABLE:
            self._went_down()
            raise
        with _lock:
            _down_until.pop(self._location, None)

    def get(self, key, default=None, version=None):
        return self._call("get", partial(super().get, key, default, version), default)

    def get_many(self, keys, version=None):
        return self._call("get_many", partial(super().get_many, keys, version), {})

    def has_key(self, key, version=None):
        return self._call("has_key", partial(super().has_key, key, version), False)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", partial(super().add, key, value, timeout, version), True)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", partial(super().touch, key, timeout, version), False)

    def incr(self, key, delta=1, version=None):
        missing = object()
        value = self._call("incr", partial(super().incr, key, delta, version), missing)
        if value is missing:
            raise ValueError(f"Key '{key}' not found (Redis unreachable)")
        return value

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        call = partial(super().set, key, value, timeout, version)
        self._call("set", call, None, written=[(key, version)])

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        keys = list(data)
        call = partial(super().set_many, data, timeout, version)
        return self._call("set_many", call, keys, written=[(key, version) for key in keys])

    def delete(self, key, version=None):
        call = partial(super().delete, key, version)
        return self._call("delete", call, False, written=[(key, version)])

    def delete_many(self, keys, version=None):
        keys = list(keys)
        call = partial(super().delete_many, keys, version)
        self._call("delete_many", call, None, written=[(key, version) for key in keys])

    def clear(self):
        return self._call("clear", super().clear, False)
