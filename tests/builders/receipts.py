"""Receipts as the central database would give them back for submitted packages, built from
the packages' own workbooks (what the simulated central database does, kept apart so that the
platform's import is tested against the format, not against the simulator)."""

import io
from collections import defaultdict

from submissions.central import receipt as fmt
from submissions.models import RosterPackage

PASSWORD = "收訖-Pass-2026"


def receipt_parts(packages: list[RosterPackage]) -> dict[str, dict]:
    """{root: document} with every line the packages sent."""
    parts: dict[str, dict] = {}
    students: dict[str, dict[tuple[str, str], dict]] = defaultdict(dict)
    for package in packages:
        with package.workbook.open("rb") as workbook:
            lines = list(fmt.roster_lines(workbook))
        root = fmt.root_of(package.roster)
        part = parts.setdefault(root, {fmt.INFO: [], root: []})
        part[fmt.INFO].append({"名稱": package.file_name, "SHA": package.workbook_sha256})
        for line in lines:
            entry = students[root].setdefault(
                (line.national_id, line.birth_date),
                {"身分證號": line.national_id, "出生日期": line.birth_date},
            )
            entry.setdefault(line.sheet, []).append(line.record)
    for root, entries in students.items():
        parts[root][root] = list(entries.values())
    return parts


def receipt_file(
    packages: list[RosterPackage], *, password: str = PASSWORD, prefix: str = "", parts=None
) -> bytes:
    parts = parts if parts is not None else receipt_parts(packages)
    code = packages[0].school.code if packages else "000000"
    buffer = io.BytesIO()
    fmt.receipt_write(buffer, prefix=prefix or f"{code}_115", parts=parts, password=password)
    return buffer.getvalue()


def entry_of(parts: dict, root: str, national_id: str) -> dict:
    return next(e for e in parts[root][root] if e["身分證號"] == national_id)
