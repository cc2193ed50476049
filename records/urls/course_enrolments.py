"""One course's enrolled students and their grades, under ``records/courses/<pk>/``."""

from django.urls import path

from records.views import course_enrolments as views

app_name = "enrolments"
urlpatterns = [
    path("records/courses/<int:pk>/", views.course_detail, name="detail"),
    path("records/courses/<int:pk>/students/export/", views.course_export, name="export"),
    path("records/courses/<int:pk>/enrolments/add/", views.enrolment_add, name="add"),
    path(
        "records/courses/<int:pk>/enrolments/<int:enrolment_pk>/remove/",
        views.enrolment_remove,
        name="remove",
    ),
    path(
        "records/courses/<int:pk>/enrolments/<int:enrolment_pk>/grade/",
        views.enrolment_grade,
        name="grade",
    ),
]
