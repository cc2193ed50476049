"""The 2018 upload protocol's crypto (submissions.central.protocol) and the ``http``
transport, against a fake central database served over real HTTP on 127.0.0.1."""

import base64
import datetime as dt
import hashlib
import io
import json
import os
import re
import socket

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from submissions.central import protocol
from submissions.transports.base import AnswerState, Outgoing, TransportError
from submissions.transports.http import (
    FILE_READY_ENDPOINT,
    PUBLIC_KEY_ENDPOINT,
    STATUS_ENDPOINT,
    UPLOAD_ENDPOINT,
    HttpTransport,
    answer_from_status,
)
from tests.builders.central_server import FakeCentral, serving

API_KEY = "api-key-of-123456"
FILE_NAME = "123456_113_0_26_20250102_09_30_05.xlsx"


class Chunks(io.BytesIO):
    """Bytes read and written in pieces, each piece's size noted."""

    def __init__(self, data: bytes = b"") -> None:
        super().__init__(data)
        self.reads: list[int] = []
        self.writes: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.reads.append(-1 if size is None else size)
        return super().read(size)

    def write(self, data) -> int:
        self.writes.append(len(data))
        return super().write(data)


def outgoing_of(data: bytes, *, sha256: str | None = None, opened: list | None = None) -> Outgoing:
    def open_workbook() -> Chunks:
        workbook = Chunks(data)
        if opened is not None:
            opened.append(workbook)
        return workbook

    return Outgoing(
        school_code="123456",
        roc_year=113,
        term=0,
        roster=26,
        file_name=FILE_NAME,
        open=open_workbook,
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
    )


@pytest.fixture
def central() -> FakeCentral:
    return FakeCentral(api_key=API_KEY)


@pytest.fixture
def central_url(central):
    with serving(central) as url:
        yield url


@pytest.fixture
def transport(central_url) -> HttpTransport:
    return HttpTransport(central_url, API_KEY, timeout=5)


def sha1_oaep() -> OAEP:
    return OAEP(mgf=MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)  # noqa: S303


# The .NET XML key.


def test_public_key_xml_is_dotnets_and_reads_back():
    key = protocol.new_private_key().public_key()
    xml = protocol.public_key_xml(key)

    found = re.fullmatch(
        r"<RSAKeyValue><Modulus>([A-Za-z0-9+/=]+)</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>",
        xml,
    )
    assert found, xml
    modulus = base64.b64decode(found.group(1))
    assert len(modulus) == 256  # big-endian, no leading zero byte
    assert int.from_bytes(modulus, "big") == key.public_numbers().n
    assert protocol.public_key_from_xml(xml).public_numbers() == key.public_numbers()


def test_public_key_reads_from_indented_dotnet_xml():
    numbers = protocol.new_private_key().public_key().public_numbers()
    modulus = base64.b64encode(numbers.n.to_bytes(256, "big")).decode()
    xml = (
        "<RSAKeyValue>\r\n  <Modulus>"
        f"{modulus[:64]}\r\n{modulus[64:]}</Modulus>\r\n  <Exponent>AQAB</Exponent>\r\n"
        "</RSAKeyValue>"
    )
    assert protocol.public_key_from_xml(xml).public_numbers() == numbers


@pytest.mark.parametrize(
    "xml",
    [
        "",
        "<RSAKeyValue><Modulus>AQAB</Modulus></RSAKeyValue>",
        "<RSAKeyValue><Modulus>not base64!</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>",
        # A 512-bit key: too short to seal 48 bytes with OAEP, and too weak anyway.
        "<RSAKeyValue><Modulus>"
        + base64.b64encode((2**511 + 1).to_bytes(64, "big")).decode()
        + "</Modulus><Exponent>AQAB</Exponent></RSAKeyValue>",
        # An even exponent is no RSA key.
        "<RSAKeyValue><Modulus>"
        + base64.b64encode((2**2047 + 1).to_bytes(256, "big")).decode()
        + "</Modulus><Exponent>AAI=</Exponent></RSAKeyValue>",
    ],
)
def test_unusable_public_key_xml_is_refused(xml):
    with pytest.raises(protocol.ProtocolError):
        protocol.public_key_from_xml(xml)


# The envelope.


