from django.urls import path

from portfolio import views

app_name = "portfolio"
urlpatterns = [
    path("schools/<str:code>/schedule/", views.public_schedule, name="public_schedule"),
    path("manage/schedule/", views.schedule, name="schedule"),
    path("manage/schedule/years/add/", views.year_add, name="year_add"),
    path("manage/schedule/terms/<int:pk>/", views.term_edit, name="term_edit"),
    path("manage/schedule/windows/add/", views.window_add, name="window_add"),
    path("manage/schedule/windows/<int:pk>/", views.window_edit, name="window_edit"),
    path("manage/schedule/windows/<int:pk>/delete/", views.window_delete, name="window_delete"),
    path("manage/policy/<int:roc_year>/", views.policy_edit, name="policy_edit"),
    path("manage/audit/", views.audit_list, name="audit"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/status/", views.job_status, name="job_status"),
]
