from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """School records."""

    name = "records"

    def ready(self) -> None:
        from records import jobs  # noqa: F401 - registers the import job handlers
