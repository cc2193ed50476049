"""The language switch (Django's ``set_language``, which also keeps the language for the
person's e-mails when they are signed in)."""

from django.urls import path

from accounts.views import set_language

urlpatterns = [path("i18n/setlang/", set_language, name="set_language")]
