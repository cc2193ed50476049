"""The registry's rosters for the central database (名冊): pre-check per term."""

from django.urls import path

from submissions.views import rosters as views

app_name = "rosters"
urlpatterns = [
    path("submissions/rosters/", views.index, name="index"),
    path(
        "submissions/rosters/terms/<int:term_pk>/precheck/",
        views.precheck_start,
        name="precheck_start",
    ),
    path("submissions/rosters/prechecks/<int:pk>/", views.precheck, name="precheck"),
    path("submissions/rosters/prechecks/<int:pk>/file/", views.precheck_file, name="precheck_file"),
]
