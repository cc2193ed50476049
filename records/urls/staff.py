"""The offices' record pages, under ``records/`` (records/views/: one module per office)."""

from django.urls import path

from records.views import affairs, consultants, counselling, homeroom, registry

app_name = "staffrecords"
urlpatterns = [
    # Student affairs (學務處): cadre posts, clubs, attendance.
    path("records/cadre/", affairs.cadre_list, name="cadre_list"),
    path("records/cadre/add/", affairs.cadre_add, name="cadre_add"),
    path("records/cadre/<int:pk>/", affairs.cadre_edit, name="cadre_edit"),
    path("records/cadre/<int:pk>/delete/", affairs.cadre_delete, name="cadre_delete"),
    path("records/clubs/", affairs.club_list, name="club_list"),
    path("records/clubs/add/", affairs.club_add, name="club_add"),
    path("records/clubs/<int:pk>/", affairs.club_detail, name="club_detail"),
    path("records/clubs/<int:pk>/edit/", affairs.club_edit, name="club_edit"),
    path("records/clubs/<int:pk>/delete/", affairs.club_delete, name="club_delete"),
    path("records/clubs/<int:pk>/copy/", affairs.club_copy, name="club_copy"),
    path(
        "records/clubs/members/<int:pk>/delete/",
        affairs.club_member_delete,
        name="club_member_delete",
    ),
    path("records/attendance/", affairs.attendance_list, name="attendance_list"),
    path(
        "records/attendance/terms/<int:term_pk>/students/<int:student_pk>/",
        affairs.attendance_edit,
        name="attendance_edit",
    ),
    # Course consultants (課程諮詢教師): their students and consultation records.
    path("records/consultations/", consultants.consultation_list, name="consultation_list"),
    path(
        "records/consultations/students/",
        consultants.consultation_students,
        name="consultation_students",
    ),
    path("records/consultations/add/", consultants.consultation_add, name="consultation_add"),
    path(
        "records/consultations/<int:pk>/", consultants.consultation_edit, name="consultation_edit"
    ),
    path(
        "records/consultations/<int:pk>/delete/",
        consultants.consultation_delete,
        name="consultation_delete",
    ),
    # Counselling office (輔導處): career exploration.
    path("records/career/", counselling.career_list, name="career_list"),
    path("records/career/add/", counselling.career_add, name="career_add"),
    path("records/career/<int:pk>/", counselling.career_edit, name="career_edit"),
    path("records/career/<int:pk>/delete/", counselling.career_delete, name="career_delete"),
    # Registry (註冊組): enrolment changes and each student's history.
    path("records/changes/", registry.change_list, name="change_list"),
    path("records/changes/find/", registry.change_find, name="change_find"),
    path("records/changes/add/", registry.change_add, name="change_add"),
    path("records/changes/<int:pk>/", registry.change_edit, name="change_edit"),
    path("records/changes/<int:pk>/delete/", registry.change_delete, name="change_delete"),
    path("records/students/<int:pk>/changes/", registry.student_changes, name="student_changes"),
    # Homeroom teachers (導師): the class roster.
    path("records/roster/", homeroom.roster, name="roster"),
]
