"""The school picker's view: the person names their school and is sent to its provider."""

from allauth.socialaccount.adapter import get_adapter
from allauth.socialaccount.models import SocialApp
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import signin
from accounts.signin_forms import pick_form


@require_http_methods(["GET", "POST"])
def school_signin(request: HttpRequest) -> HttpResponse:
    """GET: the picker alone; POST: on to the school's provider (allauth's redirect, with its
    state and PKCE), as allauth's own login view does on POST."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = pick_form(request, request.POST if request.method == "POST" else None)
    if form is None:
        raise Http404
    if form.is_valid():
        try:
            provider = get_adapter(request).get_provider(request, form.provider().provider_id)
        except SocialApp.DoesNotExist:
            form.add_error("school", signin.unavailable_message())
        else:
            return provider.redirect_from_request(request)
    return render(
        request,
        "socialaccount/school_signin.html",
        {"signin_form": form, "next": request.POST.get("next") or request.GET.get("next", "")},
        status=400 if form.is_bound else 200,
    )
