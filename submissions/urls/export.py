from django.urls import path

from submissions.views import export as views

app_name = "portfolioexport"
urlpatterns = [
    # A student's whole portfolio as a zip, built in the background and kept for a day.
    path("portfolio/export/", views.export_start, name="start"),
    path("portfolio/export/<int:pk>/", views.export_detail, name="detail"),
    path("portfolio/export/<int:pk>/download/", views.export_download, name="download"),
]
