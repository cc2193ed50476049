"""The ``http`` transport: the platform sends a roster workbook to the central database over
the 2018 upload protocol (CENTRAL-FORMAT.md section 10; crypto in
``submissions.central.protocol``) and polls for the answer.

Every endpoint is relative to ``CENTRAL_HTTP_URL`` (``http://127.0.0.1:8100/iscom_api/``)
and is a POST. Sending a workbook takes four requests:

1. ``iscom_get_public_key_api.ashx``, body ``{}``: answers ``{GUID, PublicKey}``, a one-time
   GUID and the server's RSA key as .NET XML.
2. ``iscom_upload_file_api.ashx?GUID=<GUID>&FileName=<name>.bin`` (this platform's
   extension, see below): the workbook encrypted with the session keys, as the body.
3. ``iscom_call_for_uploadfile_ready_api.ashx``: the envelope (``RequestNo`` = the GUID)
   sealing FileInfo ``{APIKey, 上傳單位, 學年度, 學期, 名冊別, 副檔名, 上傳時間, Signature,
   狀態: "add"}``: answers ``{FID, 狀態}``; the FID is what ``send`` returns.
4. Later, ``poll``: the key again, then ``iscom_call_for_status_api.ashx`` with the envelope
   sealing ``{APIKey, FID, Mode: "GET"}``: answers ``{FID, IsCheck, IsExtract, HaveErrorMsg,
   處理狀態, 錯誤訊息: [...]}``.

Answers are plain JSON (see the protocol module), read as UTF-8 with or without a BOM.

**The upload (this platform's extension of the protocol).** In the pilot, NCNU pulled the
``.bin`` from the school's FTP server, named in FileInfo (學校IP, FTP帳號, FTP密碼, EP帳號).
The platform has no FTP server, so it pushes the file instead: step 2 POSTs the encrypted
bytes (``Content-Type: application/octet-stream``, with a ``Content-Length``) under two query
parameters, ``GUID``, the one-time GUID of step 1, and ``FileName``, the central file name
with ``.bin`` for ``.xlsx`` as the pilot named it; it answers 200 with a JSON object. Step 3
then names that upload by carrying the same GUID as its ``RequestNo``: the server opens
the envelope, takes the session keys from ``EncryptKey``, decrypts the file uploaded under
the GUID and refuses it unless the plaintext's SHA-256 equals ``Signature``. The upload
itself carries no API key: the file is unreadable without the session keys, which only the
step 3 envelope (where the APIKey is checked) delivers. FileInfo leaves out the four FTP
fields. The file name's own time stamp is sent as 上傳時間, so
``{上傳單位}_{學年度}_{學期}_{名冊別}_{上傳時間}`` is the file's name, as in the pilot.

Any network error, timeout, answer other than 200, or answer that is not the JSON object
expected raises ``TransportError`` with a short English message for the log. The HTTP
client is the standard library's ``urllib.request``, so the usual ``https_proxy`` and
``no_proxy`` environment variables apply.
"""

import base64
import datetime as dt
import hashlib
import http.client
import json
import re
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zoneinfo
from pathlib import PurePosixPath
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric import rsa

from submissions.central import protocol
from submissions.transports.base import (
    Answer,
    AnswerState,
    FetchedReceipt,
    Outgoing,
    TransportError,
)

PUBLIC_KEY_ENDPOINT = "iscom_get_public_key_api.ashx"
UPLOAD_ENDPOINT = "iscom_upload_file_api.ashx"
FILE_READY_ENDPOINT = "iscom_call_for_uploadfile_ready_api.ashx"
STATUS_ENDPOINT = "iscom_call_for_status_api.ashx"
# This platform's extension: the school year's receipt (收訖明細) and its password.
RECEIPT_ENDPOINT = "iscom_call_for_receipt_api.ashx"
# A receipt of a large school is a few megabytes (base64 in the answer).
MAX_RECEIPT_BYTES = 256 * 1024 * 1024

# Longer answers are not the small JSON objects the protocol has.
MAX_ANSWER_BYTES = 1024 * 1024
TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")
UPLOAD_TIME_FORMAT = "%Y%m%d_%H_%M_%S"
_NAME_STAMP = re.compile(r"_(\d{8}_\d{2}_\d{2}_\d{2})\.[^._]+$")
# 錯誤資料 of the form "欄位: 值" (or = or a full-width colon) names the field.
_NAMED_FIELD = re.compile(r"\s*([^\s:：=,，]{1,40})\s*[:：=]")


