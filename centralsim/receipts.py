"""The receipts (收訖明細) the simulated central database gives back, and the instructions
(``SimTweak``) that make it lose or change a student's line.

A receipt answers a school year: for each (term, roster) the newest accepted workbook whose
roster comes back in a receipt (``receipt.root_of``: grades, course outcomes, performances,
cadres; not roster 1) is read back line by line (``receipt.roster_lines``), the lines are
grouped per kind (root) and then per student (身分證號, 出生日期) in the order first seen, and
each kind becomes one JSON file of the zip (``receipt.receipt_write``, CENTRAL-FORMAT.md
section 11), encrypted with a fresh password the simulator keeps to hand over.

Instructions apply to every receipt made for the school until they are deleted: *drop*
removes the student's first line of the kind named (blank: the first kind, in ``ROOTS``
order, where the student has lines); *alter* appends ``ALTERED`` to the last filled field of
that line that is not 學年度 or 學期. A student is named by the keyed hash of the national
ID: the simulator keeps no national ID in clear.

A large school's receipt is built one kind at a time: each kind's documents are made when
``receipt_write`` reaches them and let go once they are encoded (``_Documents``).
"""

import base64
import dataclasses
import hashlib
import re
import secrets
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from centralsim import server
from centralsim.models import SimReceipt, SimTweak, SimUpload, TweakAction
from centralsim.validate import UNREADABLE
from portfolio.crypto import keyed_hash
from portfolio.lib import national_id
from submissions.central import receipt

ALTERED = "（模擬變更）"
STAMP = "%Y%m%d%H%M%S"
CHUNK = 64 * 1024
SCHOOL_CODE = re.compile(r"^[0-9]{6}$", re.ASCII)
ROC_YEAR = re.compile(r"^[0-9]{2,3}$", re.ASCII)


# --- instructions ------------------------------------------------------------------------------


def tweak_add(*, school_code: str, national_id_text: str, action: str, root: str = "") -> SimTweak:
    """Keep an instruction for the school's next receipts (the same one twice is kept once).
    The caller has checked the number (``national_id.problem``), the action and the root."""
    value = national_id.normalize(national_id_text)
    if action not in TweakAction.values or (root and root not in receipt.ROOTS):
        raise ValueError("unknown action or kind")
    with transaction.atomic():
        tweak, _created = SimTweak.objects.get_or_create(
            school_code=school_code,
            national_id_hash=keyed_hash(value),
            action=action,
            root=root,
            defaults={"national_id_masked": national_id.mask(value)},
        )
    return tweak


def tweak_delete(*, tweak: SimTweak) -> None:
    tweak.delete()


# --- what a receipt answers --------------------------------------------------------------------


def receipt_sources(school_code: str, roc_year: int) -> list[SimUpload]:
    """The newest accepted workbook of each (term, roster) of the school year whose roster
    comes back in a receipt, ordered by term and roster."""
    newest: dict[tuple[int, int], SimUpload] = {}
    received = SimUpload.objects.filter(
        school_code=school_code, roc_year=roc_year, file_name__endswith=".xlsx"
    ).order_by("-received_at", "-pk")
    for upload in received:
        key = (upload.term, upload.roster)
        if upload.is_accepted and key not in newest and receipt.root_of(upload.roster):
            newest[key] = upload
    return [newest[key] for key in sorted(newest)]


@dataclasses.dataclass
class _Counts:
    students: set[str] = dataclasses.field(default_factory=set)
    lines: dict[str, int] = dataclasses.field(default_factory=dict)
    dropped: int = 0
    altered: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "students": len(self.students),
            "lines": self.lines,
            "dropped": self.dropped,
            "altered": self.altered,
        }


def _lines(upload: SimUpload) -> Iterator[receipt.SheetLine]:
    """The upload's lines, read from a local copy (storage files may not seek well)."""
    with tempfile.TemporaryFile() as local:
        with upload.file.open("rb") as stored:
            while block := stored.read(CHUNK):
                local.write(block)
        local.seek(0)
        try:
            yield from receipt.roster_lines(local)
        except (*UNREADABLE, IndexError) as error:
            raise server.Refused(f"{upload.file_name} cannot be read back") from error


def _students(root: str, uploads: list[SimUpload]) -> list[dict[str, Any]]:
    """The root's lines from ``uploads``, grouped per student and then per sheet, in the
    order first seen."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for upload in uploads:
        for line in _lines(upload):
            if line.root != root:
                continue
            key = (line.national_id, line.birth_date)
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = {"身分證號": line.national_id, "出生日期": line.birth_date}
            entry.setdefault(line.sheet, []).append(line.record)
    return list(entries.values())


def _first_record(entry: dict[str, Any]) -> tuple[str, list[dict[str, Any]]] | None:
    for sheet, records in entry.items():
        if sheet not in receipt.KEY and isinstance(records, list) and records:
            return sheet, records
    return None


def _apply(tweak: SimTweak, entry: dict[str, Any], counts: _Counts) -> bool:
    """Carry out ``tweak`` on the student's first record; whether anything changed."""
    first = _first_record(entry)
    if first is None:
        return False
    sheet, records = first
    if tweak.action == TweakAction.DROP:
        del records[0]
        if not records:
            del entry[sheet]
        counts.dropped += 1
        return True
    record = records[0]
    filled = [k for k, v in record.items() if k not in receipt.RECORD_HEAD and str(v).strip()]
    if not filled:
        return False
    record[filled[-1]] = f"{record[filled[-1]]}{ALTERED}"
    counts.altered += 1
    return True


