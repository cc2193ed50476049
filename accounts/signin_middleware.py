"""The content security policy of the pages whose forms lead to a school's provider.

The site's policy sends forms only to itself (``form-action 'self'``), and browsers apply
that to where a form's answer redirects too: the school picker and allauth's "continue to
the provider" page answer with a redirect to the provider, so on those pages the enabled
providers' origins are added."""

from django.http import HttpRequest, HttpResponse

from accounts import signin

PAGES = {"account_login", "accounts:school_signin", "openid_connect_login"}


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
