"""The offices' record pages, under ``records/`` (see records/views_staff.py)."""

from django.urls import path

from records import views_staff as views

app_name = "staffrecords"
urlpatterns = [
    # Student affairs (學務處): cadre posts, clubs, attendance.
    path("records/cadre/", views.cadre_list, name="cadre_list"),
    path("records/cadre/add/", views.cadre_add, name="cadre_add"),
    path("records/cadre/<int:pk>/", views.cadre_edit, name="cadre_edit"),
    path("records/cadre/<int:pk>/delete/", views.cadre_delete, name="cadre_delete"),
    path("records/clubs/", views.club_list, name="club_list"),
    path("records/clubs/add/", views.club_add, name="club_add"),
    path("records/clubs/<int:pk>/", views.club_detail, name="club_detail"),
    path("records/clubs/<int:pk>/edit/", views.club_edit, name="club_edit"),
    path("records/clubs/<int:pk>/delete/", views.club_delete, name="club_delete"),
    path("records/clubs/<int:pk>/copy/", views.club_copy, name="club_copy"),
    path(
        "records/clubs/members/<int:pk>/delete/",
        views.club_member_delete,
        name="club_member_delete",
    ),
    path("records/attendance/", views.attendance_list, name="attendance_list"),
    path(
        "records/attendance/terms/<int:term_pk>/students/<int:student_pk>/",
        views.attendance_edit,
        name="attendance_edit",
    ),
    # Course consultants (課程諮詢教師): their students and consultation records.
    path("records/consultations/", views.consultation_list, name="consultation_list"),
    path(
        "records/consultations/students/",
        views.consultation_students,
        name="consultation_students",
    ),
    path("records/consultations/add/", views.consultation_add, name="consultation_add"),
    path("records/consultations/<int:pk>/", views.consultation_edit, name="consultation_edit"),
    path(
        "records/consultations/<int:pk>/delete/",
        views.consultation_delete,
        name="consultation_delete",
    ),
    # Counselling office (輔導處): career exploration.
    path("records/career/", views.career_list, name="career_list"),
    path("records/career/add/", views.career_add, name="career_add"),
    path("records/career/<int:pk>/", views.career_edit, name="career_edit"),
    path("records/career/<int:pk>/delete/", views.career_delete, name="career_delete"),
    # Registry (註冊組): enrolment changes and each student's history.
    path("records/changes/", views.change_list, name="change_list"),
    path("records/changes/find/", views.change_find, name="change_find"),
    path("records/changes/add/", views.change_add, name="change_add"),
    path("records/changes/<int:pk>/", views.change_edit, name="change_edit"),
    path("records/changes/<int:pk>/delete/", views.change_delete, name="change_delete"),
    path("records/students/<int:pk>/changes/", views.student_changes, name="student_changes"),
    # Homeroom teachers (導師): the class roster.
    path("records/roster/", views.roster, name="roster"),
]
