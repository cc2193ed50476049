"""Pages outside the ``portal`` namespace: the home page, the health check, the bench views."""

from django.conf import settings
from django.urls import path

from portal.views import health, home

urlpatterns = [
    path("", home.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
]
if settings.BENCH_VIEWS:
    urlpatterns += [
        path("bench/bare/", home.bare, name="bench_bare"),
        path("bench/upload-raw/", home.bench_upload_raw, name="bench_upload_raw"),
    ]
