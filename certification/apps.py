from django.apps import AppConfig


class CertificationConfig(AppConfig):
    """Teachers' certification."""

    name = "certification"

    def ready(self) -> None:
        # Names this app's audit actions.
        from certification import audit_actions  # noqa: F401
