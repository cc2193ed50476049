from portal.navigation import links_for


def acting(request):
    context = getattr(request, "acting", None)
    return {"acting": context, "nav_links": links_for(context)}
