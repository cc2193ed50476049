from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    """Students' and the school's submissions."""

    name = "submissions"

    def ready(self) -> None:
        from submissions import jobs  # noqa: F401 - registers the portfolio-export job handler
