"""``/healthz``: whether the database, the cache and the task broker answer.

200 when all three do, 503 otherwise, the JSON saying which is down. It answers within
seconds whatever is down: a refused connection fails at once, PostgreSQL is given up on after
its ``connect_timeout``, Redis (cache and broker) after its connect timeout, with no retry.
"""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the database, the cache and the task broker, as JSON."""
    checks = {"database": _check_database(), "cache": _check_cache(), "broker": _check_broker()}
    healthy = all(item["ok"] for item in checks.values())
    return JsonResponse({"ok": healthy, "checks": checks}, status=200 if healthy else 503)


def _check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - a health check reports every failure
        return {"ok": False, "error": exc.__class__.__name__}


def _check_cache() -> dict:
    try:
        # The Redis cache takes Redis being down as misses (portfolio/cache.py); ask it.
        probe = getattr(cache, "probe", None)
        if probe is not None:
            probe()
        cache.set("healthz", "1", 10)
        return {
            "ok": cache.get("healthz") == "1",
            "backend": str(settings.CACHES["default"]["BACKEND"]).rsplit(".", 1)[-1],
        }
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": exc.__class__.__name__}


def _check_broker() -> dict:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return {"ok": True, "mode": "eager"}
    from portfolio.celery import app

    try:
        with app.connection_for_write() as conn:
            # One attempt: a retry would only make the answer late.
            conn.ensure_connection(max_retries=0, timeout=2)
        return {"ok": True, "mode": "broker"}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "mode": "broker", "error": exc.__class__.__name__}
