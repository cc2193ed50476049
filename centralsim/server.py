"""The simulated central database's side of the 2018 upload protocol (CENTRAL-FORMAT.md
section 10, as ``submissions.transports.http`` speaks it):

1. ``public_key``: a one-time GUID and the simulator's RSA public key (.NET XML);
2. ``upload``: the encrypted ``.bin`` under that GUID, streamed to storage;
3. ``file_ready``: the sealed FileInfo names the upload by its GUID; the file is decrypted,
   its SHA-256 compared with ``Signature``, checked (``centralsim.validate``) and kept, and
   its FID (the ``SimUpload``'s pk) answered;
4. ``status``: the first answer for a FID is "still checking"; later ones give the check's
   errors per roster, row and field (錯誤訊息), or accepted.
5. ``receipt`` (this platform's extension, ``iscom_call_for_receipt_api.ashx``; answered by
   ``centralsim.receipts.receipt_fetch``): the same envelope as ``status`` (its APIKey
   checked, its GUID used up) sealing ``{APIKey, Mode: "RECEIPT", 學校代碼: "123456",
   學年度: 114}``; a fresh receipt (收訖明細, CENTRAL-FORMAT.md section 11) of the school
   year's accepted rosters is made and answered as ``{檔名, 檔案 (base64 of the zip), 密碼,
   SHA (hex SHA-256 of the zip), 說明}``. The real central database hands receipts and their
   passwords to schools by its own means, which are not public.

Each refusal raises ``Refused`` (HTTP 400 with a short reason); answers say they come from a
simulation. ``accept_file`` takes a file directly (``manage.py centralsim accept``).
"""

import dataclasses
import datetime as dt
import hashlib
import json
import re
import tempfile
import uuid
from pathlib import PurePosixPath
from typing import IO, Any, BinaryIO, cast

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.files.base import File
from django.db import transaction
from django.utils import timezone

from centralsim import validate
from centralsim.models import SimKey, SimSession, SimUpload
from submissions.central import protocol

SIMULATION = "模擬中央資料庫（非正式系統）"
CHUNK = 64 * 1024
# How long a GUID may wait for its upload and its file-ready request.
SESSION_MINUTES = 30
FILE_NAME = re.compile(
    r"^(\d{6})_(\d{2,3})_(\d)_(\d{1,2})_\d{8}_\d{2}_\d{2}_\d{2}\.(xlsx|zip|bin)$"
)


class Refused(Exception):
    """A request the simulator answers with HTTP 400; the text says why."""


def private_key() -> rsa.RSAPrivateKey:
    """The simulator's key, made and kept on first use."""
    key = SimKey.objects.order_by("pk").first()
    if key is None:
        made = protocol.new_private_key()
        pem = made.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")
        key = SimKey.objects.create(pem=pem)
    loaded = serialization.load_pem_private_key(key.pem.encode("ascii"), password=None)
    assert isinstance(loaded, rsa.RSAPrivateKey)
    return loaded


def public_key() -> dict[str, Any]:
    session = SimSession.objects.create(guid=str(uuid.uuid4()))
    return {
        "GUID": session.guid,
        "PublicKey": protocol.public_key_xml(private_key().public_key()),
        "說明": SIMULATION,
    }


def _sessions():
    """GUIDs handed out lately and not used up."""
    fresh = timezone.now() - dt.timedelta(minutes=SESSION_MINUTES)
    return SimSession.objects.filter(used_at=None, created_at__gte=fresh)


GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _guid(text: str) -> str:
    """A GUID as the simulator hands them out; anything else is refused before any query."""
    if not GUID.match(text):
        raise Refused("unknown or expired GUID")
    return text


def _session(guid: str) -> SimSession:
    session = _sessions().filter(guid=_guid(guid)).first()
    if session is None:
        raise Refused("unknown or expired GUID")
    return session


def upload(guid: str, file_name: str, body: IO[bytes]) -> dict[str, Any]:
    """Step 2: keep the sealed file under its GUID (once)."""
    session = _session(guid)
    if session.sealed:
        raise Refused("this GUID already carries a file")
    name = PurePosixPath(file_name).name
    if not FILE_NAME.match(name):
        raise Refused("the file name is not {學校代碼}_{學年度}_{學期}_{名冊別}_{時間}.bin")
    session.upload_name = name
    session.sealed.save(f"{session.guid}.bin", File(body, name=f"{session.guid}.bin"))
    return {"GUID": guid, "狀態": "uploaded", "說明": SIMULATION}


def _open(body: bytes) -> tuple[protocol.OpenedRequest, SimSession]:
    """The request's envelope opened, its API key checked, and its GUID used up (once)."""
    try:
        opened = protocol.open_request(private_key(), json.loads(body))
    except (ValueError, protocol.ProtocolError) as error:
        raise Refused(f"unreadable request: {error}") from error
    if opened.payload.get("APIKey") != settings.CENTRAL_SIM_API_KEY:
        raise Refused("API key")
    with transaction.atomic():
        session = _sessions().select_for_update().filter(guid=_guid(opened.request_no)).first()
        if session is None:
            raise Refused("unknown or expired GUID")
        session.used_at = timezone.now()
        session.save(update_fields=["used_at"])
    return opened, session


