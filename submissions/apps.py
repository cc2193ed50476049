from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    """Students' and the school's submissions."""

    name = "submissions"
