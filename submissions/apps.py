from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    """Students' and the school's submissions."""

    name = "submissions"

    def ready(self) -> None:
        # Register the portfolio-export job handler, the performances import and the
        # portfolio's section on a student's record.
        from submissions import imports, jobs, sections  # noqa: F401
