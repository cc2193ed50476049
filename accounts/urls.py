from django.urls import path

from accounts import signin_views, views

app_name = "accounts"
urlpatterns = [
    path("switch/", views.switch, name="switch"),
    path("signin/school/", signin_views.school_signin, name="school_signin"),
    path("manage/members/", views.members, name="members"),
    path("manage/members/add/", views.member_add, name="member_add"),
    path("manage/members/<int:pk>/", views.member_edit, name="member_edit"),
    path("manage/roles/<int:pk>/toggle/", views.membership_toggle, name="membership_toggle"),
    path("manage/deputies/", views.deputies, name="deputies"),
    path("manage/deputies/add/", views.deputy_add, name="deputy_add"),
    path("manage/deputies/<int:pk>/", views.deputy_edit, name="deputy_edit"),
    path("manage/deputies/<int:pk>/delete/", views.deputy_delete, name="deputy_delete"),
]
