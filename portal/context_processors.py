from accounts.notices import unread_count
from portal.navigation import links_for


def acting(request):
    context = getattr(request, "acting", None)
    return {
        "acting": context,
        "nav_links": links_for(context),
        # Called by the template only where it shows the count (one query).
        "notices_unread": (lambda: unread_count(request.user, context.school, context.role))
        if context
        else 0,
    }