class HttpTransport:
    """The client of the central database's upload protocol."""

    name = "http"

    def __init__(self, base_url: str, api_key: str, timeout: float = 30) -> None:
        scheme = urllib.parse.urlsplit(base_url).scheme
        if scheme not in ("http", "https"):
            # Also what keeps urlopen away from file: and other schemes.
            raise ValueError("CENTRAL_HTTP_URL must be an http or https URL")
        self.base_url = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self._api_key = api_key

    def send(self, outgoing: Outgoing) -> str:
        """Upload ``outgoing``'s workbook and announce it (steps 1-3); the FID to poll."""
        guid, public_key = self._public_key()
        session = protocol.new_session()
        with tempfile.TemporaryFile() as sealed:
            with outgoing.open() as workbook:
                signature = protocol.encrypt_file(session, workbook, sealed)
            if signature != outgoing.sha256.upper():
                raise TransportError("the workbook no longer matches its recorded sha256")
            self._upload(guid, outgoing.file_name, sealed)
        info = file_info(outgoing, api_key=self._api_key, signature=signature)
        answer = self._post_json(
            FILE_READY_ENDPOINT, protocol.build_request(public_key, guid, session, info)
        )
        fid = answer.get("FID")
        if isinstance(fid, bool) or not isinstance(fid, int | str) or fid in (0, ""):
            raise TransportError(f"{FILE_READY_ENDPOINT} answered without a FID")
        return str(fid)

    def poll(self, reference: str) -> Answer:
        """What the central database says of the file ``reference`` (a FID) so far."""
        guid, public_key = self._public_key()
        # The pilot's FID is a number; send it as one.
        fid = int(reference) if reference.isascii() and reference.isdigit() else reference
        request = {"APIKey": self._api_key, "FID": fid, "Mode": "GET"}
        status = self._post_json(
            STATUS_ENDPOINT,
            protocol.build_request(public_key, guid, protocol.new_session(), request),
        )
        return answer_from_status(status)

    def fetch_receipt(self, school_code: str, roc_year: int) -> FetchedReceipt:
        """The school year's receipt (this platform's extension, served by the simulated
        central database): the envelope seals ``{APIKey, Mode: "RECEIPT", 學校代碼, 學年度}``;
        the answer is ``{檔名, 檔案 (base64), 密碼, SHA}``."""
        guid, public_key = self._public_key()
        request = {"APIKey": self._api_key, "Mode": "RECEIPT", "學校代碼": school_code,
                   "學年度": roc_year}  # fmt: skip
        answer = self._post_json(
            RECEIPT_ENDPOINT,
            protocol.build_request(public_key, guid, protocol.new_session(), request),
            limit=MAX_RECEIPT_BYTES,
        )
        name, data, password = answer.get("檔名"), answer.get("檔案"), answer.get("密碼")
        if not all(isinstance(v, str) and v for v in (name, data, password)):
            raise TransportError(f"{RECEIPT_ENDPOINT} answered without 檔名, 檔案 and 密碼")
        try:
            raw = base64.b64decode(str(data), validate=True)
        except ValueError as error:
            raise TransportError(f"{RECEIPT_ENDPOINT} answered 檔案 that is not base64") from error
        sha = answer.get("SHA")
        if isinstance(sha, str) and sha and hashlib.sha256(raw).hexdigest() != sha.lower():
            raise TransportError(f"{RECEIPT_ENDPOINT} answered a file that does not match its SHA")
        return FetchedReceipt(PurePosixPath(str(name)).name, raw, str(password))

    def _public_key(self) -> tuple[str, rsa.RSAPublicKey]:
        """Step 1: a one-time GUID and the server's public key."""
        answer = self._post_json(PUBLIC_KEY_ENDPOINT, {})
        guid, xml = answer.get("GUID"), answer.get("PublicKey")
        if not isinstance(guid, str) or not guid or not isinstance(xml, str):
            raise TransportError(f"{PUBLIC_KEY_ENDPOINT} answered without a GUID and PublicKey")
        try:
            return guid, protocol.public_key_from_xml(xml)
        except protocol.ProtocolError as error:
            raise TransportError(
                f"{PUBLIC_KEY_ENDPOINT} answered an unusable key: {error}"
            ) from error

    def _upload(self, guid: str, file_name: str, sealed: IO[bytes]) -> None:
        """Step 2 (this platform's extension): the encrypted file, streamed from ``sealed``."""
        size = sealed.tell()
        sealed.seek(0)
        query = urllib.parse.urlencode({"GUID": guid, "FileName": bin_name(file_name)})
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.base_url}{UPLOAD_ENDPOINT}?{query}",
            data=sealed,
            method="POST",
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
        )
        self._exchange(UPLOAD_ENDPOINT, request)

    def _post_json(
        self, endpoint: str, body: dict[str, Any], limit: int = MAX_ANSWER_BYTES
    ) -> dict[str, Any]:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked in __init__
            f"{self.base_url}{endpoint}",
            data=data,
            method="POST",
            headers={"Content-Type": "application/json; charset=utf-8"},
        )
        return self._exchange(endpoint, request, limit)

    def _exchange(
        self, endpoint: str, request: urllib.request.Request, limit: int = MAX_ANSWER_BYTES
    ) -> dict[str, Any]:
        """Send ``request``; the JSON object answered, or ``TransportError``."""
        try:
            opened = urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310 - see __init__
            with opened as response:
                status = response.status
                body = response.read(limit + 1)
        except urllib.error.HTTPError as error:
            error.close()
            raise TransportError(f"{endpoint} answered HTTP {error.code}") from error
        except urllib.error.URLError as error:
            raise TransportError(f"could not reach {endpoint}: {error.reason}") from error
        except (OSError, http.client.HTTPException) as error:
            raise TransportError(f"could not reach {endpoint}: {error!r}") from error
        if status != 200:
            raise TransportError(f"{endpoint} answered HTTP {status}")
        if len(body) > limit:
            raise TransportError(f"{endpoint} answered more than {limit} bytes")
        try:
            answer = json.loads(body.decode("utf-8-sig"))
        except ValueError as error:
            raise TransportError(f"{endpoint} answered something other than JSON") from error
        if not isinstance(answer, dict):
            raise TransportError(f"{endpoint} answered JSON that is not an object")
        return answer


