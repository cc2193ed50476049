from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People, roles, deputies and sign-in."""

    name = "accounts"

    def ready(self) -> None:
        # Names this app's audit actions.
        from accounts import audit_actions  # noqa: F401
