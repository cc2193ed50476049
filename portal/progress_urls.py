"""The progress pages' URLs (see portal/views/progress.py)."""

from django.urls import path

from portal.views import progress

app_name = "progress"
urlpatterns = [
    # The working group's and the registry's view of a term: certification and uploads.
    path("progress/", progress.index, name="index"),
    # Every table of the page as one xlsx, a sheet each.
    path("progress/export/", progress.export, name="export"),
    # The registry asks the teachers with outcomes awaiting to certify them.
    path("progress/notify-teachers/", progress.notify_teachers, name="notify_teachers"),
]
