"""The content security policy of the pages whose forms lead to a school's provider.

The site's policy sends forms only to itself (``form-action 'self'``), and browsers apply
that to where a form's answer redirects too: the school picker and allauth's "continue to
the provider" page answer with a redirect to the provider, so on those pages the enabled
providers' origins are added.

A school's provider that cannot be reached, or that answers its discovery document with
something else, stops allauth's views with the error (its login view catches none): the
person is told the school's sign-in is not available now, and the log says why."""

import logging

import requests
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts import signin

PAGES = {"account_login", "accounts:school_signin", "openid_connect_login"}
PROVIDER_VIEWS = {"openid_connect_login", "openid_connect_callback"}
# What allauth's OpenID Connect views raise when the provider is down or answers nonsense.
PROVIDER_FAILURES = (requests.RequestException, ValueError, KeyError)
log = logging.getLogger(__name__)


class SignInFormActionMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if (
            match is not None
            and match.view_name in PAGES
            and response.get("Content-Type", "").startswith("text/html")
        ):
            origins = signin.issuer_origins()
            if origins:
                response._csp_update = {"form-action": origins}
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.view_name not in PROVIDER_VIEWS:
            return None
        if not isinstance(exception, PROVIDER_FAILURES):
            return None
        log.warning(
            "school sign-in provider %s unavailable: %r", match.kwargs.get("provider_id"), exception
        )
        return render(
            request, "socialaccount/unavailable.html", {"message": signin.unavailable_message()}
        )
