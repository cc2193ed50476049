"""Diverse performances: the student's pages under ``portfolio/``, the offices' under
``records/`` (see submissions/views/performances.py)."""

from django.urls import path

from submissions.views import performances as views

app_name = "performances"
urlpatterns = [
    # The student (學生): their own items.
    path("portfolio/performances/add/", views.add, name="add"),
    path("portfolio/performances/<int:pk>/edit/", views.edit, name="edit"),
    path("portfolio/performances/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    # The offices: items the school enters (imports: records/imports/, kind performances).
    path("records/performances/", views.staff_list, name="staff_list"),
    path("records/performances/add/", views.staff_add, name="staff_add"),
    path("records/performances/<int:pk>/", views.staff_edit, name="staff_edit"),
    path("records/performances/<int:pk>/delete/", views.staff_delete, name="staff_delete"),
]
