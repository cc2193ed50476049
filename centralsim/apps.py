from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CentralsimConfig(AppConfig):
    name = "centralsim"
    verbose_name = _("Simulated central database")
