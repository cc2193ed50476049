"""The platform operator's pages (superusers only), under /operator/."""

from django.urls import path

from portal.views import operator

app_name = "operator"
urlpatterns = [
    path("operator/", operator.index, name="index"),
    path("operator/schools/add/", operator.school_add, name="school_add"),
    path("operator/schools/<str:code>/", operator.school_detail, name="school"),
    path("operator/schools/<str:code>/suspend/", operator.school_suspend, name="school_suspend"),
    path("operator/schools/<str:code>/resume/", operator.school_resume, name="school_resume"),
    path("operator/schools/<str:code>/signin/", operator.school_signin, name="school_signin"),
    path(
        "operator/schools/<str:code>/admins/<int:pk>/invite/",
        operator.admin_invite,
        name="admin_invite",
    ),
]