def _int(info: dict[str, Any], field: str) -> int:
    try:
        return int(str(info.get(field, "")))
    except ValueError:
        raise Refused(f"FileInfo {field} is not a number") from None


@dataclasses.dataclass
class Checked:
    problems: list[dict[str, Any]]
    sha256: str
    size: int


def _check(file: IO[bytes], extension: str, expected: validate.Expected) -> Checked:
    file.seek(0)
    digest, size = hashlib.sha256(), 0
    while block := file.read(CHUNK):
        digest.update(block)
        size += len(block)
    file.seek(0)
    check = validate.validate_files_zip if extension == ".zip" else validate.validate_workbook
    problems = [dataclasses.asdict(p) for p in check(cast(BinaryIO, file), expected)]
    return Checked(problems, digest.hexdigest(), size)


def _keep(
    file: IO[bytes], name: str, expected: validate.Expected, extension: str, via: str
) -> SimUpload:
    checked = _check(file, extension, expected)
    file.seek(0)
    received = SimUpload(
        school_code=expected.school_code,
        roc_year=expected.roc_year,
        term=expected.term,
        roster=expected.roster,
        file_name=name,
        sha256=checked.sha256,
        size=checked.size,
        problems=checked.problems,
        via=via,
    )
    received.file.save(name, File(file, name=name), save=False)
    received.save()
    return received


def file_ready(body: bytes) -> dict[str, Any]:
    """Step 3: decrypt the upload its GUID names, check its signature, check and keep it."""
    opened, found = _open(body)
    info = opened.payload
    if not found.sealed:
        raise Refused("no upload under this GUID")
    expected = validate.Expected(
        school_code=str(info.get("上傳單位", "")),
        roc_year=_int(info, "學年度"),
        term=_int(info, "學期"),
        roster=_int(info, "名冊別"),
    )
    extension = str(info.get("副檔名", ""))
    if extension not in (".xlsx", ".zip"):
        raise Refused("副檔名 must be .xlsx or .zip")
    name = found.upload_name.removesuffix(".bin") + extension
    try:
        with tempfile.TemporaryFile() as plain:
            with found.sealed.open("rb") as sealed:
                try:
                    signature = protocol.decrypt_file(opened.session, sealed, plain)
                except protocol.ProtocolError as error:
                    raise Refused("the file does not decrypt with the session keys") from error
            if signature != info.get("Signature"):
                raise Refused("the file does not match its Signature")
            received = _keep(plain, name, expected, extension, via="http")
    finally:
        found.sealed.delete(save=False)
    return {"FID": received.pk, "狀態": "add", "說明": SIMULATION}


PENDING = {"IsCheck": 0, "IsExtract": 0, "HaveErrorMsg": False, "處理狀態": "檢核中"}


def error_message(problem: dict[str, Any]) -> dict[str, Any]:
    """A problem as the 錯誤訊息 entry the protocol carries."""
    data = f"{problem['field']}: {problem['value']}" if problem["field"] else problem["value"]
    return {
        "錯誤名冊": str(problem["roster"]),
        "錯誤行數": problem["row"] or 0,
        "詳細資訊": {
            "狀態": False,
            "錯誤代碼": [problem["code"]],
            "錯誤說明": [problem["message"]],
            "例外說明": problem["sheet"],
        },
        "錯誤資料": data,
    }


def status(body: bytes) -> dict[str, Any]:
    """Step 5: still checking at the first question, then the check's answer."""
    request = _open(body)[0].payload
    fid = request.get("FID")
    if request.get("Mode") != "GET" or not isinstance(fid, int | str) or not str(fid).isdigit():
        raise Refused("Mode GET and a FID are needed")
    with transaction.atomic():
        received = SimUpload.objects.select_for_update().filter(pk=int(fid)).first()
        if received is None:
            raise Refused("unknown FID")
        received.polls += 1
        received.save(update_fields=["polls"])
    if received.polls == 1:
        return {"FID": received.pk, **PENDING, "錯誤訊息": [], "說明": SIMULATION}
    if received.problems:
        errors = [error_message(p) for p in received.problems]
        checked = {"IsCheck": 1, "IsExtract": 0, "HaveErrorMsg": True, "處理狀態": "檢核錯誤"}
        return {"FID": received.pk, **checked, "錯誤訊息": errors, "說明": SIMULATION}
    done = {"IsCheck": 1, "IsExtract": 1, "HaveErrorMsg": False, "處理狀態": "完成"}
    return {"FID": received.pk, **done, "錯誤訊息": [], "說明": SIMULATION}


def accept_file(file: IO[bytes], name: str) -> SimUpload:
    """A roster file taken directly (``manage.py centralsim accept``): what it is follows
    from its central file name."""
    base = PurePosixPath(name).name
    match = FILE_NAME.match(base)
    if not match or match.group(5) == "bin":
        raise Refused(
            "the file name is not {學校代碼}_{學年度}_{學期}_{名冊別}_{時間}.xlsx (or .zip)"
        )
    school_code, roc_year, term, roster, extension = match.groups()
    expected = validate.Expected(school_code, int(roc_year), int(term), int(roster))
    return _keep(file, base, expected, f".{extension}", via="command")
