"""The core's audit actions: the school, its schedule and policy, background jobs."""

from django.utils.translation import gettext_lazy as _

from portfolio.audit import register_actions

register_actions(
    "schedule",
    _("School, schedule and policy"),
    {
        "school.create": _("School created"),
        "school_year.create": _("School year added"),
        "term.update": _("Term dates changed"),
        "window.create": _("Window added"),
        "window.update": _("Window changed"),
        "window.delete": _("Window removed"),
        "window.open": _("Window opened (on time, by the system)"),
        "window.closed": _("Window closed (on time, by the system)"),
        "window.scheduled": _("Window back to scheduled (its times moved)"),
        "policy.update": _("Policy changed"),
    },
)
register_actions("jobs", _("Background jobs"), {"job.start": _("Background job started")})
