from django.apps import AppConfig


class SubmissionsConfig(AppConfig):
    """Students' and the school's submissions."""

    name = "submissions"

    def ready(self) -> None:
        # Register the portfolio-export job handler, the performances import, the
        # portfolio's section on a student's record and this app's audit actions.
        from submissions import audit_actions, imports, jobs, sections  # noqa: F401
