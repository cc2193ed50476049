"""The simulated central database from the command line:

- ``manage.py centralsim accept FILE`` takes a roster file (xlsx, or the files zip)
  directly, checks it and says what it would answer;
- ``manage.py centralsim receipt SCHOOL_CODE ROC_YEAR [--drop ID] [--alter ID] [--out DIR]``
  keeps the instructions given (for this and later receipts), makes the school year's
  receipt (收訖明細), writes the zip to DIR and prints its name and password.
"""

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from centralsim import receipts, server
from centralsim.models import TweakAction
from portfolio.lib import national_id


class Command(BaseCommand):
    help = "The simulated central database: accept a roster file, or make a receipt."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        accept = sub.add_parser("accept", help="check and keep a roster file")
        accept.add_argument("file", help="a roster file named as the central database expects")
        made = sub.add_parser("receipt", help="make a school year's receipt (收訖明細)")
        made.add_argument("school_code", help="the school's 6-digit code")
        made.add_argument("roc_year", type=int, help="the school year, in ROC numbering")
        made.add_argument(
            "--drop", action="append", default=[], metavar="NATIONAL_ID",
            help="drop this student's first line (kept for later receipts too)",
        )  # fmt: skip
        made.add_argument(
            "--alter", action="append", default=[], metavar="NATIONAL_ID",
            help="alter this student's first line (kept for later receipts too)",
        )  # fmt: skip
        made.add_argument("--out", default=".", help="the folder the zip goes to")

    def handle(self, *args, **options):
        if not settings.CENTRAL_SIMULATOR:
            raise CommandError("The simulated central database is off (CENTRAL_SIMULATOR).")
        if options["action"] == "receipt":
            self._receipt(options)
        else:
            self._accept(Path(options["file"]))

    def _accept(self, path: Path) -> None:
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with path.open("rb") as file:
            try:
                received = server.accept_file(file, path.name)
            except server.Refused as refusal:
                raise CommandError(str(refusal)) from None
        self.stdout.write(f"{server.SIMULATION} FID {received.pk}: {received.file_name}")
        if received.is_accepted:
            self.stdout.write("accepted")
            return
        for problem in received.problems:
            where = f"{problem['sheet']} row {problem['row']}" if problem["row"] else "file"
            self.stdout.write(
                f"{where} {problem['field']}: {problem['message']} ({problem['code']})"
            )
        raise CommandError(f"{len(received.problems)} errors")

    def _receipt(self, options) -> None:
        code, year = options["school_code"], options["roc_year"]
        if not receipts.SCHOOL_CODE.match(code) or not 1 <= year <= 999:
            raise CommandError("Give a 6-digit school code and a school year such as 114.")
        out = Path(options["out"])
        if not out.is_dir():
            raise CommandError(f"No such folder: {out}")
        wanted = [(TweakAction.DROP, n) for n in options["drop"]]
        wanted += [(TweakAction.ALTER, n) for n in options["alter"]]
        for _action, number in wanted:
            if national_id.problem(number) is not None:
                raise CommandError(f"Not a valid national ID: {national_id.mask(number)}")
        for action, number in wanted:
            receipts.tweak_add(school_code=code, national_id_text=number, action=action)
        try:
            made = receipts.receipt_make(code, year)
        except server.Refused as refusal:
            raise CommandError(str(refusal)) from None
        target = out / made.file_name
        with made.file.open("rb") as source, target.open("wb") as copy:
            shutil.copyfileobj(source, copy)
        self.stdout.write(f"{server.SIMULATION} {made.file_name}")
        self.stdout.write(f"password: {made.password}")
        counts = made.counts
        self.stdout.write(
            f"students {counts['students']}, dropped {counts['dropped']}, "
            f"altered {counts['altered']}: {target}"
        )
