"""The 2018 upload protocol's envelope and crypto (CENTRAL-FORMAT.md section 10), for both
sides: the platform's client (``submissions.transports.http``) and a central database that
answers it (the simulated one in the tests and the demo).

The steps, as the pilot (NCNU ``iscom_api``) runs them:

1. The server hands out a one-time ``GUID`` and its RSA public key as .NET
   ``<RSAKeyValue>`` XML (``public_key_xml``, ``public_key_from_xml``).
2. The client draws session keys, a random AES-256 key and a 16-byte IV (``new_session``).
   ``EncryptKey`` is the Base64 of RSA-OAEP(SHA-1, MGF1-SHA-1) over key ‖ IV
   (``encrypt_session``; the server reverses it with ``decrypt_session``). JSON bodies are
   AES-CBC/PKCS7 under a key and IV derived from the Base64 of key ‖ IV: SHA-256 of it is
   the key, MD5 of it the IV (``encrypt_body``, ``decrypt_body``). A request travels in an
   envelope (``build_request``, ``open_request``).
3. The file is AES-256-CBC/PKCS7 under the raw key and IV, and its ``Signature`` is the
   upper-case hex SHA-256 of the plaintext (``encrypt_file``, ``decrypt_file``, streamed).

Responses are plain JSON: the pilot client reads every answer as plain JSON and nothing in
the protocol would let it decrypt one (the session keys are the client's own), so a server
built on this module answers in plain JSON, and only requests are sealed.

Everything that opens what the other side sent raises ``ProtocolError`` on bad input; the
messages name what was wrong, never a key.
"""

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Mapping
from typing import Any, BinaryIO

from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.padding import MGF1, OAEP
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

KEY_BYTES = 32
IV_BYTES = 16
BLOCK_BITS = 128
# How much of a file is read at a time when encrypting or decrypting it.
CHUNK_BYTES = 64 * 1024
# The server's RSA key size (the client accepts 1024 bits and up, as .NET's default key is).
RSA_BITS = 2048
MIN_RSA_BITS = 1024

_DOTNET_DATE = re.compile(r"/Date\((-?\d+)\)/")


class ProtocolError(ValueError):
    """What the other side sent cannot be read: malformed, or sealed with other keys."""


@dataclasses.dataclass(frozen=True)
class SessionKeys:
    """Step 2: one request's AES-256 key and IV (never shown in a repr)."""

    key: bytes = dataclasses.field(repr=False)
    iv: bytes = dataclasses.field(repr=False)

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES or len(self.iv) != IV_BYTES:
            raise ProtocolError("session keys must be a 32-byte key and a 16-byte IV")

    @property
    def combined_base64(self) -> str:
        """The Base64 of key ‖ IV, from which the JSON body's key and IV are derived."""
        return base64.b64encode(self.key + self.iv).decode("ascii")


@dataclasses.dataclass(frozen=True)
class OpenedRequest:
    """A request envelope as the server reads it (step 2, server side)."""

    request_no: str
    request_time: dt.datetime
    session: SessionKeys
    payload: dict[str, Any]


# Step 1: the server's RSA key as .NET XML.


def new_private_key() -> rsa.RSAPrivateKey:
    """Step 1, server side: the key pair whose public half is handed out with each GUID."""
    return rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)


