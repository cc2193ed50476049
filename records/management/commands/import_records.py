"""Import students, courses, enrolments, grades, cadre posts, club memberships or
attendance from an xlsx or CSV file, as the import page does, synchronously: the same
checks, the same report, all or nothing.

    python manage.py import_records students roster.xlsx --school 999001
    python manage.py import_records grades grades.csv --school 999001 --term 114-1 --dry-run
    python manage.py import_records attendance absences.xlsx --school 999001 --term 114-1
"""

import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.models import Division
from portfolio.models import School, Term
from records.imports import KINDS
from records.imports.report import as_text
from records.services.imports import import_apply, import_preview


class Command(BaseCommand):
    help = (
        "Import records from an xlsx or CSV file with the central database's column names. "
        "Prints the report; exits non-zero when any row has a problem (nothing is written "
        "then). Writes when the file is clean, unless --dry-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(KINDS))
        parser.add_argument("file", help="an .xlsx or .csv file (UTF-8 or Big5)")
        parser.add_argument("--school", required=True, help="the school's 6-digit code")
        parser.add_argument(
            "--term",
            help="ROC_YEAR-TERM, e.g. 114-1; required except for students (then it picks "
            "the school year of the classes; the current one by default)",
        )
        parser.add_argument(
            "--division",
            choices=Division.values,
            default=Division.DAY,
            help="the division of classes created by a student import (default: day)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report only; write nothing"
        )

    def handle(self, *args, **options):
        school = School.objects.filter(code=options["school"]).first()
        if school is None:
            raise CommandError(_("No school has the code %(code)s.") % {"code": options["school"]})
        term = self._term(school, options["term"])
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        arguments = {
            "kind": options["kind"],
            "file_name": path.name,
            "school": school,
            "term": term,
            "division": options["division"],
        }
        with path.open("rb") as stream:
            if options["dry_run"]:
                result = import_preview(stream=stream, **arguments)
            else:
                result = import_apply(stream=stream, by=None, **arguments)
        self.stdout.write(as_text(result, verbose=options["verbosity"] > 1))
        if not result["clean"]:
            raise CommandError(
                _("%(count)s problems found; nothing was imported.")
                % {"count": result["counts"]["errors"]}
            )

    def _term(self, school: School, text: str | None) -> Term | None:
        if not text:
            return None
        match = re.fullmatch(r"(\d{2,3})-([12])", text.strip())
        if not match:
            raise CommandError(_("Write the term as ROC_YEAR-TERM, e.g. 114-1."))
        term = (
            Term.objects.select_related("school_year")
            .filter(school=school, school_year__roc_year=int(match[1]), number=int(match[2]))
            .first()
        )
        if term is None:
            raise CommandError(
                _("School %(school)s has no term %(term)s.") % {"school": school.code, "term": text}
            )
        return term
