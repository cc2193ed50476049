from django.apps import AppConfig


class AccountsConfig(AppConfig):
    """People, roles, deputies and sign-in."""

    name = "accounts"
