from django.conf import settings
from django.urls import include, path

from portfolio import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("portfolio.site_urls")),
    path("", include("records.urls_imports")),
    path("", include("records.urls_staff")),
    path("", include("records.urls_student")),
    path("", include("records.urls_courses")),
    path("", include("records.urls_classes")),
    path("", include("records.urls_course_enrolments")),
    path("", include("submissions.urls_extensions")),
    path("", include("submissions.urls_export")),
    path("", include("submissions.urls_files")),
    path("", include("submissions.urls_performances")),
    path("", include("submissions.urls_outcomes")),
    path("", include("certification.urls")),
]

if settings.BENCH_VIEWS:
    urlpatterns.append(path("bench/bare/", views.bare, name="bench_bare"))