def test_envelope_is_sealed_as_the_protocol_says():
    """Opened here without the protocol module: RSA-OAEP-SHA1 over key ‖ IV, and the body
    under SHA-256 and MD5 of that pair's Base64."""
    private = protocol.new_private_key()
    session = protocol.new_session()
    payload = {"APIKey": "k", "上傳單位": "123456", "學期": "0"}
    at = dt.datetime(2025, 1, 2, 1, 30, 5, tzinfo=dt.UTC)

    envelope = protocol.build_request(private.public_key(), "guid-1", session, payload, at=at)

    assert set(envelope) == {"Status", "RequestNo", "RequestTime", "EncryptKey", "EncryptData"}
    assert envelope["Status"] is True
    assert envelope["RequestNo"] == "guid-1"
    assert envelope["RequestTime"] == "/Date(1735781405000)/"
    data = envelope["EncryptData"]
    assert all(type(value) is int and 0 <= value <= 255 for value in data)
    assert len(data) % 16 == 0

    combined = private.decrypt(base64.b64decode(envelope["EncryptKey"]), sha1_oaep())
    assert combined == session.key + session.iv
    assert len(session.key) == 32 and len(session.iv) == 16
    derived = base64.b64encode(combined)
    decryptor = Cipher(
        algorithms.AES(hashlib.sha256(derived).digest()),
        modes.CBC(hashlib.md5(derived, usedforsecurity=False).digest()),
    ).decryptor()
    padded = decryptor.update(bytes(data)) + decryptor.finalize()
    assert json.loads(padded[: -padded[-1]].decode("utf-8")) == payload


def test_envelope_opens_on_the_server_side():
    private = protocol.new_private_key()
    session = protocol.new_session()
    payload = {"APIKey": "k", "FID": 7, "Mode": "GET", "名冊別": "26"}
    envelope = json.loads(
        json.dumps(protocol.build_request(private.public_key(), "guid-2", session, payload))
    )

    opened = protocol.open_request(private, envelope)

    assert opened.request_no == "guid-2"
    assert opened.session == session
    assert opened.payload == payload
    assert abs(opened.request_time - dt.datetime.now(tz=dt.UTC)) < dt.timedelta(minutes=1)


def test_envelope_does_not_open_with_another_key_or_damaged_data():
    private = protocol.new_private_key()
    envelope = protocol.build_request(
        private.public_key(), "guid-3", protocol.new_session(), {"a": 1}
    )

    with pytest.raises(protocol.ProtocolError):
        protocol.open_request(protocol.new_private_key(), envelope)
    for data in (envelope["EncryptData"][:-1], [*envelope["EncryptData"][:-1], 256], "abc"):
        with pytest.raises(protocol.ProtocolError):
            protocol.open_request(private, {**envelope, "EncryptData": data})
    for moment in ("2025-01-02", "/Date(99999999999999999999)/", None):
        with pytest.raises(protocol.ProtocolError):
            protocol.open_request(private, {**envelope, "RequestTime": moment})


# The file.


