"""The curriculum office's courses and course-code check, under ``records/courses/``."""

from django.urls import path

from records.views import courses as views

app_name = "courses"
urlpatterns = [
    path("records/courses/", views.course_list, name="list"),
    path("records/courses/export/", views.course_export, name="export"),
    path("records/courses/add/", views.course_add, name="add"),
    path("records/courses/<int:pk>/edit/", views.course_edit, name="edit"),
    path("records/courses/<int:pk>/delete/", views.course_delete, name="delete"),
    path("records/courses/check/", views.check, name="check"),
    path(
        "records/courses/check/term/<int:term_pk>/upload/",
        views.check_upload,
        name="check_upload",
    ),
    path("records/courses/check/term/<int:term_pk>/run/", views.check_run, name="check_run"),
    path("records/courses/check/<int:pk>/", views.check_detail, name="check_detail"),
    path("records/courses/check/<int:pk>/export/", views.check_export, name="check_export"),
]
