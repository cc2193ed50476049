"""Forms of the sign-in with the school's accounts: the school picked on the sign-in page, and
a school's provider as the operator sets it (``manage.py school_signin``; an operator's page
can use the same form)."""

import re
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import signin
from accounts.models import GOOGLE_ISSUER, SignInKind, SignInProvider
from portfolio.forms import Form, choice_field

DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


class SchoolPickForm(Form):
    """The school whose accounts a person signs in with, among those with a provider."""

    school = forms.ChoiceField(label=_("Your school"))

    def __init__(self, *args, providers: list[SignInProvider], language: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.providers = {p.school.code: p for p in providers}
        self.language = language
        field = choice_field(self, "school")
        field.choices = [
            (p.school.code, f"{p.school.code} {p.school.display_name(language)}") for p in providers
        ]
        if len(providers) > 1:
            field.choices = [("", _("Pick your school")), *field.choices]

    def provider(self) -> SignInProvider:
        return self.providers[self.cleaned_data["school"]]

    @property
    def button_label(self) -> str:
        """The one school's own words for its button, when only one school is offered."""
        if len(self.providers) == 1:
            return next(iter(self.providers.values())).label(self.language)
        return ""


class SignInProviderForm(Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=SignInKind.choices)
    issuer = forms.URLField(
        label=_("Issuer URL"),
        required=False,
        assume_scheme="https",
        help_text=_("Where the provider publishes /.well-known/openid-configuration; https."),
    )
    client_id = forms.CharField(label=_("Client ID"), max_length=255)
    secret_file = forms.CharField(
        label=_("File holding the client secret"), max_length=500, required=False
    )
    secret_env = forms.CharField(
        label=_("Environment variable holding the client secret"),
        max_length=100,
        required=False,
    )
    email_domains = forms.CharField(
        label=_("Allowed e-mail domains"),
        max_length=1000,
        help_text=_("Comma-separated, such as mail.example.edu.tw."),
    )
    label_zh = forms.CharField(label=_("Button text (Chinese)"), max_length=60, required=False)
    label_en = forms.CharField(label=_("Button text (English)"), max_length=60, required=False)
    enabled = forms.BooleanField(label=_("Offered on the sign-in page"), required=False)

    @staticmethod
    def initial_for(row: SignInProvider | None) -> dict[str, Any]:
        """A row's values as the form takes them (nothing for a school without one)."""
        if row is None:
            return {"enabled": True}
        values = {name: getattr(row, name) for name in signin.FIELDS}
        values["email_domains"] = ",".join(row.email_domains)
        return values

    def clean_email_domains(self) -> list[str]:
        raw = self.cleaned_data["email_domains"]
        domains = [d.strip().lower() for d in re.split(r"[,\s]+", raw) if d.strip()]
        wrong = [d for d in domains if not DOMAIN.fullmatch(d)]
        if wrong:
            raise ValidationError(
                _("Not a domain: %(domains)s."), params={"domains": ", ".join(wrong)}
            )
        if not domains:
            raise ValidationError(_("Name at least one domain."))
        return sorted(set(domains))

    def clean_secret_env(self) -> str:
        name = self.cleaned_data["secret_env"].strip()
        if name and not signin.ENV_NAME.fullmatch(name):
            raise ValidationError(_("An environment variable's name: capitals, digits and _."))
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        issuer = (data.get("issuer") or "").rstrip("/")
        if data["kind"] == SignInKind.GOOGLE:
            if issuer and issuer != GOOGLE_ISSUER:
                self.add_error("issuer", _("Google's issuer is %s.") % GOOGLE_ISSUER)
            issuer = GOOGLE_ISSUER
        elif not issuer:
            self.add_error("issuer", _("An OpenID Connect provider needs its issuer URL."))
        elif urlsplit(issuer).scheme != "https" and not signin.is_loopback(issuer):
            self.add_error("issuer", _("The issuer must be reached over https."))
        data["issuer"] = issuer
        if bool(data["secret_file"]) == bool(data["secret_env"]):
            self.add_error(
                None, _("Give the client secret's file or its environment variable (one).")
            )
        elif data["enabled"]:
            probe = SignInProvider(secret_file=data["secret_file"], secret_env=data["secret_env"])
            try:
                signin.read_secret(probe)
            except signin.SecretUnavailable as exc:
                field = "secret_file" if data["secret_file"] else "secret_env"
                self.add_error(field, _("The client secret cannot be read: %s") % exc)
        return data

    def provider_data(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in signin.FIELDS}


def pick_form(request, data=None) -> SchoolPickForm | None:
    """The sign-in page's school picker, or None where no school offers its own accounts."""
    providers = list(signin.enabled_providers().order_by("school__code"))
    if not providers:
        return None
    return SchoolPickForm(data, providers=providers, language=request.LANGUAGE_CODE)
