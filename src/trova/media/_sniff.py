"""Tell what a file is from its first bytes; the file name and declared type are never trusted."""

from __future__ import annotations

import codecs

from trova.media.errors import ACCEPTED_HINT, ImageRejected

# Pillow format names of the photo types intake accepts.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

_TIFF_PREFIXES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF
_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}  # DIB header lengths Pillow understands
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def detect_format(raw: bytes) -> str:
    """Return the Pillow format name of an accepted photo, or raise ImageRejected."""
    head = raw[:32]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return "BMP"
    if head.startswith(_TIFF_PREFIXES):
        return "TIFF"
    label = describe_other(raw)
    detected = f" (detected: {label})" if label else ""
    raise ImageRejected(
        "unsupported_type", f"This file is not a photo we can read{detected}. {ACCEPTED_HINT}"
    )


def describe_other(raw: bytes) -> str | None:
    """Name a common non-photo file type for the rejection message, or None if unrecognised."""
    head = raw[:32]
    if head.startswith(b"%PDF-"):
        return "PDF"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "ZIP archive"
    if head.startswith(b"\x1f\x8b"):
        return "gzip archive"
    if head.startswith(b"8BPS"):
        return "Photoshop document"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC"
        if brand in _AVIF_BRANDS:
            return "AVIF"
        return "video"
    return _describe_text(raw[:4096])


def _describe_text(sample: bytes) -> str | None:
    text = _decode_text(sample)
    if text is None:
        return None
    lowered = text.lstrip().lower()
    if "<svg" in lowered:
        return "SVG"
    if lowered.startswith(("<!doctype html", "<html")) or any(
        tag in lowered for tag in ("<head", "<body", "<script", "<iframe")
    ):
        return "HTML"
    if lowered.startswith("<?xml"):
        return "XML"
    return "text"


def _decode_text(sample: bytes) -> str | None:
    encoding = "utf-16" if sample.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    try:
        # Incremental, not final: a character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return None
    if text and all(ch.isprintable() or ch in "\t\n\r\f" for ch in text):
        return text
    return None
