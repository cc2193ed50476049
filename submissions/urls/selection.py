"""The student's selection for the central database (勾選), per school year (ROC number)."""

from django.urls import path

from submissions.views import selection as views

app_name = "selection"
urlpatterns = [
    path("portfolio/selection/", views.index, name="index"),
    path("portfolio/selection/<int:roc_year>/", views.select, name="select"),
    path("portfolio/selection/<int:roc_year>/preview/", views.preview, name="preview"),
    path("portfolio/selection/<int:roc_year>/confirm/", views.confirm, name="confirm"),
    path("portfolio/selection/<int:roc_year>/sheet/", views.sheet, name="sheet"),
]
