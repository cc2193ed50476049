"""The receipt (收訖明細) the central database gives back for a school year's rosters
(CENTRAL-FORMAT.md section 11), both sides: ``receipt_write`` for the simulated central
database, ``receipt_read`` for the platform's import.

A receipt is a password-protected zip of UTF-8 JSON files with a BOM and a ``SHA.txt`` that
lists each JSON file's SHA-256 (``name,sha256`` per line). A JSON file's base name holds its
kind (修課紀錄, 課程學習成果, 多元表現, 校內幹部經歷) and reads::

    {"名冊資訊": [{"名稱": roster file name, "SHA": its sha256}],
     "<root>": [{"身分證號": ..., "出生日期": ..., "<sheet>": [{record}, ...]}, ...]}

The field names inside a record are not public. The simulator writes each row of a roster
sheet as its columns after the key, with the cover's 學年度 and 學期 in front; the platform
reads records generically (``record_text``) and compares them with what it sent
(``roster_lines`` reads a submitted workbook back the same way).
"""

import dataclasses
import hashlib
import io
import json
import re
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

import openpyxl
from django.utils.translation import gettext as _

from portfolio.lib.zipcrypto import encrypted_zip
from submissions.central import v108

ROOTS = ("修課紀錄", "課程學習成果", "多元表現", "校內幹部經歷")
INFO = "名冊資訊"
SHA_FILE = "SHA.txt"
KEY = ("身分證號", "出生日期")
# Fields the simulator puts in front of a record's columns.
RECORD_HEAD = ("學年度", "學期")
GRADE_ROSTERS = {v108.GRADES_ROSTER}
CADRE_ROSTERS = {v108.CADRES_ROSTER, *(b[24] for b in v108.BATCH_ROSTERS.values())}
PERFORMANCE_ROSTERS = {
    v108.PERFORMANCES_ROSTER,
    *(b[25] for b in v108.BATCH_ROSTERS.values()),
}
CONTINUING_OUTCOME_ROSTERS = {
    v108.CONTINUING_OUTCOMES_ROSTER,
    *(b[28] for b in v108.BATCH_ROSTERS.values()),
}
OUTCOME_ROSTERS = {
    v108.OUTCOMES_ROSTER,
    *(b[26] for b in v108.BATCH_ROSTERS.values()),
    *CONTINUING_OUTCOME_ROSTERS,
}
CONTINUING_PREFIX = "進修部"
CADRE_SHEET = "幹部經歷"
# The largest a receipt's JSON file may grow when unpacked (a zip bomb stops here).
MAX_JSON_BYTES = 512 * 1024 * 1024
ROSTER_FILE = re.compile(r"^(\d{6})_(\d{2,3})_(\d)_(\d{1,2})_")


class ReceiptRefused(Exception):
    """A receipt that cannot be imported; the text (in the user's language) says why, and
    ``field`` whether the file or its password is at fault (for the import form)."""

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.field = field


def root_of(roster: int) -> str | None:
    """The receipt kind a roster's rows come back in (None: the roster has no receipt)."""
    if roster in GRADE_ROSTERS:
        return "修課紀錄"
    if roster in OUTCOME_ROSTERS:
        return "課程學習成果"
    if roster in PERFORMANCE_ROSTERS:
        return "多元表現"
    if roster in CADRE_ROSTERS:
        return "校內幹部經歷"
    return None


def receipt_sheet(roster: int, sheet: str, header: Iterable[str]) -> str:
    """The receipt's sheet key for the rows of ``sheet`` in a workbook of ``roster``."""
    if roster in CADRE_ROSTERS:
        return CADRE_SHEET
    continuing = roster in CONTINUING_OUTCOME_ROSTERS or (
        roster in GRADE_ROSTERS and "修課節數" in header
    )
    return f"{CONTINUING_PREFIX}{sheet}" if continuing else sheet


def cell_text(value: Any) -> str:
    """A cell as text, the same whether it was read from a workbook or from JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def roster_name_parts(name: str) -> tuple[str, int, int, int] | None:
    """(school code, ROC year, term, roster) from a roster file's name, or None."""
    match = ROSTER_FILE.match(name)
    if not match:
        return None
    code, year, term, roster = match.groups()
    return code, int(year), int(term), int(roster)