def bin_name(file_name: str) -> str:
    """The encrypted file's name: the workbook's with ``.bin`` for its extension."""
    return f"{PurePosixPath(file_name).stem}.bin"


def upload_time(file_name: str) -> str:
    """上傳時間: the ``yyyyMMdd_HH_mm_ss`` stamp that ends the central file name, or now in
    Taipei for a name without one."""
    found = _NAME_STAMP.search(file_name)
    if found:
        return found.group(1)
    return dt.datetime.now(tz=TAIPEI).strftime(UPLOAD_TIME_FORMAT)


def file_info(outgoing: Outgoing, *, api_key: str, signature: str) -> dict[str, str]:
    """Step 3's FileInfo, without the pilot's FTP fields (the file is uploaded instead)."""
    return {
        "APIKey": api_key,
        "上傳單位": outgoing.school_code,
        "學年度": str(outgoing.roc_year),
        "學期": str(outgoing.term),
        "名冊別": str(outgoing.roster),
        "副檔名": PurePosixPath(outgoing.file_name).suffix,
        "上傳時間": upload_time(outgoing.file_name),
        "Signature": signature,
        "狀態": "add",
    }


def answer_from_status(status: dict[str, Any]) -> Answer:
    """Step 5's answer read: any error (or HaveErrorMsg) rejects; checked and extracted
    accepts; anything else is still pending. IsCheck and IsExtract are 0/1 in the pilot."""
    messages = status.get("錯誤訊息") or []
    if "FID" not in status:
        raise TransportError(f"{STATUS_ENDPOINT} answered without a FID")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise TransportError(f"{STATUS_ENDPOINT} answered errors that are not a list of objects")
    errors = [status_error(message) for message in messages]
    if errors or _flag(status.get("HaveErrorMsg")):
        state = AnswerState.REJECTED
    elif _flag(status.get("IsCheck")) and _flag(status.get("IsExtract")):
        state = AnswerState.ACCEPTED
    else:
        state = AnswerState.PENDING
    return Answer(state=state, errors=errors, raw=status)


def status_error(message: dict[str, Any]) -> dict[str, Any]:
    """One 錯誤訊息 entry as the platform keeps it.

    ``message`` joins 錯誤說明 (or is 例外說明 when there is none); ``field`` is named by
    錯誤資料 only when it is an object with 欄位 or text of the form ``欄位: 值``; other
    錯誤資料 (a row's data, say) stays in the raw answer only.
    """
    details = message.get("詳細資訊")
    details = details if isinstance(details, dict) else {}
    explanations = _strings(details.get("錯誤說明"))
    return {
        "roster": _roster(message.get("錯誤名冊")),
        "row": _row(message.get("錯誤行數")),
        "field": _field(message.get("錯誤資料")),
        "message": "; ".join(explanations) or str(details.get("例外說明") or ""),
        "codes": _strings(details.get("錯誤代碼")),
    }


def _flag(value: Any) -> bool:
    return value is True or (type(value) is int and value == 1) or value in ("1", "true", "True")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, list):
        return [str(item) for item in value if item not in (None, "")]
    return []


def _roster(value: Any) -> int | str:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value or "").strip()
    return int(text) if text.isascii() and text.isdigit() else text


def _row(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return None


def _field(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("欄位") or "")
    if isinstance(value, str) and (named := _NAMED_FIELD.match(value)):
        return named.group(1)
    return ""
