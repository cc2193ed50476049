"""The offices' rosters for the central database (名冊): state per school year, the grade
pre-check per term, builds, submission and reopening."""

from django.urls import path

from submissions.views import rosters as views

app_name = "rosters"
urlpatterns = [
    path("submissions/rosters/", views.index, name="index"),
    path("submissions/rosters/<int:roc_year>/", views.year_page, name="year"),
    path("submissions/rosters/<int:roc_year>/build/", views.build, name="build"),
    path("submissions/rosters/packages/<int:pk>/", views.package, name="package"),
    path("submissions/rosters/packages/<int:pk>/submit/", views.submit, name="submit"),
    path("submissions/rosters/packages/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("submissions/rosters/packages/<int:pk>/poll/", views.poll, name="poll"),
    path("submissions/rosters/packages/<int:pk>/workbook/", views.workbook, name="workbook"),
    path("submissions/rosters/packages/<int:pk>/files/", views.files_zip, name="files"),
    path(
        "submissions/rosters/terms/<int:term_pk>/precheck/",
        views.precheck_start,
        name="precheck_start",
    ),
    path("submissions/rosters/prechecks/<int:pk>/", views.precheck, name="precheck"),
    path("submissions/rosters/prechecks/<int:pk>/file/", views.precheck_file, name="precheck_file"),
]