@dataclasses.dataclass(frozen=True)
class SheetLine:
    """A data row of a roster workbook: its sheet in the receipt and its fields."""

    root: str
    sheet: str
    national_id: str
    birth_date: str
    record: dict[str, str]


def roster_lines(file: IO[bytes]) -> Iterator[SheetLine]:
    """The data rows of a roster workbook as the receipt would carry them (nothing for a
    roster that has no receipt)."""
    book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    try:
        cover = list(book[v108.COVER_SHEET].iter_rows(min_row=2, max_row=2, values_only=True))
        _code, year, term, roster = (cell_text(v) for v in cover[0][:4])
        root = root_of(int(roster))
        if root is None:
            return
        head = {"學年度": year, "學期": term}
        for sheet in book.sheetnames[1:]:
            rows = book[sheet].iter_rows(values_only=True)
            header = [cell_text(v) for v in next(rows, ())]
            columns = header[len(KEY) :]
            name = receipt_sheet(int(roster), sheet, header)
            for row in rows:
                cells = [cell_text(v) for v in row]
                if not any(cells):
                    continue
                cells += [""] * (len(header) - len(cells))
                record = head | dict(zip(columns, cells[len(KEY) :], strict=False))
                yield SheetLine(root, name, cells[0], cells[1], record)
    finally:
        book.close()


def _json_bytes(document: dict[str, Any]) -> bytes:
    return b"\xef\xbb\xbf" + json.dumps(document, ensure_ascii=False).encode("utf-8")


def receipt_write(
    target: IO[bytes],
    *,
    prefix: str,
    parts: dict[str, dict[str, Any]],
    password: str,
) -> None:
    """Write a receipt: one JSON file per root in ``parts`` ({root: document}), named
    ``{prefix}_{root}.json``, and SHA.txt, in a zip encrypted with ``password``."""
    files = []
    for root, document in parts.items():
        files.append((f"{prefix}_{root}.json", _json_bytes(document)))
    sums = "".join(f"{name},{hashlib.sha256(data).hexdigest()}\r\n" for name, data in files)
    encrypted_zip(target, [*files, (SHA_FILE, sums.encode("utf-8"))], password)


@dataclasses.dataclass
class ReceiptPart:
    """One JSON file of a receipt: its kind, the rosters it answers and its students."""

    file_name: str
    root: str
    rosters: list[dict[str, str]]
    students: list[dict[str, Any]]


def _sums(text: str) -> dict[str, str]:
    sums = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [field.strip() for field in line.split(",")]
        digests = [f for f in fields[1:] if re.fullmatch(r"[0-9A-Fa-f]{64}", f)]
        if not fields[0] or not digests:
            raise ReceiptRefused(_("SHA.txt has a line that is not a file name and a SHA-256."))
        sums[fields[0]] = digests[0].lower()
    return sums


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, password: bytes) -> bytes:
    if info.file_size > MAX_JSON_BYTES:
        raise ReceiptRefused(_("%(name)s is too large to be a receipt.") % {"name": info.filename})
    try:
        with archive.open(info, pwd=password) as member:
            return member.read(MAX_JSON_BYTES + 1)
    except RuntimeError as error:  # zipfile's "Bad password for file"
        if "password" in str(error).lower():
            raise ReceiptRefused(
                _("The password is wrong: the receipt could not be opened with it."), "password"
            ) from None
        raise ReceiptRefused(
            _("%(name)s in the receipt could not be opened.") % {"name": info.filename}
        ) from error
    except NotImplementedError:
        raise ReceiptRefused(
            _("The receipt is encrypted in a way this platform cannot open (not ZipCrypto).")
        ) from None
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError):
        # ZipCrypto checks a password by one byte: a wrong password passes it once in 256
        # tries, and the data then fails to unpack, as a damaged file's does.
        raise ReceiptRefused(
            _(
                "%(name)s in the receipt could not be unpacked: the password is wrong, or "
                "the file is damaged."
            )
            % {"name": info.filename},
            "password",
        ) from None


