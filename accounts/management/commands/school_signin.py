"""Set a school's own sign-in provider (accounts.signin), from the command line or from the
environment. Safe to run again: the same settings change nothing and say so."""

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts import signin
from accounts.models import SignInProvider
from accounts.signin_forms import SignInProviderForm
from portfolio.models import School

# Command-line options and JSON keys, as the form's fields.
OPTIONS = {
    "kind": "kind",
    "issuer": "issuer",
    "client_id": "client_id",
    "secret_file": "secret_file",
    "secret_env": "secret_env",
    "domains": "email_domains",
    "label_zh": "label_zh",
    "label_en": "label_en",
    "enabled": "enabled",
}


class Command(BaseCommand):
    help = (
        "Set school CODE's sign-in provider: its members then sign in with the school's own "
        "accounts (Google Workspace for Education, or an OpenID Connect provider such as the "
        "education cloud), matched by verified e-mail address to the members the school "
        "administrator created. Options not given keep their current values. With --from-env, "
        "every school in PORTFOLIO_SCHOOL_SIGNIN (or the file PORTFOLIO_SCHOOL_SIGNIN_FILE): a "
        'JSON list of objects {"school": CODE, "kind", "issuer", "client_id", "secret_file" or '
        '"secret_env", "domains", "label_zh", "label_en", "enabled"}.'
    )

    def add_arguments(self, parser):
        parser.add_argument("code", nargs="?", help="the school code, 6 digits")
        parser.add_argument(
            "--from-env", action="store_true", help="apply PORTFOLIO_SCHOOL_SIGNIN instead"
        )
        parser.add_argument("--kind", choices=["google", "oidc"])
        parser.add_argument("--issuer", help="the issuer URL (oidc; Google's is known)")
        parser.add_argument("--client-id", dest="client_id")
        secret = parser.add_mutually_exclusive_group()
        secret.add_argument("--secret-file", dest="secret_file", help="a file holding the secret")
        secret.add_argument(
            "--secret-env", dest="secret_env", help="an environment variable holding it"
        )
        parser.add_argument("--domains", help="allowed e-mail domains, comma-separated")
        parser.add_argument("--label-zh", dest="label_zh", help="the button's Chinese text")
        parser.add_argument("--label-en", dest="label_en", help="the button's English text")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--disable", dest="enabled", action="store_false", default=None)
        state.add_argument("--enable", dest="enabled", action="store_true")

    def handle(self, *args, **options):
        if options["from_env"]:
            if options["code"]:
                raise CommandError(_("Give a school code or --from-env, not both."))
            for entry in _from_env():
                code = str(entry.pop("school", ""))
                self._configure(code, {OPTIONS[k]: v for k, v in entry.items() if k in OPTIONS})
            return
        if not options["code"]:
            raise CommandError(_("Give a school code, or --from-env."))
        given = {
            field: options[name] for name, field in OPTIONS.items() if options[name] is not None
        }
        self._configure(options["code"], given)

    def _configure(self, code: str, given: dict[str, Any]) -> None:
        school = School.objects.filter(code=code).first()
        if school is None:
            raise CommandError(_("No school has the code %s.") % code)
        row = SignInProvider.objects.filter(school=school).first()
        for source, other in (("secret_file", "secret_env"), ("secret_env", "secret_file")):
            if given.get(source):
                given.setdefault(other, "")  # a secret's new source replaces the old one
        data = {**SignInProviderForm.initial_for(row), **given}
        if isinstance(data.get("email_domains"), list):
            data["email_domains"] = ",".join(data["email_domains"])
        form = SignInProviderForm(data)
        if not form.is_valid():
            problems = "; ".join(
                f"{field}: {' '.join(str(m) for m in messages)}"
                for field, messages in form.errors.items()
            )
            raise CommandError(f"{code}: {problems}")
        row, changed = signin.signin_provider_save(
            school=school, data=form.provider_data(), by=None
        )
        words = {"code": code, "provider": row.get_kind_display(), "id": row.provider_id}
        if changed:
            self.stdout.write(_("set: school %(code)s signs in with %(provider)s (%(id)s)") % words)
        else:
            self.stdout.write(_("unchanged: school %(code)s (%(id)s)") % words)


def _from_env() -> list[dict[str, Any]]:
    raw = settings.SCHOOL_SIGNIN
    if not raw.strip():
        raise CommandError(_("PORTFOLIO_SCHOOL_SIGNIN (or PORTFOLIO_SCHOOL_SIGNIN_FILE) is empty."))
    try:
        entries = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise CommandError(_("PORTFOLIO_SCHOOL_SIGNIN is not JSON: %s") % exc) from exc
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CommandError(_("PORTFOLIO_SCHOOL_SIGNIN must be a JSON list of objects."))
    return entries
