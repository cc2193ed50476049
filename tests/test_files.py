"""The checks of uploaded files (submissions/files.py) and the size-limit upload handler.

Every file is made here, in the test, from its bytes: no binary fixtures in the repository.
"""

import hashlib
import io
import re
import struct
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import JsonResponse
from django.test import RequestFactory
from django.urls import path
from django.utils import translation
from django.utils.functional import Promise
from django.views.decorators.csrf import csrf_exempt
from PIL import ExifTags, Image
from pypdf import PdfWriter

from submissions import files
from submissions.files import CheckedFile, FileRefused, check_upload, clean_display_name
from submissions.upload_handlers import SizeLimitUploadHandler, limit_upload_size
from tests.builders.files import HTML, MB, MP3_FRAME, gps_exif, make_mp3, make_pdf, make_png

DOCUMENT = {"kind": "document", "allowed_types": ["pdf", "jpg", "png"], "max_bytes": 4 * MB}
MEDIA = {"kind": "media", "allowed_types": ["mp3", "mp4"], "max_bytes": 10 * MB}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


# --- files made from their bytes ------------------------------------------------------------


def make_jpeg(size=(60, 40), *, exif: Image.Exif | None = None, comment: bytes = b"") -> bytes:
    image = Image.new("RGB", size, (30, 120, 200))
    buf = io.BytesIO()
    options = {"quality": 95}
    if exif is not None:
        options["exif"] = exif
    if comment:
        options["comment"] = comment
    image.save(buf, format="JPEG", **options)
    return buf.getvalue()


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4_header(*, seconds: int = 5, mdat_size: int = 0) -> bytes:
    """ftyp + moov/mvhd (timescale 1000) + the header of an mdat box of mdat_size bytes."""
    ftyp = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41")
    mvhd = box(
        b"mvhd",
        struct.pack(">B3xIIII", 0, 0, 0, 1000, seconds * 1000)  # version, flags, times, duration
        + struct.pack(">IH10x", 0x00010000, 0x0100)  # rate 1.0, volume 1.0
        + struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)  # matrix
        + bytes(24)
        + struct.pack(">I", 2),  # next track id
    )
    return ftyp + box(b"moov", mvhd) + struct.pack(">I4s", 8 + mdat_size, b"mdat")


def make_mp4(*, seconds: int = 5, mdat: bytes = b"") -> bytes:
    return mp4_header(seconds=seconds, mdat_size=len(mdat)) + mdat


def elf_header() -> bytes:
    # 64-bit little-endian ELF, e_type 2 (executable), e_machine x86-64.
    return b"\x7fELF\x02\x01\x01\x00" + bytes(8) + struct.pack("<HHI", 2, 0x3E, 1) + bytes(200)


def check(data: bytes, name: str, **limits) -> CheckedFile:
    options = {**DOCUMENT, **limits}
    return check_upload(io.BytesIO(data), original_name=name, **options)


def refusal(data: bytes, name: str, **limits) -> FileRefused:
    with pytest.raises(FileRefused) as info:
        check(data, name, **limits)
    return info.value


# --- accepted files -------------------------------------------------------------------------


def test_pdf_is_accepted_and_stored_as_it_came():
    data = make_pdf(pages=2)
    upload = SimpleUploadedFile("期末報告.pdf", data, content_type="text/html")  # browser lies
    with check_upload(upload, original_name=upload.name, **DOCUMENT) as checked:
        assert checked.read() == data
        assert checked.size == len(data)
        assert checked.sha256 == hashlib.sha256(data).hexdigest()
        assert (checked.extension, checked.mime, checked.kind) == (
            "pdf",
            "application/pdf",
            "document",
        )
        assert checked.details["pages"] == 2
        assert checked.reencoded is False
        assert re.fullmatch(r"[0-9a-f]{32}\.pdf", checked.storage_key)
        assert checked.display_name == "期末報告.pdf"
        django_file = checked.django_file()
        assert django_file.name == checked.storage_key
        assert django_file.read() == data


def test_storage_keys_are_random():
    data = make_pdf()
    keys = set()
    for _ in range(5):
        with check(data, "a.pdf") as checked:
            keys.add(checked.storage_key)
    assert len(keys) == 5


