"""The homeroom pages' URLs (see portal/views/homeroom.py)."""

from django.urls import path

from portal.views import homeroom

app_name = "homeroom"
urlpatterns = [
    # The class at a glance: each student's outcomes, performances, selection, requests.
    path("homeroom/class/", homeroom.matrix, name="matrix"),
    path("homeroom/class/export/", homeroom.export, name="export"),
    path("homeroom/class/remind/", homeroom.remind, name="remind"),
]
