from django.urls import path

from records.views import imports as views

app_name = "imports"
urlpatterns = [
    path("records/imports/", views.index, name="index"),
    path("records/imports/templates/<str:kind>.xlsx", views.template, name="template"),
    path("records/imports/<int:pk>/", views.detail, name="detail"),
    path("records/imports/<int:pk>/apply/", views.apply, name="apply"),
    path("records/imports/<int:pk>/export.xlsx", views.export, name="export"),
]
