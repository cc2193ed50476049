from django.urls import path

from submissions.views import school_export as views

app_name = "schoolexport"
urlpatterns = [
    # The whole school's data as a zip, for its school administrator, kept for two days.
    path("school/export/", views.school_export_index, name="index"),
    path("school/export/<int:pk>/", views.school_export_detail, name="detail"),
    path("school/export/<int:pk>/download/", views.school_export_download, name="download"),
]
