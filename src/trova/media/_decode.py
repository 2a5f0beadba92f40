"""Open an upload with Pillow safely: check the header's dimensions, then decode every pixel."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from PIL import (
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from trova.media._color import to_working_mode
from trova.media._sniff import detect_format
from trova.media.errors import ImageRejected, megapixels

# The plugin classes themselves rather than Image.open(): Image.open() runs Pillow's own
# decompression-bomb check, which between 89 and 179 megapixels only *warns* and carries on.
# We check the header against our own (lower) limit instead, before any pixel is decoded.
_OPENERS: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
    "JPEG": JpegImagePlugin.JpegImageFile,
    "PNG": PngImagePlugin.PngImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
    "GIF": GifImagePlugin.GifImageFile,
    "BMP": BmpImagePlugin.BmpImageFile,
    "TIFF": TiffImagePlugin.TiffImageFile,
}

# A JPEG may be decoded at 1/2, 1/4 or 1/8 scale as long as its long side stays at least this
# share of the target: a 4000 px photo then decodes straight to 2000 px for a 2048 px target,
# skipping three quarters of the decode work and the whole resize.
DRAFT_MIN_SHARE = 0.75

_ORIENTATION_TAG = 0x0112
_QUARTER_TURNS = {5, 6, 7, 8}  # EXIF orientations that swap width and height

CORRUPT_MESSAGE = (
    "This photo is damaged or incomplete, so we could not read it. "
    "Upload it again, or export a fresh copy from your photo app."
)


@dataclass(frozen=True)
class Decoded:
    """A fully decoded first frame plus what intake needs from the file's metadata."""

    image: Image.Image  # in a working mode: L, LA, RGB, RGBA or CMYK
    format: str
    source_size: tuple[int, int]  # as displayed, i.e. after EXIF orientation
    orientation: int  # EXIF orientation still to apply, 1-8; 1 when none (Pillow rotates TIFFs)
    icc_profile: bytes | None


def decode(raw: bytes, *, max_pixels: int, min_side: int, target_side: int) -> Decoded:
    """Decode the first frame of an accepted photo type, or raise ImageRejected."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        raise RuntimeError(
            "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True, so truncated uploads would be stored "
            "half grey. Remove the code that sets it; trova.media needs the default (False)."
        )
    if Image.MAX_IMAGE_PIXELS is not None:
        # Stay under Pillow's own threshold so its warnings never fire on an image we accept.
        max_pixels = min(max_pixels, Image.MAX_IMAGE_PIXELS)
    fmt = detect_format(raw)
    if fmt == "WEBP" and (canvas := webp_canvas_size(raw)) is not None:
        # Pillow allocates the WebP canvas while opening, so check before it does.
        check_dimensions(canvas, max_pixels=max_pixels, min_side=min_side)
    with _rejecting_unreadable(max_pixels):
        image = _OPENERS[fmt](io.BytesIO(raw))
    source_size = image.size
    check_dimensions(source_size, max_pixels=max_pixels, min_side=min_side)
    if fmt == "JPEG":
        _draft(image, target_side)
    with _rejecting_unreadable(max_pixels):
        image.load()
        orientation, icc_profile = _orientation(image), _icc_profile(image)
        working = to_working_mode(image)
    if orientation in _QUARTER_TURNS:
        source_size = source_size[1], source_size[0]
    return Decoded(
        image=working,
        format=fmt,
        source_size=source_size,
        orientation=orientation,
        icc_profile=icc_profile,
    )


def check_dimensions(size: tuple[int, int], *, max_pixels: int, min_side: int) -> None:
    """Reject a header whose pixel count is over the limit or whose short side is too small."""
    width, height = size
    if width * height > max_pixels:
        raise ImageRejected(
            "too_many_pixels",
            f"This photo is {width} × {height} pixels "
            f"({megapixels(width * height, round_up=True)}); the limit is "
            f"{megapixels(max_pixels)}. Resize it and upload it again.",
        )
    if min(width, height) < min_side:
        raise ImageRejected(
            "too_small",
            f"This photo is only {width} × {height} pixels; photos must be at least "
            f"{min_side} pixels on each side. Upload a larger photo.",
        )


def webp_canvas_size(raw: bytes) -> tuple[int, int] | None:
    """Read a WebP's canvas size from its first 30 bytes, or None if the header is unusual."""
    chunk = raw[12:16]
    if chunk == b"VP8 " and len(raw) >= 30 and raw[23:26] == b"\x9d\x01\x2a":
        return _u16(raw, 26) & 0x3FFF, _u16(raw, 28) & 0x3FFF
    if chunk == b"VP8X" and len(raw) >= 30:
        return _u24(raw, 24) + 1, _u24(raw, 27) + 1
    if chunk == b"VP8L" and len(raw) >= 25 and raw[20] == 0x2F:
        bits = int.from_bytes(raw[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def _u16(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 2], "little")


def _u24(raw: bytes, at: int) -> int:
    return int.from_bytes(raw[at : at + 3], "little")


def _draft(image: ImageFile.ImageFile, target_side: int) -> None:
    width, height = image.size
    floor = target_side * DRAFT_MIN_SHARE
    for scale in (8, 4, 2):
        if max(width, height) / scale >= floor:
            # Pillow picks the largest scale whose result is at least the requested size.
            image.draft("RGB", (max(1, width // scale), max(1, height // scale)))
            return


@contextmanager
def _rejecting_unreadable(max_pixels: int) -> Iterator[None]:
    """Turn anything Pillow raises on a hostile or broken file into ImageRejected."""
    try:
        yield
    except Image.DecompressionBombError as exc:
        raise ImageRejected(
            "too_many_pixels",
            f"This photo has more pixels than our limit of {megapixels(max_pixels)}. "
            "Resize it and upload it again.",
        ) from exc
    except Exception as exc:
        # Pillow raises a zoo of types on malformed input (OSError, SyntaxError, ValueError,
        # struct.error, EOFError, IndexError, MemoryError...): all mean "cannot read this file".
        raise ImageRejected("corrupt", CORRUPT_MESSAGE) from exc


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_ORIENTATION_TAG, 1)
    except Exception:  # a broken EXIF block only costs us the rotation, never the photo
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _icc_profile(image: Image.Image) -> bytes | None:
    profile = image.info.get("icc_profile")
    return profile if isinstance(profile, bytes) and profile else None
