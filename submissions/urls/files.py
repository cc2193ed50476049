from django.urls import path

from submissions.views import files as views

app_name = "files"
urlpatterns = [
    path("files/<int:pk>/download/", views.download, name="download"),
    path("files/<int:pk>/view/", views.inline, name="inline"),
]
