"""Password-protected zip files in the traditional PKWARE encryption (ZipCrypto).

The central database hands its receipts (收訖明細) to schools as password-protected zips.
Python's ``zipfile`` reads this encryption but cannot write it; ``encrypted_zip`` writes it,
for the simulated central database and the tests. ZipCrypto is weak by today's measure
(the receipt's password travels apart from it, and the platform decrypts on import and
keeps nothing in clear but what it already holds); it is what an ordinary unzip program
opens, which is why a receipt uses it.

The format (APPNOTE.TXT 6.1): three 32-bit keys initialised from the password, a 12-byte
header of random bytes whose last byte is the high byte of the file's CRC-32 (how a reader
tells a wrong password), then the deflated data, each byte XORed with a key stream.
"""

import os
import struct
import time
import zlib
from collections.abc import Iterable
from typing import IO

_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _k in range(8):
        _c = (_c >> 1) ^ 0xEDB88320 if _c & 1 else _c >> 1
    _CRC_TABLE.append(_c)


class _Keys:
    def __init__(self, password: bytes) -> None:
        self.k0, self.k1, self.k2 = 0x12345678, 0x23456789, 0x34567890
        # The keys take in the password as they take in each plain byte.
        self.encrypt(password)

    def encrypt(self, data: bytes) -> bytes:
        """The bytes encrypted, the keys moved on (one pass, local names for speed)."""
        table = _CRC_TABLE
        k0, k1, k2 = self.k0, self.k1, self.k2
        out = bytearray(len(data))
        for i, byte in enumerate(data):
            temp = (k2 | 2) & 0xFFFF
            out[i] = byte ^ (((temp * (temp ^ 1)) >> 8) & 0xFF)
            k0 = (k0 >> 8) ^ table[(k0 ^ byte) & 0xFF]
            k1 = ((k1 + (k0 & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
            k2 = (k2 >> 8) ^ table[(k2 ^ (k1 >> 24)) & 0xFF]
        self.k0, self.k1, self.k2 = k0, k1, k2
        return bytes(out)


def _dos_time(moment: float) -> tuple[int, int]:
    t = time.localtime(moment)
    dos_date = (max(t.tm_year, 1980) - 1980) << 9 | t.tm_mon << 5 | t.tm_mday
    dos_time = t.tm_hour << 11 | t.tm_min << 5 | t.tm_sec // 2
    return dos_time, dos_date


def encrypted_zip(target: IO[bytes], files: Iterable[tuple[str, bytes]], password: str) -> None:
    """Write ``files`` (name, content) to ``target`` as a deflated zip, every file encrypted
    with ``password`` (UTF-8; names flagged UTF-8)."""
    flags = 0x0001 | 0x0800  # encrypted, UTF-8 names
    dos_time, dos_date = _dos_time(time.time())
    central = []
    offset = 0
    for name, content in files:
        encoded_name = name.encode("utf-8")
        crc = zlib.crc32(content) & 0xFFFFFFFF
        squeezer = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated = squeezer.compress(content) + squeezer.flush()
        keys = _Keys(password.encode("utf-8"))
        header = os.urandom(11) + bytes([crc >> 24])
        sealed = keys.encrypt(header) + keys.encrypt(deflated)
        fields = (20, flags, 8, dos_time, dos_date, crc, len(sealed), len(content))
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", *fields, len(encoded_name), 0)
        target.write(local + encoded_name + sealed)
        central.append(
            struct.pack(
                "<4s6H3L5H2L",
                b"PK\x01\x02",
                20,
                *fields,
                len(encoded_name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded_name
        )
        offset += len(local) + len(encoded_name) + len(sealed)
    directory = b"".join(central)
    target.write(directory)
    target.write(
        struct.pack(
            "<4s4H2LH",
            b"PK\x05\x06",
            0,
            0,
            len(central),
            len(central),
            len(directory),
            offset,
            0,
        )
    )
