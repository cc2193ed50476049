"""Real small files of each kind the platform accepts (and some it refuses), and what the storage holds."""

import io
from pathlib import Path

from PIL import ExifTags, Image
from pypdf import PdfWriter


def stored_files(location: Path) -> list[Path]:
    """Every file under a storage folder."""
    return [p for p in location.rglob("*") if p.is_file()] if location.exists() else []


MB = 1024 * 1024


def make_pdf(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Artist] = "Student Wang"
    exif[ExifTags.Base.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (25.0, 2.0, 0.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (121.0, 33.0, 0.0),
    }
    return exif


def make_png(size=(40, 30), *, exif: Image.Exif | None = None, text: bool = False) -> bytes:
    from PIL import PngImagePlugin

    image = Image.new("RGB", size, (200, 30, 30))
    buf = io.BytesIO()
    options = {}
    if exif is not None:
        options["exif"] = exif
    if text:
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "home address: 1 Secret Road")
        info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>GPS 25.03N</x:xmpmeta>")
        options["pnginfo"] = info
    image.save(buf, format="PNG", **options)
    return buf.getvalue()


# MPEG-1 Layer III, 128 kbps, 44.1 kHz, no padding: 144 * 128000 / 44100 = 417 bytes a frame.
MP3_FRAME = bytes([0xFF, 0xFB, 0x90, 0x64]) + bytes(417 - 4)


def make_mp3(frames: int = 20) -> bytes:
    return MP3_FRAME * frames


HTML = b"<!DOCTYPE html>\n<html><head><title>x</title></head><body><script>alert(1)</script></body></html>\n"
