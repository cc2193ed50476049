from django.urls import path

from records.views import student as views

app_name = "basicdata"
urlpatterns = [
    # The student's own basic data and correction requests.
    path("basic-data/", views.mine, name="mine"),
    path("basic-data/corrections/new/", views.correction_add, name="correction_add"),
    # The offices' queue of correction requests.
    path("records/corrections/", views.corrections, name="corrections"),
    path("records/corrections/export/", views.corrections_export, name="corrections_export"),
    path("records/corrections/<int:pk>/", views.correction_detail, name="correction"),
    # A student's record for staff; the edit and the national-ID reveal are the registry's.
    path("records/students/<int:pk>/", views.student_detail, name="student"),
    path("records/students/<int:pk>/edit/", views.student_edit, name="student_edit"),
    path(
        "records/students/<int:pk>/national-id/",
        views.national_id_reveal,
        name="national_id",
    ),
]
