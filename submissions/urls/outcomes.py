from django.urls import path

from submissions.views import outcomes as views

app_name = "outcomes"
urlpatterns = [
    # The student's portfolio: every outcome and performance, per school year and term.
    path("portfolio/", views.portfolio, name="portfolio"),
    # Course outcomes (課程學習成果): upload, change, withdraw, send for certification.
    path("portfolio/outcomes/add/", views.add, name="add"),
    path("portfolio/outcomes/<int:pk>/edit/", views.edit, name="edit"),
    path("portfolio/outcomes/<int:pk>/replace/", views.replace, name="replace"),
    path("portfolio/outcomes/<int:pk>/restore/", views.restore, name="restore"),
    path("portfolio/outcomes/<int:pk>/withdraw/", views.withdraw, name="withdraw"),
    path("portfolio/outcomes/<int:pk>/submit/", views.submit, name="submit"),
]
