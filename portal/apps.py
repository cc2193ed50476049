from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The site layer on top of the domain apps: home pages that gather every app's
    counters, the navigation, the school's schedule and audit pages, job pages, and the
    demo school. Nothing below imports it."""

    name = "portal"
