"""Create a school with its first administrator, as the operator's page does. Safe to run again:
the same arguments change nothing and say so; another name for an existing code is refused."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts import platform


class Command(BaseCommand):
    help = (
        "Create the school CODE (6 digits) named NAME with EMAIL as its first school "
        "administrator, who is e-mailed a sign-in link. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("code", help="the school code, 6 digits")
        parser.add_argument("name", help="the school's name")
        parser.add_argument(
            "--admin", required=True, metavar="EMAIL", help="its first administrator"
        )
        parser.add_argument("--name-en", default="", help="the school's English name")
        parser.add_argument(
            "--continuing",
            action="store_true",
            help="the school has a continuing-education division",
        )

    def handle(self, *args, **options):
        try:
            done = platform.school_create(
                code=options["code"],
                name=options["name"],
                name_en=options["name_en"],
                continuing=options["continuing"],
                admin_email=options["admin"],
                by=None,
            )
        except ValidationError as exc:
            raise CommandError(_problems(exc)) from exc
        words = {
            "code": done.school.code,
            "name": done.school.name,
            "email": done.admin.email,
            "username": done.admin.username,
        }
        if done.school_created:
            self.stdout.write(_("created: school %(code)s %(name)s") % words)
        else:
            self.stdout.write(_("already there: school %(code)s %(name)s") % words)
        if not done.admin_added:
            self.stdout.write(_("already there: %(email)s is an administrator of %(code)s") % words)
        elif done.account_created:
            self.stdout.write(
                _(
                    "created: account %(username)s for %(email)s, e-mailed a link to set its password"
                )
                % words
            )
        else:
            self.stdout.write(
                _(
                    "added: %(email)s (existing account %(username)s) as an administrator of "
                    "%(code)s, e-mailed a link to sign in"
                )
                % words
            )


def _problems(error: ValidationError) -> str:
    if hasattr(error, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items()
        )
    return " ".join(error.messages)