def test_png_with_gps_exif_and_text_is_stored_without_them():
    data = make_png(exif=gps_exif(), text=True)
    assert Image.open(io.BytesIO(data)).getexif().get(ExifTags.Base.GPSInfo)
    with check(data, "photo.png") as checked:
        stored = checked.read()
    assert checked.reencoded
    assert checked.sha256 == hashlib.sha256(stored).hexdigest()
    assert checked.size == len(stored)
    image = Image.open(io.BytesIO(stored))
    assert image.format == "PNG"
    assert image.size == (40, 30)
    assert image.getpixel((0, 0)) == (200, 30, 30)
    assert len(image.getexif()) == 0
    assert not image.info.get("exif") and not image.text
    for marker in (b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"Secret", b"xmpmeta", b"PhoneMaker"):
        assert marker not in stored


def test_jpeg_with_exif_is_re_encoded_without_it_and_turned_upright():
    exif = gps_exif()
    exif[ExifTags.Base.Orientation] = 6  # shown turned 90 degrees clockwise
    data = make_jpeg(size=(60, 40), exif=exif, comment=b"taken at home")
    with check(data, "IMG_0001.JPEG") as checked:
        stored = checked.read()
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG"
    assert image.size == (40, 60)  # the orientation is applied to the pixels
    assert len(image.getexif()) == 0
    assert "exif" not in image.info and "comment" not in image.info
    for marker in (b"Exif\x00\x00", b"taken at home", b"PhoneMaker", b"Student Wang"):
        assert marker not in stored
    assert (checked.extension, checked.mime) == ("jpg", "image/jpeg")
    assert checked.display_name == "IMG_0001.JPEG"
    assert checked.storage_key.endswith(".jpg")


@pytest.mark.parametrize(
    ("mode", "fmt", "name"),
    [
        ("P", "PNG", "a.png"),
        ("RGBA", "PNG", "a.png"),
        ("LA", "PNG", "a.png"),
        ("CMYK", "JPEG", "a.jpg"),
    ],
)
def test_image_modes_survive_re_encoding(mode, fmt, name):
    buf = io.BytesIO()
    options = {"transparency": 0} if mode == "P" else {}
    Image.new(mode, (20, 20)).save(buf, format=fmt, **options)
    with check(buf.getvalue(), name) as checked:
        image = Image.open(io.BytesIO(checked.read()))
    assert (image.mode, image.size) == (mode, (20, 20))
    if mode == "P":
        assert image.info.get("transparency") == 0


def test_mp3_is_accepted():
    data = make_mp3(frames=40)
    with check(data, "朗讀.mp3", **MEDIA) as checked:
        assert checked.read() == data
        assert (checked.extension, checked.mime) == ("mp3", "audio/mpeg")
        assert checked.details["seconds"] > 0


def test_mp4_is_accepted():
    data = make_mp4(seconds=5, mdat=bytes(1000))
    with check(data, "實驗影片.mp4", **MEDIA) as checked:
        assert checked.read() == data
        assert (checked.extension, checked.mime) == ("mp4", "video/mp4")
        assert checked.details["seconds"] == 5


def test_a_file_exactly_at_the_limit_is_accepted():
    data = make_mp3(frames=10)
    with check(data, "a.mp3", **{**MEDIA, "max_bytes": len(data)}) as checked:
        assert checked.size == len(data)


# --- refusals -------------------------------------------------------------------------------


def test_html_renamed_pdf_is_refused_and_says_what_it_is():
    error = refusal(HTML, "report.pdf")
    assert error.code == "type_not_allowed"
    assert error.params["mime"] == "text/html"
    assert error.message() == (
        "Only PDF, JPG or PNG documents up to 4 MB are accepted; this file is an HTML page."
    )
    assert str(error) == error.message()


def test_executable_renamed_jpg_is_refused():
    error = refusal(elf_header(), "selfie.jpg")
    assert error.code == "type_not_allowed"
    assert error.message().endswith("this file is a program.")


def test_pdf_header_followed_by_html_is_refused_as_broken():
    data = b"%PDF-1.7\n" + HTML * 20
    error = refusal(data, "report.pdf")
    assert error.code == "broken"
    assert error.message() == (
        "This file cannot be opened as a PDF document: it is damaged, or not really a PDF "
        "document. Open it on your device, save or export it again as PDF, JPG or PNG, and "
        "upload the new file."
    )


