"""Stored files leave here: streamed with safe headers, or handed to S3 through a signed URL.

Whoever calls this has already decided that the person may open the file
(``submissions.access``). What this module adds:

- the file is never rendered as something else: ``X-Content-Type-Options: nosniff``, the
  type checked at upload, a Content-Security-Policy that lets an inline file show itself and
  nothing more, and a download always as an attachment under its cleaned display name;
- nothing is kept by shared caches (``Cache-Control: private, no-store``);
- the bytes are streamed in blocks from storage, never read whole into memory;
- one byte range (``Range: bytes=a-b``, ``a-``, ``-n``) is answered with 206, which is what
  audio and video players need to seek;
- on S3 the browser is sent (302) to a URL signed for a minute, with the disposition and type
  the bucket must answer with, so file bytes never pass through the application.
"""

import logging
import re
from typing import TYPE_CHECKING, TypeGuard

import boto3
from django.conf import settings
from django.core.files import File
from django.core.files.storage import Storage, default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from portfolio.lib.numbers import parse_int
from submissions.models import StoredFile

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

log = logging.getLogger(__name__)

BLOCK_SIZE = 64 * 1024
SIGNED_URL_SECONDS = 60
# An inline file may show itself (an image, a media element's bytes, a PDF's inline styles)
# and do nothing else: no script, no form, no plugin of ours, a unique origin (sandbox).
# Framing by our own pages only, for the previews on outcome pages.
#
# PDFs keep the sandbox too. Chromium long refused to start its PDF viewer in a sandboxed
# document (crbug.com/413851); checked with Chromium 156: a PDF served with this header
# shows in an <iframe>, <object> and <embed>. What still blocks it is the `sandbox`
# *attribute* on the <iframe> ("This page has been blocked by Chrome"): previews must not
# set it, and must use <iframe> (the site's own CSP has object-src 'none').
INLINE_CSP = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; "
    "frame-ancestors 'self'; sandbox"
)
ATTACHMENT_CSP = "default-src 'none'; sandbox"
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.ASCII)


class RangeNotSatisfiable(Exception):
    """The range asked for starts beyond the end of the file."""


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) of the single range asked for.

    None means "send the whole file": no header, another unit, several ranges or a header
    that does not parse, a number of more digits than any file's size among them (RFC 9110
    lets a server ignore a Range it does not support).
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    start, end = parse_int(first), parse_int(last)
    if (first and start is None) or (last and end is None) or (start is None and end is None):
        return None
    if start is None:  # the last n bytes
        if end is None or end == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - end, 0), size - 1
    if end is not None and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return start, size - 1 if end is None else min(end, size - 1)


class _Slice:
    """Bytes ``start``..``start + length`` of a stored file, read in blocks.

    The file is opened at the first read, so a response that is never sent (a client gone,
    a test looking at the status only) holds no open file. Has no ``tell``/``seek``, so
    FileResponse does not try to size it: the caller sets Content-Length.
    """

    def __init__(self, storage: Storage, name: str, start: int, length: int):
        self._storage, self._name, self._start = storage, name, start
        self._left = length
        self._file: File | None = None

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        if self._file is None:
            self._file = self._storage.open(self._name, "rb")
            self._file.seek(self._start)
        if size < 0 or size > self._left:
            size = self._left
        data = self._file.read(size)
        self._left = self._left - len(data) if data else 0
        return data

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class _StoredFileResponse(FileResponse):
    block_size = BLOCK_SIZE


def uses_signed_urls(storage: Storage) -> "TypeGuard[S3Storage]":
    """Whether files are handed out by the storage itself (S3) rather than streamed by us."""
    from storages.backends.s3 import S3Storage

    return isinstance(storage, S3Storage)


def disposition(stored: StoredFile, *, inline: bool) -> str:
    header = content_disposition_header(not inline, stored.display_name)
    return header or ("inline" if inline else "attachment")


def signed_url(storage: "S3Storage", stored: StoredFile, *, inline: bool) -> str:
    """A URL for this file valid one minute, answered with our disposition and type.

    Signed for ``settings.S3_PUBLIC_ENDPOINT_URL`` when set: the address browsers reach the
    store at, where the app itself talks to it on an internal one (``http://s3:9000`` in
    docker-compose). A signature covers the host, so the link is signed for that address.
    """
    parameters = {
        "ResponseContentDisposition": disposition(stored, inline=inline),
        "ResponseContentType": stored.mime,
        "ResponseCacheControl": "private, no-store",
    }
    public = getattr(settings, "S3_PUBLIC_ENDPOINT_URL", "")
    if not public:
        return storage.url(stored.storage_path, parameters=parameters, expire=SIGNED_URL_SECONDS)
    client = storage.connection.meta.client
    public_client = boto3.session.Session().client(
        "s3",
        endpoint_url=public,
        region_name=client.meta.region_name,
        aws_access_key_id=storage.access_key,
        aws_secret_access_key=storage.secret_key,
        config=client.meta.config,
    )
    return public_client.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": storage.bucket_name,
            "Key": storage._normalize_name(stored.storage_path),
            **parameters,
        },
        ExpiresIn=SIGNED_URL_SECONDS,
    )


def _safety_headers(response: HttpResponseBase, *, inline: bool) -> None:
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    if inline:
        response["Content-Security-Policy"] = INLINE_CSP
        response["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response["Content-Security-Policy"] = ATTACHMENT_CSP


def _etag(stored: StoredFile) -> str:
    # A stored key is never overwritten, so its checksum names its bytes for good.
    return f'"{stored.sha256}"'


def _wanted_range(request: HttpRequest, stored: StoredFile, size: int) -> tuple[int, int] | None:
    if_range = request.headers.get("If-Range")
    if if_range is not None and if_range != _etag(stored):
        return None  # the client holds other bytes: send the whole file
    return byte_range(request.headers.get("Range"), size)


def _size(storage: Storage, stored: StoredFile) -> int:
    try:
        return storage.size(stored.storage_path)
    except FileNotFoundError:
        log.warning("stored file %s has no file at %s", stored.pk, stored.storage_path)
        raise Http404 from None


def serve_stored_file(
    request: HttpRequest, stored: StoredFile, *, inline: bool, storage: Storage | None = None
) -> HttpResponseBase:
    """The response that hands ``stored`` to someone already allowed to open it."""
    storage = storage or default_storage
    if uses_signed_urls(storage):
        redirect = HttpResponseRedirect(signed_url(storage, stored, inline=inline))
        redirect["Cache-Control"] = "private, no-store"
        return redirect
    size = _size(storage, stored)
    try:
        wanted = _wanted_range(request, stored, size)
    except RangeNotSatisfiable:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        _safety_headers(refused, inline=inline)
        return refused
    start, end = wanted if wanted is not None else (0, size - 1)
    response = _StoredFileResponse(
        _Slice(storage, stored.storage_path, start, end - start + 1),
        status=206 if wanted is not None else 200,
        content_type=stored.mime,
    )
    response["Content-Length"] = str(end - start + 1)
    if wanted is not None:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = disposition(stored, inline=inline)
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = _etag(stored)
    _safety_headers(response, inline=inline)
    return response


def is_first_read(request: HttpRequest) -> bool:
    """False for the follow-up range requests of a player seeking in a file already opened."""
    try:
        wanted = byte_range(request.headers.get("Range"), size=2**63)
    except RangeNotSatisfiable:
        return False
    return wanted is None or wanted[0] == 0
