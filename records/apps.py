from django.apps import AppConfig


class RecordsConfig(AppConfig):
    """School records."""

    name = "records"
