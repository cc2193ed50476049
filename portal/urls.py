from django.urls import path

from portal.views import audit, jobs, schedule

app_name = "portal"
urlpatterns = [
    path("schools/<str:code>/schedule/", schedule.public_schedule, name="public_schedule"),
    path("manage/schedule/", schedule.schedule, name="schedule"),
    path("manage/schedule/years/add/", schedule.year_add, name="year_add"),
    path("manage/schedule/terms/<int:pk>/", schedule.term_edit, name="term_edit"),
    path("manage/schedule/windows/add/", schedule.window_add, name="window_add"),
    path("manage/schedule/windows/<int:pk>/", schedule.window_edit, name="window_edit"),
    path("manage/schedule/windows/<int:pk>/delete/", schedule.window_delete, name="window_delete"),
    path("manage/policy/<int:roc_year>/", schedule.policy_edit, name="policy_edit"),
    path("manage/audit/", audit.audit_list, name="audit"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job"),
    path("jobs/<int:pk>/status/", jobs.job_status, name="job_status"),
]
