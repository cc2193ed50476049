import logging

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.shortcuts import render

from accounts import signin

log = logging.getLogger(__name__)


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        # Accounts are created by each school's administrator, never by sign-up.
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """Sign-in with the school's accounts (accounts.signin): the apps are the schools'
    providers, and an identity signs in only as the member of the school it matches."""

    def list_apps(self, request, provider=None, client_id=None):
        return signin.apps(provider=provider, client_id=client_id)

    def is_open_for_signup(self, request, sociallogin) -> bool:
        return False

    def pre_social_login(self, request, sociallogin) -> None:
        account = sociallogin.account
        linked = sociallogin.user if sociallogin.is_existing else None
        try:
            member = signin.member_for_login(
                provider_id=account.provider,
                extra_data=account.extra_data,
                process=sociallogin.state.get("process"),
                linked=linked,
            )
        except signin.Refused as refused:
            log.info("school sign-in refused (%s, %s): %s", account.provider, account.uid, refused)
            response = render(
                request,
                "socialaccount/refused.html",
                {"message": refused.message(request.LANGUAGE_CODE)},
                status=403,
            )
            raise ImmediateHttpResponse(response) from refused
        if linked is None:
            # The first sign-in with this identity: it is the member's from now on.
            sociallogin.connect(request, member)
