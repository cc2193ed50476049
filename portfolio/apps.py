from django.apps import AppConfig


class PortfolioConfig(AppConfig):
    """Schools, years, windows and policy."""

    name = "portfolio"

    def ready(self) -> None:
        # Names the core's audit actions.
        from portfolio import (
            audit_actions,  # noqa: F401
            calendar,
        )

        calendar.connect()
