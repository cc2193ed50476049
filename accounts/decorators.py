"""Access to pages by acting role. Objects are then fetched through ``get_<thing>_for``."""

import functools
from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from accounts import acting
from portfolio.lib import roc
from portfolio.models import SchoolPolicy


def acting_required(*roles: str) -> Callable:
    """Signed in, acting in a school, in one of ``roles`` (any role when none given).

    Staff of a school whose policy for the current year requires two-factor sign-in
    are sent to set it up before anything else.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            context = request.acting
            if context is None:
                choices = acting.contexts_for(request.user)
                if len(choices) == 1:
                    # Nothing to pick: act in the only role there is.
                    context = request.acting = choices[0]
                    acting.remember(request, context)
            if context is None:
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('accounts:switch')}?{query}")
            if roles and context.role not in roles:
                raise PermissionDenied
            if context.is_staff_role and _two_factor_missing(context):
                messages.warning(
                    request,
                    _(
                        "Your school requires staff to use two-factor sign-in. "
                        "Set up an authenticator app to continue."
                    ),
                )
                return redirect("mfa_activate_totp")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _two_factor_missing(context) -> bool:
    required = (
        SchoolPolicy.objects.filter(
            school=context.school,
            school_year__roc_year=roc.current_school_year(),
        )
        .values_list("staff_require_2fa", flat=True)
        .first()
    )
    if not required:
        return False
    return not Authenticator.objects.filter(
        user=context.user, type=Authenticator.Type.TOTP
    ).exists()
