from django.apps import AppConfig


class CertificationConfig(AppConfig):
    """Teachers' certification."""

    name = "certification"
