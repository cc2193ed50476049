"""The simulated central database: its protocol endpoints (CENTRAL_HTTP_URL points here in
the demo), the page of what it received, and its receipts and their instructions."""

from django.urls import path

from centralsim import views

app_name = "centralsim"
urlpatterns = [
    path("centralsim/iscom_api/iscom_get_public_key_api.ashx", views.public_key, name="public_key"),
    path("centralsim/iscom_api/iscom_upload_file_api.ashx", views.upload, name="upload"),
    path(
        "centralsim/iscom_api/iscom_call_for_uploadfile_ready_api.ashx",
        views.file_ready,
        name="file_ready",
    ),
    path("centralsim/iscom_api/iscom_call_for_status_api.ashx", views.status, name="status"),
    path("centralsim/iscom_api/iscom_call_for_receipt_api.ashx", views.receipt, name="receipt"),
    path("centralsim/", views.received, name="received"),
    path("centralsim/<int:pk>/", views.received_detail, name="received_detail"),
    path("centralsim/receipts/make/", views.receipt_make, name="receipt_make"),
    path("centralsim/receipts/<int:pk>/", views.receipt_download, name="receipt_download"),
    path("centralsim/instructions/add/", views.tweak_add, name="tweak_add"),
    path("centralsim/instructions/<int:pk>/delete/", views.tweak_delete, name="tweak_delete"),
]
