from django.urls import path

from submissions.views import extensions as views

app_name = "extensions"
urlpatterns = [
    # The registry opens a student's upload window late, and may end it early.
    path("records/extensions/", views.extension_list, name="list"),
    path("records/extensions/add/", views.extension_add, name="add"),
    path("records/extensions/<int:pk>/end/", views.extension_end, name="end"),
]
