"""A URL configuration of its own for tests/test_path_tag.py: the same name, another path."""

from django.http import HttpResponse
from django.urls import include, path


def _view(request, pk: int) -> HttpResponse:
    return HttpResponse(str(pk))


files = ([path("elsewhere/<int:pk>/", _view, name="inline")], "files")
urlpatterns = [path("", include(files))]
