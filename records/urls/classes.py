from django.urls import path

from records.views import classes as views

app_name = "classes"
urlpatterns = [
    path("records/classes/", views.class_list, name="list"),
    path("records/classes/<int:pk>/edit/", views.class_edit, name="edit"),
]
