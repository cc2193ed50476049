from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """School records."""

    name = "records"

    def ready(self) -> None:
        # Registers the import job handlers and names this app's audit actions.
        from records import audit_actions, jobs  # noqa: F401
