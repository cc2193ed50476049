from django.shortcuts import render

from accounts import acting, platform

# Pages a member of a suspended school still reaches: signing out and the other account
# pages (allauth's), the language switch, the health check, a published schedule.
OPEN_WHILE_SUSPENDED = {"set_language", "healthz", "portal:public_schedule"}


class ActingContextMiddleware:
    """Sets ``request.acting``: the ActingContext the user picked, or None.

    A member whose schools are all suspended (accounts.platform) gets, instead of any page
    that needs a school, a page that says so and whom to ask (403).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.acting = acting.resolve(request)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.acting is not None or not request.user.is_authenticated:
            return None
        if view_func.__module__.startswith("allauth."):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OPEN_WHILE_SUSPENDED:
            return None
        school = acting.suspended_school_for(request.user)
        if school is None:
            return None
        contacts = platform.suspension_contacts(school)
        is_admin = any(admin.pk == request.user.pk for admin in contacts.admins)
        return render(
            request,
            "accounts/platform/suspended.html",
            {
                "suspended_school": school,
                "contacts": contacts,
                "is_admin": is_admin,
                "school_name": school.display_name(request.LANGUAGE_CODE),
            },
            status=403,
        )