def _tweaked(
    root: str,
    students: list[dict[str, Any]],
    pending: list[SimTweak],
    counts: _Counts,
) -> list[dict[str, Any]]:
    """``students`` with the instructions for this root carried out; an instruction without
    a root is used up by the first root where its student has lines."""
    mine = [t for t in pending if t.root in (root, "")]
    if not mine:
        return students
    wanted = {t.national_id_hash for t in mine}
    by_hash: dict[str, dict[str, Any]] = {}
    for entry in students:
        digest = keyed_hash(national_id.normalize(entry["身分證號"]))
        if digest in wanted:
            by_hash.setdefault(digest, entry)
    for tweak in mine:
        found = by_hash.get(tweak.national_id_hash)
        if found is None:
            continue
        if not tweak.root:
            pending.remove(tweak)
        _apply(tweak, found, counts)
    return [entry for entry in students if _first_record(entry) is not None]


class _Documents(dict):
    """The receipt's documents for ``receipt_write``, which reads ``parts.items()`` once: each
    root's document is made when it is reached, so only one root's students are held at a
    time (a school of 3,000 students sends some 135,000 lines a year)."""

    def __init__(self, sources: dict[str, list[SimUpload]], tweaks: list[SimTweak]) -> None:
        super().__init__()
        self.sources = sources
        self.pending = list(tweaks)
        self.counts = _Counts()

    def items(self) -> Iterator[tuple[str, dict[str, Any]]]:  # type: ignore[override]
        for root, uploads in self.sources.items():
            students = _tweaked(root, _students(root, uploads), self.pending, self.counts)
            self.counts.lines[root] = sum(
                len(records)
                for entry in students
                for sheet, records in entry.items()
                if sheet not in receipt.KEY
            )
            self.counts.students.update(f"{e['身分證號']}\n{e['出生日期']}" for e in students)
            info = [{"名稱": upload.file_name, "SHA": upload.sha256} for upload in uploads]
            document = {receipt.INFO: info, root: students}
            yield root, document
            # Encoded by now: let this root's lines go before the next root is read.
            students.clear()
            document.clear()


def receipt_make(school_code: str, roc_year: int) -> SimReceipt:
    """A fresh receipt of the school year's accepted rosters, the school's instructions
    carried out; ``server.Refused`` when there is nothing to answer."""
    uploads = receipt_sources(school_code, roc_year)
    if not uploads:
        raise server.Refused(
            f"no accepted roster with a receipt for school {school_code}, year {roc_year}"
        )
    sources: dict[str, list[SimUpload]] = {}
    for root in receipt.ROOTS:
        mine = [u for u in uploads if receipt.root_of(u.roster) == root]
        if mine:
            sources[root] = mine
    documents = _Documents(sources, list(SimTweak.objects.filter(school_code=school_code)))
    password = secrets.token_urlsafe(9)
    now = timezone.now()
    name = f"{school_code}_{roc_year}_收訖明細_{timezone.localtime(now):{STAMP}}.zip"
    with tempfile.TemporaryFile() as zipped:
        receipt.receipt_write(
            zipped, prefix=f"{school_code}_{roc_year}", parts=documents, password=password
        )
        digest = _sha256(zipped)
        made = SimReceipt(
            school_code=school_code,
            roc_year=roc_year,
            file_name=name,
            sha256=digest,
            password=password,
            counts=documents.counts.as_json(),
        )
        stored = f"{school_code}_{roc_year}_{timezone.localtime(now):{STAMP}}.zip"
        made.file.save(stored, File(zipped, name=stored), save=False)
    try:
        with transaction.atomic():
            made.save()
    except BaseException:
        made.file.delete(save=False)
        raise
    return made


def _sha256(file: IO[bytes]) -> str:
    file.seek(0)
    digest = hashlib.sha256()
    while block := file.read(CHUNK):
        digest.update(block)
    file.seek(0)
    return digest.hexdigest()


# --- the endpoint ------------------------------------------------------------------------------


def _year(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise server.Refused("學年度 must be a school year such as 114")
    text = str(value)
    if not ROC_YEAR.match(text) or int(text) == 0:
        raise server.Refused("學年度 must be a school year such as 114")
    return int(text)


def receipt_fetch(body: bytes) -> dict[str, Any]:
    """This platform's extension (``iscom_call_for_receipt_api.ashx``): the envelope seals
    ``{APIKey, Mode: "RECEIPT", 學校代碼, 學年度}``; a fresh receipt is made and answered as
    ``{檔名, 檔案 (base64 of the zip), 密碼, SHA (of the zip), 說明}``."""
    request = server._open(body)[0].payload
    code = request.get("學校代碼")
    if request.get("Mode") != "RECEIPT" or not isinstance(code, str) or not SCHOOL_CODE.match(code):
        raise server.Refused("Mode RECEIPT, a 6-digit 學校代碼 and 學年度 are needed")
    made = receipt_make(code, _year(request.get("學年度")))
    made.fetched_at = timezone.now()
    SimReceipt.objects.filter(pk=made.pk).update(fetched_at=made.fetched_at)
    with made.file.open("rb") as handle:
        data = handle.read()
    return {
        "檔名": made.file_name,
        "檔案": base64.b64encode(data).decode("ascii"),
        "密碼": made.password,
        "SHA": hashlib.sha256(data).hexdigest(),
        "說明": server.SIMULATION,
    }
