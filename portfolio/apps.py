from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    """Schools, years, windows and policy."""

    name = "portfolio"
