"""``manage.py centralsim accept FILE``: the simulated central database takes a roster file
(xlsx, or the files zip) directly, checks it and says what it would answer."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from centralsim import server


class Command(BaseCommand):
    help = "The simulated central database: accept a roster file and print its check's answer."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        accept = sub.add_parser("accept", help="check and keep a roster file")
        accept.add_argument("file", help="a roster file named as the central database expects")

    def handle(self, *args, **options):
        if not settings.CENTRAL_SIMULATOR:
            raise CommandError("The simulated central database is off (CENTRAL_SIMULATOR).")
        path = Path(options["file"])
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
