"""Checks of the files students upload: nothing unsafe is stored, and every refusal says why.

Pure of requests and models (it reads only settings). Upload views and services call
`check_upload(...)`; it either returns a `CheckedFile` (the bytes to store, in a temporary file,
with their SHA-256, size, type, a random storage key and a clean display name) or raises
`FileRefused(code, params)` whose `message()` tells the student, in their language, what is
accepted and what this file is.

The checks, in order:
1. size, counted while reading in 64 KB chunks; a file past the limit is refused without reading
   the rest (`too_large`); an empty file is refused (`empty`);
2. type from the content (libmagic on the first 8 KB), never from the name or the browser: it must
   be one the school accepts (`type_not_allowed`) and the name's extension must say the same
   (`extension_mismatch`, jpeg = jpg);
3. beyond the header (libmagic reads only the start: a file starting with `%PDF-` and then holding
   HTML passes it): images decode fully with Pillow (with a pixel limit, `image_too_big`), PDFs
   parse with pypdf and have a page (`encrypted` when a password is needed to open them), MP3 and
   MP4 parse with mutagen and have a length; otherwise `broken`;
4. images are re-encoded so that no metadata is stored (EXIF with GPS, XMP, comments, text
   chunks): JPEG at quality 90 with the EXIF orientation applied to the pixels, PNG without text
   chunks. Other files are stored as they came.

Memory: the upload is copied chunk by chunk to an anonymous temporary file, and the parsers read
from that file, so a 10 MB recording is never held whole in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import tempfile
import unicodedata
import uuid
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Literal

import magic
from django.conf import settings
from django.core.files import File
from django.utils.translation import gettext, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

CHUNK_SIZE = 64 * 1024
SNIFF_SIZE = 8 * 1024
MB = 1024 * 1024
DISPLAY_NAME_MAX = 100
# Pixels an uploaded image may have (width x height); a 48-megapixel phone photo passes.
# Override with the setting SUBMISSION_IMAGE_MAX_PIXELS.
DEFAULT_IMAGE_MAX_PIXELS = 50_000_000
JPEG_QUALITY = 90

Kind = Literal["document", "media"]

KIND_TYPES: dict[str, tuple[str, ...]] = {
    "document": ("pdf", "jpg", "png"),
    "media": ("mp3", "mp4"),
}

# What libmagic reports for the content -> our extension. MP4: every ISO base media brand that
# is MP4 (isom, mp41, mp42, avc1, iso2..iso6, dash) is reported as video/mp4; M4A, M4V, MOV and
# 3GP are reported under other types and are not accepted as MP4.
MIME_TO_EXTENSION = {
    "application/pdf": "pdf",
    "image/jpeg": "jpg",
    "image/png": "png",
    "audio/mpeg": "mp3",
    "video/mp4": "mp4",
}
EXTENSION_TO_MIME = {ext: mime for mime, ext in MIME_TO_EXTENSION.items()}
# The name's extension -> our extension.
NAME_EXTENSIONS = {
    "pdf": "pdf",
    "jpg": "jpg",
    "jpeg": "jpg",
    "png": "png",
    "mp3": "mp3",
    "mp4": "mp4",
}
TYPE_LABELS = {"pdf": "PDF", "jpg": "JPG", "png": "PNG", "mp3": "MP3", "mp4": "MP4"}

KIND_LABELS = {
    "document": pgettext_lazy("upload kind, plural", "documents"),
    "media": pgettext_lazy("upload kind, plural", "media files"),
}

# What a detected file is, for messages ("this file is an HTML page").
CONTENT_DESCRIPTIONS = {
    "application/pdf": _("a PDF document"),
    "image/jpeg": _("a JPG image"),
    "image/png": _("a PNG image"),
    "audio/mpeg": _("an MP3 recording"),
    "video/mp4": _("an MP4 video"),
    "text/html": _("an HTML page"),
    "image/svg+xml": _("an SVG drawing"),
    "text/xml": _("an XML file"),
    "text/plain": _("a text file"),
    "image/gif": _("a GIF image"),
    "image/webp": _("a WebP image"),
    "image/heic": _("a HEIC photo (the iPhone photo format)"),
    "image/heif": _("a HEIF photo"),
    "image/bmp": _("a BMP image"),
    "image/tiff": _("a TIFF image"),
    "video/quicktime": _("a MOV video"),
    "video/x-m4v": _("an M4V video"),
    "video/3gpp": _("a 3GP video"),
    "audio/x-m4a": _("an M4A recording"),
    "audio/mp4": _("an M4A recording"),
    "audio/x-wav": _("a WAV recording"),
    "audio/ogg": _("an OGG recording"),
    "application/zip": _("a ZIP archive"),
    "application/x-rar": _("a RAR archive"),
    "application/x-7z-compressed": _("a 7z archive"),
    "application/msword": _("a Word document"),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": _("a Word document"),
    "application/vnd.ms-powerpoint": _("a PowerPoint presentation"),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": _(
        "a PowerPoint presentation"
    ),
    "application/vnd.ms-excel": _("a spreadsheet"),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _("a spreadsheet"),
    "application/vnd.oasis.opendocument.text": _("an ODT document"),
    "application/x-executable": _("a program"),
    "application/x-pie-executable": _("a program"),
    "application/x-sharedlib": _("a program"),
    "application/x-dosexec": _("a program"),
    "application/x-mach-binary": _("a program"),
    "text/x-shellscript": _("a script"),
    "text/x-script.python": _("a script"),
    "text/javascript": _("a script"),
}
UNKNOWN_CONTENT = _("a file of a type that cannot be recognised")

MESSAGES = {
    "empty": _(
        "This file is empty (0 bytes). Choose the file again; if this happens again, open it "
        "on your device to check that it was saved."
    ),
    "too_large": _(
        "This file is larger than %(max_size)s, the limit for %(kind)s. Make it smaller (for "
        "example scan at a lower resolution, or shorten the recording) and upload it again."
    ),
    "type_not_allowed": _(
        "Only %(types)s %(kind)s up to %(max_size)s are accepted; this file is %(content)s."
    ),
    "extension_mismatch": _(
        "This file is %(content)s, but its name ends in “.%(name_extension)s”. Rename it to "
        "end in “.%(extension)s” and upload it again."
    ),
    "extension_missing": _(
        "This file is %(content)s, but its name has no extension. Rename it to end in "
        "“.%(extension)s” and upload it again."
    ),
    "broken": _(
        "This file cannot be opened as %(content)s: it is damaged, or not really %(content)s. "
        "Open it on your device, save or export it again as %(types)s, and upload the new file."
    ),
    "encrypted": _(
        "This PDF is protected by a password, so your teachers could not open it. Save it "
        "again without a password and upload it."
    ),
    "image_too_big": _(
        "This image is %(width)s × %(height)s pixels; images may have at most "
        "%(max_megapixels)s million pixels. Make it smaller and upload it again."
    ),
    "too_large_after_cleaning": _(
        "After removing hidden data (such as the place where the photo was taken) this image is "
        "larger than %(max_size)s. Save it smaller and upload it again."
    ),
}


class FileRefused(Exception):  # a refusal, not a programming error
    """An upload that must not be stored; `code` is stable, `message()` is for the student."""

    def __init__(self, code: str, params: dict[str, Any] | None = None):
        if code not in MESSAGES:
            raise ValueError(f"unknown refusal code {code!r}")
        self.code = code
        self.params = dict(params or {})
        super().__init__(code)

    def message(self) -> str:
        """The refusal in the active language, built from the raw `params`."""
        code = self.code
        if code == "extension_mismatch" and not self.params.get("name_extension"):
            code = "extension_missing"
        p = self.params
        values: dict[str, Any] = {
            "kind": KIND_LABELS.get(p.get("kind", ""), ""),
            "max_size": format_size(p["max_bytes"]) if "max_bytes" in p else "",
            "types": human_list([TYPE_LABELS.get(t, t.upper()) for t in p.get("allowed_types", [])])
            or "-",
            "content": describe_content(p.get("mime", "")),
            "name_extension": p.get("name_extension", ""),
            "extension": p.get("extension", ""),
            "width": p.get("width", "?"),
            "height": p.get("height", "?"),
            "max_megapixels": f"{p.get('max_pixels', 0) / 1_000_000:g}",
        }
        return str(MESSAGES[code]) % {k: str(v) for k, v in values.items()}

    def __str__(self) -> str:
        return self.message()


@dataclass
class CheckedFile:
    """An accepted upload: `file` holds the bytes to store (re-encoded for images).

    `file` is an anonymous temporary file, deleted when closed: use the object as a context
    manager, or call `close()` once stored. `django_file()` gives a File for `storage.save`.
    """

    file: IO[bytes]
    size: int
    sha256: str
    extension: str
    mime: str
    kind: str
    storage_key: str
    display_name: str
    reencoded: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    def django_file(self) -> File:
        self.file.seek(0)
        return File(self.file, name=self.storage_key)

    def read(self) -> bytes:
        """All the stored bytes (for tests and small files; stream large ones from `file`)."""
        self.file.seek(0)
        return self.file.read()

    def close(self) -> None:
        self.file.close()

    def __enter__(self) -> CheckedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# --- sizes and lists in messages -------------------------------------------------------------


def mb_to_bytes(mb: int | float) -> int:
    """The byte limit for a policy's "MB" (binary megabytes, as operating systems show sizes)."""
    return int(mb * MB)


