"""How a built roster package reaches the central database, chosen by ``CENTRAL_TRANSPORT``.

- ``download`` (the default): the office downloads the workbook (and files zip) and uploads
  them on the central database's site, as schools do today; submitting records that it did.
- ``http``: the platform sends the workbook itself over the 2018 upload protocol
  (``submissions.transports.http``) to ``CENTRAL_HTTP_URL``, and a periodic task polls for the
  answer. Pointed at the simulated central database in the demo and the tests.
"""

from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from submissions.models import RosterPackage
    from submissions.transports.base import Outgoing
    from submissions.transports.http import HttpTransport

TRANSPORTS = ("download", "http")


def transport_name() -> str:
    name = getattr(settings, "CENTRAL_TRANSPORT", "download") or "download"
    if name not in TRANSPORTS:
        raise ValueError(f"CENTRAL_TRANSPORT must be one of {TRANSPORTS}, not {name!r}")
    return name


def transport() -> "HttpTransport":
    """The transport that sends packages (only ``http`` sends anything)."""
    from submissions.transports.http import HttpTransport

    return HttpTransport(
        settings.CENTRAL_HTTP_URL,
        settings.CENTRAL_API_KEY,
        timeout=getattr(settings, "CENTRAL_HTTP_TIMEOUT", 30),
    )


def outgoings(package: "RosterPackage") -> list["Outgoing"]:
    """What the transport sends of ``package``, in order: its workbook, then (rosters 25 and
    26) the zip of its files with the same name ending in ``.zip``; each named and summed."""
    from submissions.transports.base import Outgoing

    def named(file_name: str, field, sha256: str) -> Outgoing:
        return Outgoing(
            school_code=package.school.code,
            roc_year=package.school_year.roc_year,
            term=package.term_number,
            roster=package.roster,
            file_name=file_name,
            open=lambda: field.open("rb"),
            sha256=sha256,
        )

    files = [named(package.file_name, package.workbook, package.workbook_sha256)]
    if package.files_zip:
        stem = package.file_name.removesuffix(".xlsx")
        files.append(named(f"{stem}.zip", package.files_zip, package.files_zip_sha256))
    return files