def _part(name: str, data: bytes) -> ReceiptPart:
    base = name.rsplit("/", 1)[-1]
    roots = [root for root in ROOTS if root.replace("經歷", "") in base]
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise ReceiptRefused(_("%(name)s is not readable JSON.") % {"name": base}) from None
    if not isinstance(document, dict):
        raise ReceiptRefused(_("%(name)s is not a receipt file.") % {"name": base})
    root = next((r for r in ROOTS if r in document), roots[0] if roots else None)
    students = document.get(root) if root else None
    rosters = document.get(INFO)
    if not isinstance(students, list) or not isinstance(rosters, list):
        raise ReceiptRefused(
            _("%(name)s has no %(info)s or no students of a known kind.")
            % {"name": base, "info": INFO}
        )
    for entry in students:
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in KEY):
            raise ReceiptRefused(
                _("%(name)s has a student without 身分證號 and 出生日期.") % {"name": base}
            )
    for entry in rosters:
        if not isinstance(entry, dict) or not isinstance(entry.get("名稱"), str):
            raise ReceiptRefused(_("%(name)s lists a roster without its name.") % {"name": base})
    return ReceiptPart(base, root or "", rosters, students)


def _archive(file: IO[bytes]) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ReceiptRefused(
            _("This is not a receipt file: it is not a zip file, or it is damaged.")
        ) from None


def _members(archive: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    return {info.filename.rsplit("/", 1)[-1]: info for info in archive.infolist()}


def _sha_sums(
    archive: zipfile.ZipFile, infos: dict[str, zipfile.ZipInfo], secret: bytes
) -> dict[str, str]:
    """SHA.txt read (which proves the password) as {file name: sha256}."""
    if SHA_FILE not in infos:
        raise ReceiptRefused(_("The receipt has no SHA.txt: it cannot be checked."))
    return _sums(_read_member(archive, infos[SHA_FILE], secret).decode("utf-8-sig"))


def receipt_check(file: IO[bytes], password: str) -> None:
    """Refuse at once what is not a receipt or a wrong password: SHA.txt is small, and
    reading it proves the password. The file is left at its start."""
    with _archive(file) as archive:
        _sha_sums(archive, _members(archive), password.encode("utf-8"))
    file.seek(0)


def receipt_read(file: IO[bytes], password: str) -> Iterator[ReceiptPart]:
    """The parts of a receipt, parsed one at a time once every file is unpacked and checked
    against SHA.txt; raises ``ReceiptRefused`` at the first fault (a wrong password or a
    damaged file before any part comes out)."""
    archive = _archive(file)
    secret = password.encode("utf-8")
    with archive:
        infos = _members(archive)
        sums = _sha_sums(archive, infos, secret)
        jsons = [name for name in infos if name.lower().endswith(".json")]
        if not jsons:
            raise ReceiptRefused(_("The receipt holds no JSON file."))
        for name in jsons:
            if name not in sums:
                raise ReceiptRefused(_("%(name)s is not listed in SHA.txt.") % {"name": name})
        for name in sums:
            if name not in infos:
                raise ReceiptRefused(
                    _("SHA.txt lists %(name)s, which is not in the receipt.") % {"name": name}
                )
        unpacked = []
        for name in sorted(jsons):
            data = _read_member(archive, infos[name], secret)
            if hashlib.sha256(data).hexdigest() != sums[name]:
                raise ReceiptRefused(
                    _("%(name)s does not match its SHA-256 in SHA.txt: the file is damaged.")
                    % {"name": name}
                )
            unpacked.append((name, data))
    while unpacked:
        name, data = unpacked.pop(0)
        yield _part(name, data)
        del data


def record_text(record: dict[str, Any]) -> dict[str, str]:
    """A receipt record's fields as text, in their order."""
    return {str(k): cell_text(v) for k, v in record.items()}


def receipt_bytes(*, prefix: str, parts: dict[str, dict[str, Any]], password: str) -> bytes:
    buffer = io.BytesIO()
    receipt_write(buffer, prefix=prefix, parts=parts, password=password)
    return buffer.getvalue()
