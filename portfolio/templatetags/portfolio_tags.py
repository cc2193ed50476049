from django import template
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from portfolio.models import WindowState

register = template.Library()


@register.simple_tag
def window_status(window, now) -> dict:
    """A window's state at ``now`` in words, for chips: never colour alone."""
    state = window.due_state(now)
    if state == WindowState.OPEN:
        days = window.days_left(now)
        text = ngettext("Open: %(days)d day left", "Open: %(days)d days left", days) % {
            "days": days
        }
    elif state == WindowState.SCHEDULED:
        text = _("Opens %(day)s") % {"day": date_format(localtime(window.starts_at), "Y-m-d")}
    else:
        text = _("Closed %(day)s") % {"day": date_format(localtime(window.ends_at), "Y-m-d")}
    return {"state": state, "text": text}