def _int_to_base64(number: int) -> str:
    return base64.b64encode(number.to_bytes((number.bit_length() + 7) // 8, "big")).decode()


def _base64_to_int(text: str) -> int:
    return int.from_bytes(base64.b64decode("".join(text.split()), validate=True), "big")


def public_key_xml(public_key: rsa.RSAPublicKey) -> str:
    """Step 1, server side: ``<RSAKeyValue><Modulus>…</Modulus><Exponent>…</Exponent>
    </RSAKeyValue>``, both numbers as Base64 of their big-endian bytes (.NET's
    ``RSA.ToXmlString(false)``)."""
    numbers = public_key.public_numbers()
    return (
        f"<RSAKeyValue><Modulus>{_int_to_base64(numbers.n)}</Modulus>"
        f"<Exponent>{_int_to_base64(numbers.e)}</Exponent></RSAKeyValue>"
    )


def public_key_from_xml(xml: str) -> rsa.RSAPublicKey:
    """Step 1, client side: the server's public key from its .NET XML.

    Read with two patterns rather than an XML parser, as the pilot client does: the document
    is two Base64 numbers, and a pattern cannot be made to expand entities.
    """
    parts = {}
    for tag in ("Modulus", "Exponent"):
        found = re.search(rf"<{tag}>\s*([A-Za-z0-9+/=\s]+?)\s*</{tag}>", xml)
        if found is None:
            raise ProtocolError(f"the public key XML has no {tag}")
        try:
            parts[tag] = _base64_to_int(found.group(1))
        except binascii.Error as error:
            raise ProtocolError(f"the public key's {tag} is not Base64") from error
    if parts["Modulus"].bit_length() < MIN_RSA_BITS:
        raise ProtocolError(f"the public key is shorter than {MIN_RSA_BITS} bits")
    try:
        return rsa.RSAPublicNumbers(e=parts["Exponent"], n=parts["Modulus"]).public_key()
    except ValueError as error:
        raise ProtocolError("the public key's numbers are not an RSA key") from error


# Step 2: session keys, sealed for the server.


def _oaep() -> OAEP:
    sha1 = hashes.SHA1()  # noqa: S303 - the protocol's OAEP is SHA-1 with MGF1-SHA-1
    return OAEP(mgf=MGF1(algorithm=sha1), algorithm=sha1, label=None)


def new_session() -> SessionKeys:
    """Step 2, client side: a random AES-256 key and 16-byte IV for one request."""
    return SessionKeys(key=os.urandom(KEY_BYTES), iv=os.urandom(IV_BYTES))


def encrypt_session(public_key: rsa.RSAPublicKey, session: SessionKeys) -> str:
    """Step 2, client side: ``EncryptKey``, the Base64 of RSA-OAEP over key ‖ IV."""
    return base64.b64encode(public_key.encrypt(session.key + session.iv, _oaep())).decode()


def decrypt_session(private_key: rsa.RSAPrivateKey, encrypt_key_b64: str) -> SessionKeys:
    """Step 2, server side: the session keys from a request's ``EncryptKey``."""
    try:
        combined = private_key.decrypt(base64.b64decode(encrypt_key_b64, validate=True), _oaep())
    except (binascii.Error, ValueError, TypeError) as error:
        raise ProtocolError("EncryptKey does not open with this server's key") from error
    if len(combined) != KEY_BYTES + IV_BYTES:
        raise ProtocolError("EncryptKey does not hold a 32-byte key and a 16-byte IV")
    return SessionKeys(key=combined[:KEY_BYTES], iv=combined[KEY_BYTES:])


# Step 2: JSON bodies and the request envelope.


def _body_cipher(session: SessionKeys) -> Cipher[modes.CBC]:
    """The JSON body's cipher: key SHA-256 and IV MD5 of the Base64 of key ‖ IV."""
    derived_from = session.combined_base64.encode("ascii")
    key = hashlib.sha256(derived_from).digest()
    # MD5 here only turns the string into 16 bytes of IV, as the protocol prescribes.
    iv = hashlib.md5(derived_from, usedforsecurity=False).digest()
    return Cipher(algorithms.AES(key), modes.CBC(iv))


def encrypt_body(session: SessionKeys, payload: Mapping[str, Any]) -> list[int]:
    """Step 2, client side: ``EncryptData``, the UTF-8 JSON of ``payload`` encrypted, as a
    list of byte values 0-255 (how the pilot's .NET server reads a byte array)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    padder = padding.PKCS7(BLOCK_BITS).padder()
    encryptor = _body_cipher(session).encryptor()
    padded = padder.update(text) + padder.finalize()
    return list(encryptor.update(padded) + encryptor.finalize())


def decrypt_body(session: SessionKeys, data: Any) -> dict[str, Any]:
    """Step 2, server side: the JSON object in ``EncryptData`` (checked to be byte values)."""
    if not isinstance(data, list) or not all(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 255
        for value in data
    ):
        raise ProtocolError("EncryptData must be a list of byte values 0-255")
    decryptor = _body_cipher(session).decryptor()
    unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
    try:
        padded = decryptor.update(bytes(data)) + decryptor.finalize()
        text = unpadder.update(padded) + unpadder.finalize()
        payload = json.loads(text.decode("utf-8"))
    except ValueError as error:  # bad length, bad padding, bad UTF-8 or bad JSON
        raise ProtocolError("EncryptData does not decrypt to JSON with these keys") from error
    if not isinstance(payload, dict):
        raise ProtocolError("EncryptData must hold a JSON object")
    return payload


def dotnet_date(moment: dt.datetime) -> str:
    """``/Date(ms)/``: milliseconds since the epoch, .NET's JSON date."""
    return f"/Date({int(moment.timestamp() * 1000)})/"


def parse_dotnet_date(text: Any) -> dt.datetime:
    """The moment a ``/Date(ms)/`` value names (a request's ``RequestTime``)."""
    found = _DOTNET_DATE.fullmatch(text) if isinstance(text, str) else None
    try:
        if found is None:
            raise ValueError(text)
        return dt.datetime.fromtimestamp(int(found.group(1)) / 1000, tz=dt.UTC)
    except (ValueError, OverflowError, OSError) as error:
        raise ProtocolError("RequestTime is not a /Date(ms)/ value") from error


def build_request(
    public_key: rsa.RSAPublicKey,
    request_no: str,
    session: SessionKeys,
    payload: Mapping[str, Any],
    *,
    at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Step 2, client side: the request envelope carrying ``payload`` sealed for the server.
    ``request_no`` is the GUID that came with the public key."""
    return {
        "Status": True,
        "RequestNo": request_no,
        "RequestTime": dotnet_date(at or dt.datetime.now(tz=dt.UTC)),
        "EncryptKey": encrypt_session(public_key, session),
        "EncryptData": encrypt_body(session, payload),
    }


def open_request(private_key: rsa.RSAPrivateKey, envelope: Any) -> OpenedRequest:
    """Step 2, server side: the GUID, time, session keys and payload of a request envelope."""
    if not isinstance(envelope, dict):
        raise ProtocolError("the request is not a JSON object")
    request_no = envelope.get("RequestNo")
    encrypt_key = envelope.get("EncryptKey")
    if not isinstance(request_no, str) or not request_no:
        raise ProtocolError("the request has no RequestNo")
    if not isinstance(encrypt_key, str):
        raise ProtocolError("the request has no EncryptKey")
    session = decrypt_session(private_key, encrypt_key)
    return OpenedRequest(
        request_no=request_no,
        request_time=parse_dotnet_date(envelope.get("RequestTime", "")),
        session=session,
        payload=decrypt_body(session, envelope.get("EncryptData")),
    )


# Step 3: the file, streamed.


def _file_cipher(session: SessionKeys) -> Cipher[modes.CBC]:
    return Cipher(algorithms.AES(session.key), modes.CBC(session.iv))


def encrypt_file(
    session: SessionKeys, source: BinaryIO, target: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES
) -> str:
    """Step 3, client side: write ``source`` encrypted (the ``.bin``) to ``target``, a chunk
    at a time, and return its ``Signature``: the upper-case hex SHA-256 of the plaintext."""
    digest = hashlib.sha256()
    encryptor = _file_cipher(session).encryptor()
    padder = padding.PKCS7(BLOCK_BITS).padder()
    while chunk := source.read(chunk_bytes):
        digest.update(chunk)
        target.write(encryptor.update(padder.update(chunk)))
    target.write(encryptor.update(padder.finalize()) + encryptor.finalize())
    return digest.hexdigest().upper()


def decrypt_file(
    session: SessionKeys, source: BinaryIO, target: BinaryIO, *, chunk_bytes: int = CHUNK_BYTES
) -> str:
    """Step 3, server side: write the ``.bin`` in ``source`` decrypted to ``target``, a chunk
    at a time, and return the ``Signature`` of what came out, to compare with the one sent."""
    digest = hashlib.sha256()
    decryptor = _file_cipher(session).decryptor()
    unpadder = padding.PKCS7(BLOCK_BITS).unpadder()

    def write(plain: bytes) -> None:
        digest.update(plain)
        target.write(plain)

    try:
        while chunk := source.read(chunk_bytes):
            write(unpadder.update(decryptor.update(chunk)))
        write(unpadder.update(decryptor.finalize()) + unpadder.finalize())
    except ValueError as error:  # not whole blocks, or bad padding
        raise ProtocolError("the file does not decrypt with these keys") from error
    return digest.hexdigest().upper()