def test_file_round_trip_streams_in_chunks():
    session = protocol.new_session()
    data = os.urandom(3 * 1024 * 1024 + 5)
    source, sealed = Chunks(data), Chunks()

    signature = protocol.encrypt_file(session, source, sealed)

    assert signature == hashlib.sha256(data).hexdigest().upper()
    assert len(source.reads) > 40
    assert max(source.reads) <= protocol.CHUNK_BYTES
    assert max(sealed.writes) <= protocol.CHUNK_BYTES + 16
    encrypted = sealed.getvalue()
    assert len(encrypted) == (len(data) // 16 + 1) * 16
    # AES-256-CBC under the raw key and IV, read here without the protocol module.
    decryptor = Cipher(algorithms.AES(session.key), modes.CBC(session.iv)).decryptor()
    assert (decryptor.update(encrypted) + decryptor.finalize())[: len(data)] == data

    back_in, plain = Chunks(encrypted), Chunks()
    assert protocol.decrypt_file(session, back_in, plain) == signature
    assert plain.getvalue() == data
    assert max(back_in.reads) <= protocol.CHUNK_BYTES
    assert max(plain.writes) <= protocol.CHUNK_BYTES + 16


def test_a_truncated_file_does_not_decrypt():
    session = protocol.new_session()
    sealed = io.BytesIO()
    protocol.encrypt_file(session, io.BytesIO(b"x" * 100), sealed)

    with pytest.raises(protocol.ProtocolError):
        protocol.decrypt_file(session, io.BytesIO(sealed.getvalue()[:-1]), io.BytesIO())


# Sending and polling.


def test_send_uploads_the_workbook_and_polls_until_accepted(central, transport):
    data = os.urandom(2 * 1024 * 1024 + 7)
    opened: list[Chunks] = []

    fid = transport.send(outgoing_of(data, opened=opened))

    received = central.received[int(fid)]
    assert received.workbook == data
    assert received.file_name == "123456_113_0_26_20250102_09_30_05.bin"
    assert received.file_info == {
        "APIKey": API_KEY,
        "上傳單位": "123456",
        "學年度": "113",
        "學期": "0",
        "名冊別": "26",
        "副檔名": ".xlsx",
        "上傳時間": "20250102_09_30_05",
        "Signature": hashlib.sha256(data).hexdigest().upper(),
        "狀態": "add",
    }
    assert max(opened[0].reads) <= protocol.CHUNK_BYTES
    assert opened[0].closed

    first = transport.poll(fid)
    assert (first.state, first.errors) == (AnswerState.PENDING, [])
    second = transport.poll(fid)
    assert (second.state, second.errors) == (AnswerState.ACCEPTED, [])
    assert second.raw["FID"] == int(fid)
    assert second.raw["處理狀態"] == "完成"
    assert central.refusals == []


def test_poll_with_errors_is_rejected_with_the_errors_mapped(central, transport):
    central.errors = [
        {
            "錯誤名冊": "26",
            "錯誤行數": 3,
            "詳細資訊": {
                "狀態": False,
                "錯誤代碼": ["E012", "E013"],
                "錯誤說明": ["出生日期格式錯誤", "查無此學生"],
                "例外說明": "",
            },
            "錯誤資料": "出生日期: 0801332",
        },
        {
            "錯誤名冊": "26",
            "錯誤行數": 0,
            "詳細資訊": {"狀態": False, "錯誤代碼": [], "錯誤說明": [], "例外說明": "封面不符"},
            "錯誤資料": "A123456789,0800116",
        },
    ]
    fid = transport.send(outgoing_of(b"workbook bytes"))

    assert transport.poll(fid).state == AnswerState.PENDING
    answer = transport.poll(fid)

    assert answer.state == AnswerState.REJECTED
    assert answer.errors == [
        {
            "roster": 26,
            "row": 3,
            "field": "出生日期",
            "message": "出生日期格式錯誤; 查無此學生",
            "codes": ["E012", "E013"],
        },
        {"roster": 26, "row": None, "field": "", "message": "封面不符", "codes": []},
    ]
    assert answer.raw["錯誤訊息"] == central.errors


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ({"FID": 1, "IsCheck": 0, "IsExtract": 0, "HaveErrorMsg": False}, AnswerState.PENDING),
        ({"FID": 1, "IsCheck": 1, "IsExtract": 0, "錯誤訊息": []}, AnswerState.PENDING),
        ({"FID": 1, "IsCheck": "0", "IsExtract": 1}, AnswerState.PENDING),
        ({"FID": 1, "IsCheck": True, "IsExtract": True}, AnswerState.ACCEPTED),
        ({"FID": 1, "IsCheck": 1, "IsExtract": 1, "錯誤訊息": None}, AnswerState.ACCEPTED),
        ({"FID": 1, "IsCheck": 1, "IsExtract": 1, "HaveErrorMsg": True}, AnswerState.REJECTED),
        ({"FID": 1, "IsCheck": 1, "IsExtract": 1, "錯誤訊息": [{}]}, AnswerState.REJECTED),
    ],
)
def test_status_states(status, state):
    answer = answer_from_status(status)
    assert answer.state == state
    assert answer.raw is status


def test_status_error_fields():
    status = {
        "FID": 1,
        "錯誤訊息": [
            {"錯誤名冊": "學生資料名冊", "錯誤行數": "12", "錯誤資料": {"欄位": "身分證號"}},
            {"錯誤名冊": 2, "錯誤資料": "學期成績：abc", "詳細資訊": {"錯誤說明": "一則"}},
            {"詳細資訊": "not an object", "錯誤資料": None},
        ],
    }

    assert answer_from_status(status).errors == [
        {"roster": "學生資料名冊", "row": 12, "field": "身分證號", "message": "", "codes": []},
        {"roster": 2, "row": None, "field": "學期成績", "message": "一則", "codes": []},
        {"roster": "", "row": None, "field": "", "message": "", "codes": []},
    ]


