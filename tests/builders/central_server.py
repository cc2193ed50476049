"""A fake central database speaking the 2018 upload protocol over real HTTP, built on the
server side of ``submissions.central.protocol``; ``submissions.transports.http`` is its
client. It keeps what it received for the test to look at, and tests steer it through its
attributes. To grow into the simulated central database.

    central = FakeCentral(api_key="key")
    with serving(central) as base_url:
        HttpTransport(base_url, "key").send(outgoing)
"""

import contextlib
import dataclasses
import io
import itertools
import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from submissions.central import protocol

PENDING = {"IsCheck": 0, "IsExtract": 0, "HaveErrorMsg": False, "處理狀態": "處理中"}


@dataclasses.dataclass
class Received:
    """A file the fake accepted: its FileInfo, the uploaded name and the decrypted bytes."""

    file_info: dict[str, Any]
    file_name: str
    workbook: bytes


class Refused(Exception):
    """A request the fake answers with HTTP 400 (the reason is kept in ``refusals``)."""


class FakeCentral:
    """The fake's state. Tests arrange:

    - ``errors``: the 錯誤訊息 that files received from then on are rejected with (empty
      accepts them); a file's first poll answers pending, later ones the outcome;
    - ``damage_uploads``: flip a byte of each upload, as a bad line would;
    - ``answer_next``: endpoint -> raw bytes answered, once, to its next request.
    """

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.private_key = protocol.new_private_key()
        self.errors: list[dict[str, Any]] = []
        self.damage_uploads = False
        self.answer_next: dict[str, bytes] = {}
        self.received: dict[int, Received] = {}
        self.refusals: list[str] = []
        self.lock = threading.Lock()
        self._guids: set[str] = set()
        self._uploads: dict[str, tuple[str, bytes]] = {}
        self._outcomes: dict[int, list[dict[str, Any]]] = {}
        self._polls: dict[int, int] = {}
        self._fids = itertools.count(1)

    def handle(self, endpoint: str, body: bytes, query: dict[str, str]) -> tuple[int, bytes]:
        """The HTTP status and body answered to a POST to ``endpoint``."""
        with self.lock:
            if endpoint in self.answer_next:
                return 200, self.answer_next.pop(endpoint)
            route = ROUTES.get(endpoint)
            if route is None:
                return 404, b"{}"
            try:
                answer = route(self, body, query)
            except Refused as refusal:
                self.refusals.append(str(refusal))
                return 400, json.dumps({"狀態": "error"}).encode()
        return 200, json.dumps(answer, ensure_ascii=False).encode("utf-8")

    def public_key(self, body: bytes, query: dict[str, str]) -> dict[str, Any]:
        guid = str(uuid.uuid4())
        self._guids.add(guid)
        return {"GUID": guid, "PublicKey": protocol.public_key_xml(self.private_key.public_key())}

    def upload(self, body: bytes, query: dict[str, str]) -> dict[str, Any]:
        guid = query.get("GUID", "")
        if guid not in self._guids or guid in self._uploads:
            raise Refused("unknown GUID")
        if self.damage_uploads:
            body = bytes([body[0] ^ 0xFF]) + body[1:]
        self._uploads[guid] = (query.get("FileName", ""), body)
        return {"GUID": guid, "狀態": "uploaded"}

    def file_ready(self, body: bytes, query: dict[str, str]) -> dict[str, Any]:
        opened = self._open(body)
        info = opened.payload
        if opened.request_no not in self._uploads:
            raise Refused("no upload under this GUID")
        file_name, sealed = self._uploads.pop(opened.request_no)
        workbook = io.BytesIO()
        try:
            signature = protocol.decrypt_file(opened.session, io.BytesIO(sealed), workbook)
        except protocol.ProtocolError as error:
            raise Refused("undecryptable file") from error
        if signature != info.get("Signature"):
            raise Refused("signature")
        fid = next(self._fids)
        self.received[fid] = Received(info, file_name, workbook.getvalue())
        self._outcomes[fid] = list(self.errors)
        return {"FID": fid, "狀態": "add"}

    def status(self, body: bytes, query: dict[str, str]) -> dict[str, Any]:
        request = self._open(body).payload
        fid = request.get("FID")
        if request.get("Mode") != "GET" or fid not in self._outcomes:
            raise Refused("unknown FID")
        self._polls[fid] = self._polls.get(fid, 0) + 1
        errors = self._outcomes[fid]
        if self._polls[fid] == 1:
            return {"FID": fid, **PENDING, "錯誤訊息": []}
        if errors:
            progress = {"IsCheck": 1, "IsExtract": 0, "HaveErrorMsg": True, "處理狀態": "檢核錯誤"}
            return {"FID": fid, **progress, "錯誤訊息": errors}
        done = {"IsCheck": 1, "IsExtract": 1, "HaveErrorMsg": False, "處理狀態": "完成"}
        return {"FID": fid, **done, "錯誤訊息": []}

    def _open(self, body: bytes) -> protocol.OpenedRequest:
        """An envelope opened with the fake's key, its GUID used up and its APIKey checked."""
        try:
            opened = protocol.open_request(self.private_key, json.loads(body))
        except (ValueError, protocol.ProtocolError) as error:
            raise Refused(f"unreadable request: {error}") from error
        if opened.request_no not in self._guids:
            raise Refused("unknown GUID")
        self._guids.discard(opened.request_no)
        if opened.payload.get("APIKey") != self.api_key:
            raise Refused("API key")
        return opened


ROUTES = {
    "iscom_get_public_key_api.ashx": FakeCentral.public_key,
    "iscom_upload_file_api.ashx": FakeCentral.upload,
    "iscom_call_for_uploadfile_ready_api.ashx": FakeCentral.file_ready,
    "iscom_call_for_status_api.ashx": FakeCentral.status,
}


class _Server(ThreadingHTTPServer):
    central: FakeCentral


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        central = self.server.central
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        code, answer = central.handle(url.path.rsplit("/", 1)[-1], body, query)
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read ``refusals``, not the server's log."""


@contextlib.contextmanager
def serving(central: FakeCentral) -> Iterator[str]:
    """``central`` served on a free port of 127.0.0.1 while the block runs; its base URL."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.central = central
    # A short poll interval: shutdown() waits for the loop to look again.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/iscom_api/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