def test_pdf_without_pages_is_refused():
    writer = PdfWriter()
    buf = io.BytesIO()
    writer.write(buf)
    assert refusal(buf.getvalue(), "empty.pdf").code == "broken"


def test_password_protected_pdf_is_refused():
    writer = PdfWriter()
    writer.add_blank_page(width=100, height=100)
    writer.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    buf = io.BytesIO()
    writer.write(buf)
    error = refusal(buf.getvalue(), "locked.pdf")
    assert error.code == "encrypted"
    assert "password" in error.message()


def test_empty_file_is_refused():
    error = refusal(b"", "nothing.pdf")
    assert error.code == "empty"
    assert error.message().startswith("This file is empty (0 bytes).")


class CountingReader(io.BytesIO):
    """A file that records how many bytes were read from it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.bytes_read = 0
        self.largest_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        self.largest_read = max(self.largest_read, len(chunk))
        return chunk


def test_one_byte_over_the_limit_is_refused_without_reading_the_rest():
    limit = 300_000
    source = CountingReader(make_pdf() + bytes(limit))  # far larger than the limit
    with pytest.raises(FileRefused) as info:
        check_upload(source, original_name="big.pdf", **{**DOCUMENT, "max_bytes": limit})
    assert info.value.code == "too_large"
    assert source.bytes_read == limit + 1
    assert source.largest_read <= files.CHUNK_SIZE

    exactly_one_over = make_mp3(frames=10)
    error = refusal(exactly_one_over, "a.mp3", **{**MEDIA, "max_bytes": len(exactly_one_over) - 1})
    assert error.code == "too_large"


def test_too_large_message_names_the_limit():
    error = refusal(bytes(5 * MB), "big.pdf")
    assert error.message() == (
        "This file is larger than 4 MB, the limit for documents. Make it smaller (for example "
        "scan at a lower resolution, or shorten the recording) and upload it again."
    )
    error = refusal(bytes(11 * MB), "big.mp4", **MEDIA)
    assert "larger than 10 MB, the limit for media files" in error.message()


def test_png_renamed_jpg_is_an_extension_mismatch():
    error = refusal(make_png(), "photo.jpg")
    assert error.code == "extension_mismatch"
    assert error.params["extension"] == "png"
    assert error.message() == (
        "This file is a PNG image, but its name ends in “.jpg”. Rename it to end in “.png” and "
        "upload it again."
    )


def test_name_without_extension_is_refused_with_its_own_message():
    error = refusal(make_pdf(), "report")
    assert error.code == "extension_mismatch"
    assert "its name has no extension" in error.message()
    assert refusal(make_pdf(), ".pdf").code == "extension_mismatch"


def test_jpeg_and_jpg_are_the_same_extension():
    data = make_jpeg()
    for name in ("a.jpg", "a.JPG", "a.jpeg", "a.Jpeg"):
        with check(data, name) as checked:
            assert checked.extension == "jpg"


def test_an_allowed_kind_of_file_the_school_does_not_accept_is_refused():
    error = refusal(make_mp4(mdat=bytes(100)), "video.mp4", **{**MEDIA, "allowed_types": ["mp3"]})
    assert error.code == "type_not_allowed"
    assert error.message() == (
        "Only MP3 media files up to 10 MB are accepted; this file is an MP4 video."
    )


def test_media_is_not_accepted_as_a_document_nor_a_document_as_media():
    assert refusal(make_mp3(), "a.mp3").code == "type_not_allowed"
    error = refusal(make_pdf(), "a.pdf", **{**MEDIA, "allowed_types": ["mp3", "mp4", "pdf"]})
    assert error.code == "type_not_allowed"  # a type of the other kind in the list is ignored


def test_a_school_accepting_only_pdf_says_so():
    error = refusal(make_png(), "a.png", allowed_types=["pdf"], max_bytes=2 * MB)
    assert error.message() == (
        "Only PDF documents up to 2 MB are accepted; this file is a PNG image."
    )


def test_truncated_png_is_broken():
    data = make_png(size=(300, 300))
    error = refusal(data[: len(data) // 2], "cut.png")
    assert error.code == "broken"
    assert "cannot be opened as a PNG image" in error.message()


def test_truncated_jpeg_is_broken():
    data = make_jpeg(size=(400, 300))
    assert refusal(data[: len(data) // 3], "cut.jpg").code == "broken"


def test_mp3_header_followed_by_garbage_is_broken():
    data = MP3_FRAME[:4] + HTML * 10
    error = refusal(data, "song.mp3", **MEDIA)
    assert error.code == "broken"


def test_mp4_header_without_a_movie_is_broken():
    data = box(b"ftyp", b"isom" + struct.pack(">I", 512) + b"isomiso2mp41") + HTML
    assert refusal(data, "clip.mp4", **MEDIA).code == "broken"


def test_image_over_the_pixel_limit_is_refused(settings):
    settings.SUBMISSION_IMAGE_MAX_PIXELS = 1_000_000
    buf = io.BytesIO()
    Image.new("1", (2000, 1000)).save(buf, format="PNG")  # a few KB that decode to 2 megapixels
    error = refusal(buf.getvalue(), "bomb.png")
    assert error.code == "image_too_big"
    assert error.message() == (
        "This image is 2000 × 1000 pixels; images may have at most 1 million pixels. Make it "
        "smaller and upload it again."
    )


def test_decompression_bomb_is_refused_before_decoding():
    # 15000 x 13000 = 195 megapixels in a file of a few hundred KB: Pillow's own guard refuses
    # it on opening, before any pixel is decoded.
    buf = io.BytesIO()
    Image.new("1", (15000, 13000)).save(buf, format="PNG")
    assert len(buf.getvalue()) < 4 * MB
    assert refusal(buf.getvalue(), "bomb.png").code == "image_too_big"


# --- names ----------------------------------------------------------------------------------


def test_unicode_name_with_path_separators_is_cleaned():
    with check(make_pdf(), "..\\..\\報告/成果 2026.pdf") as checked:
        assert checked.display_name == "成果 2026.pdf"
        assert "報告" not in checked.storage_key and ".." not in checked.storage_key


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("C:\\Users\\王小明\\Desktop\\作品.pdf", "作品.pdf"),
        ("/etc/passwd/../x.pdf", "x.pdf"),
        ("a\x00b\r\nc\t.pdf", "abc.pdf"),
        ("photo\u202egpj.pdf", "photogpj.pdf"),  # no right-to-left override
        ("Cafe\u0301.pdf", "Café.pdf"),  # NFC: é as one character
        ("   .pdf", "file.pdf"),
        ("", "file.pdf"),
        ("../", "file.pdf"),
        ("a:b*c?.pdf", "abc.pdf"),
        ("many    spaces .pdf", "many spaces.pdf"),
    ],
)
def test_clean_display_name(original, expected):
    assert clean_display_name(original, "pdf") == expected


def test_long_names_are_shortened_keeping_the_extension():
    name = clean_display_name("學" * 300 + ".pdf", "pdf")
    assert len(name) == 100
    assert name.endswith("學.pdf")


# --- messages -------------------------------------------------------------------------------


def test_every_message_is_translatable():
    strings = [
        *files.MESSAGES.values(),
        *files.KIND_LABELS.values(),
        *files.CONTENT_DESCRIPTIONS.values(),
        files.UNKNOWN_CONTENT,
    ]
    assert all(isinstance(s, Promise) for s in strings)


def test_messages_follow_the_active_language(monkeypatch):
    error = refusal(HTML, "report.pdf")
    english = error.message()
    seen = []

    def fake_gettext(message):
        seen.append(message)
        return "譯:" + message

    monkeypatch.setattr(translation._trans, "gettext", fake_gettext, raising=False)
    translated = error.message()
    assert translated != english
    assert translated.startswith("譯:")
    assert "an HTML page" in seen


def test_every_code_renders_a_complete_sentence():
    params = {
        "kind": "document",
        "max_bytes": 4 * MB,
        "allowed_types": ["pdf", "jpg", "png"],
        "mime": "text/html",
        "name_extension": "jpg",
        "extension": "png",
        "width": 10,
        "height": 10,
        "max_pixels": 5_000_000,
    }
    for code in files.MESSAGES:
        text = FileRefused(code, params).message()
        assert "%(" not in text and text.endswith(".")
    with pytest.raises(ValueError):
        FileRefused("no_such_code")


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError):
        check_upload(
            io.BytesIO(b"x"), original_name="a.pdf", kind="video", allowed_types=[], max_bytes=1
        )


# --- memory ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mp4", "mp3"])
def test_a_10_mb_recording_is_never_held_whole_in_memory(tmp_path, kind):
    source = tmp_path / f"big.{kind}"
    with source.open("wb") as out:
        if kind == "mp4":
            payload = 10 * MB - 200
            out.write(mp4_header(seconds=60, mdat_size=payload))
            for _ in range(payload // (64 * 1024)):
                out.write(bytes(64 * 1024))
            out.write(bytes(payload % (64 * 1024)))
        else:
            block = MP3_FRAME * 150
            while out.tell() + len(block) <= 10 * MB:
                out.write(block)
    tracemalloc.start()
    try:
        with source.open("rb") as f, check_upload(f, original_name=source.name, **MEDIA) as checked:
            _, peak = tracemalloc.get_traced_memory()
            assert checked.size == source.stat().st_size
    finally:
        tracemalloc.stop()
    assert peak < 2 * MB, f"peak memory {peak} bytes while checking a 10 MB file"


# --- the upload handler ---------------------------------------------------------------------


class RecordingHandler(FileUploadHandler):
    """Stands for the handlers that store the file: records what reaches them."""

    received = 0

    def receive_data_chunk(self, raw_data, start):
        type(self).received += len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None


def multipart_request(*, file_bytes: int, limit: int | None):
    factory = RequestFactory()
    request = factory.post(
        "/upload/",
        {
            "title": "成果",
            "file": SimpleUploadedFile("a.pdf", b"x" * file_bytes),
            "after": "later field",
        },
    )
    if limit is not None:
        limit_upload_size(request, max_bytes=limit)
    return request


def test_handler_stops_a_file_over_the_limit():
    RecordingHandler.received = 0
    request = multipart_request(file_bytes=300_000, limit=100_000)
    request.upload_handlers.insert(1, RecordingHandler(request))
    assert "file" not in request.FILES
    assert request.upload_too_large is True
    assert request.upload_too_large_field == "file"
    assert request.POST["title"] == "成果"  # fields before the file arrive
    assert RecordingHandler.received <= 100_000  # nothing past the limit was passed on


def test_handler_lets_a_file_within_the_limit_through():
    request = multipart_request(file_bytes=100_000, limit=100_000)
    assert request.FILES["file"].size == 100_000
    assert request.upload_too_large is False
    assert request.POST["after"] == "later field"


def test_handler_reads_the_limit_from_the_request_or_settings(settings):
    request = multipart_request(file_bytes=5000, limit=None)
    request.upload_limit_bytes = 1000
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
    assert "file" not in request.FILES and request.upload_too_large

    settings.SUBMISSION_UPLOAD_MAX_BYTES = 1000
    request = multipart_request(file_bytes=5000, limit=None)
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request))
    assert "file" not in request.FILES and request.upload_too_large


@csrf_exempt
def upload_view(request):
    limit_upload_size(request, max_bytes=int(request.GET["limit"]))
    upload = request.FILES.get("file")
    return JsonResponse(
        {
            "too_large": request.upload_too_large,
            "size": upload.size if upload else None,
            "title": request.POST.get("title"),
        }
    )


urlpatterns = [path("upload/", upload_view)]


def test_handler_through_the_test_client(client, settings):
    settings.ROOT_URLCONF = __name__
    big = SimpleUploadedFile("big.mp4", bytes(2 * MB))
    response = client.post("/upload/?limit=1000000", {"title": "t", "file": big})
    assert response.status_code == 200
    assert response.json() == {"too_large": True, "size": None, "title": "t"}

    small = SimpleUploadedFile("small.mp4", bytes(1000))
    response = client.post("/upload/?limit=1000000", {"title": "t", "file": small})
    assert response.json() == {"too_large": False, "size": 1000, "title": "t"}