def format_size(num_bytes: int) -> str:
    if num_bytes >= MB:
        value = f"{num_bytes / MB:.1f}".removesuffix(".0")
        return gettext("%(size)s MB") % {"size": value}
    if num_bytes >= 1024:
        return gettext("%(size)s KB") % {"size": num_bytes // 1024}
    return gettext("%(size)s bytes") % {"size": num_bytes}


def human_list(items: Sequence[str]) -> str:
    """ "PDF, JPG or PNG" in the active language."""
    items = list(items)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    separator = pgettext("separator between items of a list", ", ")
    return gettext("%(items)s or %(last)s") % {
        "items": separator.join(items[:-1]),
        "last": items[-1],
    }


def describe_content(mime: str) -> str:
    """ "an HTML page": what a detected type is, for messages."""
    return str(CONTENT_DESCRIPTIONS.get(mime, UNKNOWN_CONTENT))


# --- names -----------------------------------------------------------------------------------

# Characters that reorder text (a name shown as "photo‮gpj.exe") or are invisible.
_BIDI_AND_INVISIBLE = re.compile("[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c\ufeff]")
# Characters no file system accepts in a name (shown to the student and used on download).
_RESERVED = re.compile(r'[<>:"|?*]')


def name_extension(name: str) -> str:
    """The lower-case extension of a file name, "" if it has none."""
    base = re.split(r"[/\\]", name)[-1]
    stem, dot, ext = base.rpartition(".")
    return ext.strip().lower() if dot and stem.strip(" .") else ""


def clean_display_name(original_name: str, extension: str) -> str:
    """The name to show for a stored file: never a path, readable, at most 100 characters.

    Basename only (after both / and \\), control, format-reordering and reserved characters
    removed, Unicode kept and NFC-normalised, whitespace collapsed, the extension kept when
    shortening; an empty result becomes "file.<extension>".
    """
    name = unicodedata.normalize("NFC", original_name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in {"Cc", "Cs", "Co", "Cn"})
    name = _BIDI_AND_INVISIBLE.sub("", name)
    name = _RESERVED.sub("", name)
    name = re.sub(r"\s+", " ", name).strip().rstrip(" .")
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    stem = stem.strip(" .")
    ext = ext.strip() or extension
    if not stem:
        stem = "file"
    suffix = "." + ext
    stem = stem[: DISPLAY_NAME_MAX - len(suffix)].rstrip(" .") or "file"
    return stem + suffix


def new_storage_key(extension: str) -> str:
    """A random name to store under: never derived from the student's file name."""
    return f"{uuid.uuid4().hex}.{extension}"


# --- the check -------------------------------------------------------------------------------


def _temporary_file() -> IO[bytes]:
    return tempfile.TemporaryFile(dir=getattr(settings, "FILE_UPLOAD_TEMP_DIR", None))


def _image_max_pixels() -> int:
    return int(getattr(settings, "SUBMISSION_IMAGE_MAX_PIXELS", DEFAULT_IMAGE_MAX_PIXELS))


def _copy_limited(file_obj: Any, tmp: IO[bytes], max_bytes: int) -> tuple[int, bytes, str]:
    """Copy at most max_bytes + 1 bytes in 64 KB chunks; returns (size, first 8 KB, sha256)."""
    if hasattr(file_obj, "seek"):
        # A stream that cannot seek is read from where it is.
        with contextlib.suppress(OSError, ValueError):
            file_obj.seek(0)
    digest = hashlib.sha256()
    head = b""
    total = 0
    while True:
        want = min(CHUNK_SIZE, max_bytes + 1 - total)
        chunk = file_obj.read(want)
        if not chunk:
            break
        total += len(chunk)
        if total > max_bytes:
            return total, head, ""
        if len(head) < SNIFF_SIZE:
            head += chunk[: SNIFF_SIZE - len(head)]
        digest.update(chunk)
        tmp.write(chunk)
    tmp.seek(0)
    return total, head, digest.hexdigest()


def check_upload(
    file_obj: Any,
    *,
    original_name: str,
    kind: Kind,
    allowed_types: Sequence[str],
    max_bytes: int,
) -> CheckedFile:
    """Check one uploaded file; return what to store or raise `FileRefused`.

    `file_obj` is any binary file-like object (a Django UploadedFile, an open file); it is read
    from its start. `allowed_types` are the school's extensions for this kind (SchoolPolicy's
    document_types / media_types); types of the other kind are ignored. `max_bytes` is the
    school's limit (`mb_to_bytes(policy.document_max_mb)`).
    """
    if kind not in KIND_TYPES:
        raise ValueError(f"unknown upload kind {kind!r}")
    allowed = [t for t in KIND_TYPES[kind] if t in {a.lower() for a in allowed_types}]
    common: dict[str, Any] = {"kind": kind, "max_bytes": max_bytes, "allowed_types": allowed}

    tmp = _temporary_file()
    try:
        size, head, sha256 = _copy_limited(file_obj, tmp, max_bytes)
        if size > max_bytes:
            raise FileRefused("too_large", common)
        if size == 0:
            raise FileRefused("empty", common)

        mime = magic.from_buffer(head, mime=True)
        extension = MIME_TO_EXTENSION.get(mime)
        params = {**common, "mime": mime}
        if extension is None or extension not in allowed:
            raise FileRefused("type_not_allowed", params)
        named = name_extension(original_name)
        if NAME_EXTENSIONS.get(named) != extension:
            raise FileRefused(
                "extension_mismatch", {**params, "name_extension": named, "extension": extension}
            )

        details: dict[str, Any] = {}
        stored = tmp
        if extension in ("jpg", "png"):
            stored = _clean_image(tmp, extension, params, max_bytes, details)
        elif extension == "pdf":
            _check_pdf(tmp, params, details)
        else:
            _check_media(tmp, extension, params, details)

        if stored is not tmp:
            tmp.close()
            size, sha256 = _size_and_hash(stored)
        stored.seek(0)
        return CheckedFile(
            file=stored,
            size=size,
            sha256=sha256,
            extension=extension,
            mime=EXTENSION_TO_MIME[extension],
            kind=kind,
            storage_key=new_storage_key(extension),
            display_name=clean_display_name(original_name, extension),
            reencoded=stored is not tmp,
            details=details,
        )
    except BaseException:
        tmp.close()
        raise


def _size_and_hash(f: IO[bytes]) -> tuple[int, str]:
    f.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := f.read(CHUNK_SIZE):
        size += len(chunk)
        digest.update(chunk)
    f.seek(0)
    return size, digest.hexdigest()


def _check_pdf(tmp: IO[bytes], params: dict[str, Any], details: dict[str, Any]) -> None:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError

    tmp.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pypdf warns about every oddity it repairs
            reader = PdfReader(tmp, strict=False)
            if reader.is_encrypted and not reader.decrypt(""):
                raise FileRefused("encrypted", params)
            pages = len(reader.pages)
            if pages < 1:
                raise FileRefused("broken", params)
            reader.pages[0].mediabox  # noqa: B018 (the first page must be readable)
    except FileRefused:
        raise
    except FileNotDecryptedError:
        raise FileRefused("encrypted", params) from None
    except Exception:  # pypdf raises many kinds of errors on hostile input
        raise FileRefused("broken", params) from None
    details["pages"] = pages


def _check_media(
    tmp: IO[bytes], extension: str, params: dict[str, Any], details: dict[str, Any]
) -> None:
    from mutagen.mp3 import MP3
    from mutagen.mp4 import MP4

    tmp.seek(0)
    try:
        parsed = MP3(tmp) if extension == "mp3" else MP4(tmp)
        info: Any = parsed.info  # None only for a file mutagen could not read: it raised
        length = float(info.length or 0)
    except Exception:  # mutagen raises many kinds of errors on hostile input
        raise FileRefused("broken", params) from None
    if not length > 0 or (extension == "mp3" and not info.bitrate):
        raise FileRefused("broken", params)
    details["seconds"] = round(length, 3)


def _clean_image(
    tmp: IO[bytes],
    extension: str,
    params: dict[str, Any],
    max_bytes: int,
    details: dict[str, Any],
) -> IO[bytes]:
    """Decode the image fully and re-encode it without metadata; returns the new file."""
    from PIL import Image, ImageOps

    expected_format = "JPEG" if extension == "jpg" else "PNG"
    max_pixels = _image_max_pixels()
    tmp.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image: Image.Image = Image.open(tmp, formats=[expected_format])
            width, height = image.size
            if width * height > max_pixels:
                raise FileRefused(
                    "image_too_big",
                    {**params, "width": width, "height": height, "max_pixels": max_pixels},
                )
            image.load()
            if extension == "jpg":
                image = ImageOps.exif_transpose(image)
    except FileRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise FileRefused(
            "image_too_big",
            {**params, "max_pixels": max_pixels},
        ) from None
    except Exception:  # Pillow raises many kinds of errors on broken images
        raise FileRefused("broken", params) from None

    details["width"], details["height"] = image.size
    icc_profile = image.info.get("icc_profile")  # colour, not about the student: kept
    transparency = image.info.get("transparency")
    # A fresh copy carries no info dict: nothing of the original's metadata can ride along.
    clean = image.copy()
    clean.info = {}
    image.close()

    attempts: list[dict[str, Any]]
    base: dict[str, Any]
    if extension == "jpg":
        if clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
        attempts = [{"quality": q} for q in (JPEG_QUALITY, 80, 70)]
        base = {"format": "JPEG", "exif": b"", "optimize": True}
    else:
        attempts = [{}, {"optimize": True}]
        base = {"format": "PNG"}
        if transparency is not None:
            base["transparency"] = transparency
    if icc_profile:
        base["icc_profile"] = icc_profile

    out = _temporary_file()
    try:
        for options in attempts:
            out.seek(0)
            out.truncate()
            clean.save(out, **base, **options)
            if out.tell() <= max_bytes:
                return out
        raise FileRefused("too_large_after_cleaning", params)
    except BaseException:
        out.close()
        raise