@pytest.mark.parametrize(
    "status",
    [{"IsCheck": 1, "IsExtract": 1}, {"FID": 1, "錯誤訊息": "壞"}, {"FID": 1, "錯誤訊息": [1]}],
)
def test_status_without_fid_or_with_odd_errors_is_nonsense(status):
    with pytest.raises(TransportError):
        answer_from_status(status)


# Failures.


def assert_no_secret(error: pytest.ExceptionInfo[TransportError]) -> None:
    assert API_KEY not in str(error.value)


def test_a_damaged_upload_is_refused_for_its_signature(central, transport):
    central.damage_uploads = True

    with pytest.raises(TransportError, match=f"{FILE_READY_ENDPOINT} answered HTTP 400") as caught:
        transport.send(outgoing_of(os.urandom(100_000)))

    assert central.refusals == ["signature"]
    assert central.received == {}
    assert_no_secret(caught)


def test_a_workbook_changed_since_it_was_summed_is_not_sent(central, transport):
    stale = hashlib.sha256(b"the workbook as built").hexdigest()

    with pytest.raises(TransportError, match="no longer matches"):
        transport.send(outgoing_of(b"the workbook changed since", sha256=stale))

    assert central.received == {}
    assert central.refusals == []


def test_a_wrong_api_key_is_refused(central, central_url):
    transport = HttpTransport(central_url, "wrong-key-987", timeout=5)

    with pytest.raises(TransportError, match="HTTP 400") as caught:
        transport.send(outgoing_of(b"workbook"))

    assert central.refusals == ["API key"]
    assert "wrong-key-987" not in str(caught.value)


def test_server_down():
    with serving(FakeCentral(api_key=API_KEY)) as stopped_url:
        pass
    transport = HttpTransport(stopped_url, API_KEY, timeout=2)

    with pytest.raises(TransportError, match=f"could not reach {PUBLIC_KEY_ENDPOINT}") as caught:
        transport.send(outgoing_of(b"workbook"))
    assert_no_secret(caught)
    with pytest.raises(TransportError, match="could not reach"):
        transport.poll("1")


def test_a_server_that_never_answers_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/iscom_api/"

        with pytest.raises(TransportError, match="could not reach"):
            HttpTransport(url, API_KEY, timeout=0.3).poll("1")


@pytest.mark.parametrize(
    ("endpoint", "raw"),
    [
        (PUBLIC_KEY_ENDPOINT, b"<html>Server Error</html>"),
        (PUBLIC_KEY_ENDPOINT, b"\xff\xfe\x00"),
        (PUBLIC_KEY_ENDPOINT, b"[1, 2]"),
        (PUBLIC_KEY_ENDPOINT, b'{"GUID": "g"}'),
        (PUBLIC_KEY_ENDPOINT, b'{"GUID": "g", "PublicKey": "<RSAKeyValue/>"}'),
        (STATUS_ENDPOINT, b'{"FID": 1, "IsCheck": 1'),
        (STATUS_ENDPOINT, '{"處理狀態": "完成"}'.encode()),
    ],
)
def test_malformed_answers_to_poll(central, transport, endpoint, raw):
    central.answer_next[endpoint] = raw

    with pytest.raises(TransportError, match=re.escape(endpoint)) as caught:
        transport.poll("1")
    assert_no_secret(caught)


@pytest.mark.parametrize(
    ("endpoint", "raw"),
    [(UPLOAD_ENDPOINT, b"OK"), (FILE_READY_ENDPOINT, '{"狀態": "add"}'.encode())],
)
def test_malformed_answers_to_send(central, transport, endpoint, raw):
    central.answer_next[endpoint] = raw

    with pytest.raises(TransportError, match=re.escape(endpoint)):
        transport.send(outgoing_of(b"workbook"))


def test_answers_may_start_with_a_bom(central, transport):
    fid = transport.send(outgoing_of(b"workbook"))
    answer = {"FID": int(fid), "IsCheck": 1, "IsExtract": 1, "錯誤訊息": []}
    central.answer_next[STATUS_ENDPOINT] = b"\xef\xbb\xbf" + json.dumps(answer).encode()

    assert transport.poll(fid).state == AnswerState.ACCEPTED


def test_only_http_urls():
    with pytest.raises(ValueError, match="http"):
        HttpTransport("file:///etc/passwd", API_KEY)
