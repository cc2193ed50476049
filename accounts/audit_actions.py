"""Audit actions of members, roles and deputies, of the platform operator and of the schools'
sign-in providers."""

from django.utils.translation import gettext_lazy as _

from portfolio.audit import register_actions

register_actions(
    "people",
    _("Members and deputies"),
    {
        "member.create": _("Member added"),
        "member.update": _("Member's name or e-mail changed"),
        "member.set_password": _("Member's password set"),
        "membership.add": _("Role given"),
        "membership.activate": _("Role switched on"),
        "membership.deactivate": _("Role switched off"),
        "deputy.create": _("Deputy appointed"),
        "deputy.update": _("Deputyship changed"),
        "deputy.delete": _("Deputyship removed"),
    },
)

register_actions(
    "platform",
    _("Platform operator"),
    {
        "school.suspend": _("School suspended by the platform operator"),
        "school.resume": _("School resumed by the platform operator"),
        "school.admin_invite": _("Sign-in link sent to a school administrator"),
    },
)

register_actions(
    "signin",
    _("Sign-in with the school's accounts"),
    {"signin.configure": _("School's sign-in provider set up or changed")},
)
