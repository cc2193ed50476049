"""The project's URLs: each app's own, included by name (the project imports no app)."""

from django.urls import include, path

urlpatterns = [
    path("", include("portal.root_urls")),
    path("", include("accounts.language_urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("portal.urls")),
    path("", include("portal.homeroom_urls")),
    path("", include("portal.progress_urls")),
    path("", include("portal.notices_urls")),
    path("", include("portal.operator_urls")),
    path("", include("records.urls.imports")),
    path("", include("records.urls.staff")),
    path("", include("records.urls.student")),
    path("", include("records.urls.courses")),
    path("", include("records.urls.classes")),
    path("", include("records.urls.course_enrolments")),
    path("", include("submissions.urls.extensions")),
    path("", include("submissions.urls.export")),
    path("", include("submissions.urls.school_export")),
    path("", include("submissions.urls.files")),
    path("", include("submissions.urls.performances")),
    path("", include("submissions.urls.outcomes")),
    path("", include("submissions.urls.selection")),
    path("", include("submissions.urls.rosters")),
    path("", include("submissions.urls.receipts")),
    path("", include("certification.urls")),
    path("", include("centralsim.urls")),
]
