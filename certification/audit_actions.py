"""Audit actions of certification."""

from django.utils.translation import gettext_lazy as _

from portfolio.audit import register_actions

register_actions(
    "certification",
    _("Certification"),
    {
        "outcome.certify": _("Course outcome certified"),
        "outcome.reject": _("Course outcome sent back"),
        "outcome.undo": _("Decision on a course outcome undone by whoever made it"),
        "outcome.reopen": _("Decision on a course outcome reopened by the registry"),
    },
)
register_actions(
    "concerns",
    _("Concerns about certification"),
    {
        "concern.raise": _("Concern raised by the student about a decision"),
        "concern.reply": _("Message in a concern's thread"),
    },
)
register_actions(
    "notices",
    _("Notices"),
    {
        "notices.teachers_behind": _("Teachers with outcomes awaiting asked by the registry"),
        "notices.homeroom_remind": _("Students reminded by their homeroom teacher"),
    },
)
