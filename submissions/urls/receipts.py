"""The registry's receipts from the central database (收訖明細)."""

from django.urls import path

from submissions.views import receipts as views

app_name = "receipts"
urlpatterns = [
    path("submissions/receipts/", views.index, name="index"),
    path("submissions/receipts/import/", views.import_start, name="import"),
    path("submissions/receipts/fetch/", views.fetch_start, name="fetch"),
    path("submissions/receipts/jobs/<int:pk>/", views.job, name="job"),
    path("submissions/receipts/<int:pk>/", views.detail, name="detail"),
    path("submissions/receipts/<int:pk>/release/", views.release, name="release"),
]
urlpatterns += [
    path("submissions/receipts/<int:pk>/students/<int:student_pk>/", views.student, name="student"),
    path(
        "submissions/receipts/<int:pk>/students/<int:student_pk>/paper/",
        views.paper,
        name="paper",
    ),
    path("submissions/my-receipt/", views.mine, name="mine"),
    path("submissions/my-receipt/<int:pk>/", views.mine, name="mine_receipt"),
    path("submissions/my-receipt/<int:pk>/answer/", views.answer, name="answer"),
    path("submissions/disputes/", views.disputes, name="disputes"),
    path("submissions/disputes/<int:pk>/reply/", views.dispute_reply, name="dispute_reply"),
]
urlpatterns += [
    path("submissions/receipts/<int:pk>/students/", views.students, name="students"),
    path("submissions/receipts/<int:pk>/export/", views.export, name="export"),
    path("submissions/receipts/<int:pk>/remind/", views.remind, name="remind"),
    path("submissions/receipts/<int:pk>/letters/", views.letters, name="letters"),
    path("submissions/receipts/letters/<int:pk>/", views.letters_file, name="letters_file"),
]
