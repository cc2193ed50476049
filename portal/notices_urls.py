"""The notices' URLs (see portal/views/notices.py)."""

from django.urls import path

from portal.views import notices

app_name = "notices"
urlpatterns = [
    path("notices/", notices.index, name="index"),
    path("notices/settings/", notices.email_settings, name="settings"),
]
