"""Photo intake: turn an untrusted upload into a metadata-free sRGB JPEG and its thumbnails.

Every rejection is an ImageRejected whose message can be shown to the seller as is.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import ClassVar

from PIL import Image

from trova.media._color import to_srgb
from trova.media._decode import Decoded, decode
from trova.media.errors import ImageRejected, megabytes

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_MAX_SIDE",
    "DEFAULT_MIN_SIDE",
    "THUMBNAIL_SIDES",
    "ImageRejected",
    "NormalizedImage",
    "normalize",
    "resize_for_model",
]

DEFAULT_MAX_BYTES = 15 * 1024 * 1024
DEFAULT_MAX_PIXELS = 50_000_000
# 160 px on the short side: the smallest photo that still fills a "thumb" (160 px long side)
# without upscaling; anything smaller is an icon or a screenshot crop, not a listing photo.
DEFAULT_MIN_SIDE = 160
DEFAULT_MAX_SIDE = 2048
# Thumbnail variants by long side, largest first: each is resized from the one before.
THUMBNAIL_SIDES: dict[str, int] = {"card": 400, "thumb": 160}
JPEG_QUALITY = 85

_ORIENTATION_TRANSPOSE = {  # EXIF orientation -> the transpose that undoes it (as ImageOps)
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True)
class NormalizedImage:
    """A photo ready to store: normalized JPEG bytes, its thumbnails and where it came from."""

    data: bytes  # JPEG, no metadata, sRGB, upright, long side <= max_side
    width: int
    height: int
    thumbnails: dict[str, bytes]  # variant name (see THUMBNAIL_SIDES) -> JPEG bytes
    source_format: str  # "JPEG", "PNG", "WEBP", "GIF", "BMP" or "TIFF"
    source_width: int  # the upload's size as displayed, i.e. after EXIF orientation
    source_height: int
    sha256: str  # hex digest of `data`

    content_type: ClassVar[str] = "image/jpeg"

    def variants(self) -> dict[str, bytes]:
        """Every file to store by variant name: "full" plus each thumbnail."""
        return {"full": self.data, **self.thumbnails}


def normalize(
    raw: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    min_side: int = DEFAULT_MIN_SIDE,
    max_side: int = DEFAULT_MAX_SIDE,
) -> NormalizedImage:
    """Validate an upload and return its normalized JPEG and thumbnails, or raise ImageRejected.

    A JPEG is decoded at a reduced DCT scale when that keeps at least 3/4 of `max_side`, so a
    4000 px photo is stored at 2000 px rather than resized to 2048 px, for a quarter the work.
    """
    _require_positive(max_bytes=max_bytes, max_pixels=max_pixels, min_side=min_side)
    decoded = _checked_decode(
        raw, max_bytes=max_bytes, max_pixels=max_pixels, min_side=min_side, side=max_side
    )
    full = _finish(decoded, max_side)
    data = _encode_jpeg(full)
    thumbnails: dict[str, bytes] = {}
    smaller = full
    for name, side in THUMBNAIL_SIDES.items():
        smaller = _fit(smaller, side)
        thumbnails[name] = _encode_jpeg(smaller, optimize=True)
    source_width, source_height = decoded.source_size
    return NormalizedImage(
        data=data,
        width=full.width,
        height=full.height,
        thumbnails=thumbnails,
        source_format=decoded.format,
        source_width=source_width,
        source_height=source_height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def resize_for_model(data: bytes, max_side: int) -> bytes:
    """Return a metadata-free sRGB JPEG, long side at most `max_side`, to send to a vision model."""
    if _already_fits(data, max_side):
        return data  # e.g. a normalized photo that is small enough: no decode, no re-encode
    decoded = _checked_decode(
        data, max_bytes=DEFAULT_MAX_BYTES, max_pixels=DEFAULT_MAX_PIXELS, min_side=1, side=max_side
    )
    return _encode_jpeg(_finish(decoded, max_side))


def _already_fits(data: bytes, max_side: int) -> bool:
    """A plain JPEG, upright, without metadata or ICC profile, and no larger than max_side."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            return (
                probe.format == "JPEG"
                and probe.mode == "RGB"
                and max(probe.size) <= max_side
                and not {"exif", "icc_profile", "xmp", "comment"} & set(probe.info)
            )
    except Exception:  # anything odd goes the long, checked way
        return False


def _checked_decode(
    raw: bytes, *, max_bytes: int, max_pixels: int, min_side: int, side: int
) -> Decoded:
    _require_positive(max_side=side)
    if not raw:
        raise ImageRejected("empty", "This file is empty. Choose a photo and upload it again.")
    if len(raw) > max_bytes:
        raise ImageRejected(
            "too_large",
            f"This file is {megabytes(len(raw), round_up=True)}; the limit is "
            f"{megabytes(max_bytes)}. Upload a smaller photo, or export it at a lower quality "
            "or size.",
        )
    return decode(raw, max_pixels=max_pixels, min_side=min_side, target_side=side)


def _finish(decoded: Decoded, max_side: int) -> Image.Image:
    # Resize first: colour conversion and rotation then touch as few pixels as possible.
    image = _fit(decoded.image, max_side)
    image = to_srgb(image, decoded.icc_profile)
    transpose = _ORIENTATION_TRANSPOSE.get(decoded.orientation)
    if transpose is not None:  # not truthiness: FLIP_LEFT_RIGHT is 0
        image = image.transpose(transpose)
    # Pillow copies `info` along every step and re-emits parts of it (the JPEG comment) on save.
    image.info = {}
    return image


def _fit(image: Image.Image, side: int) -> Image.Image:
    width, height = image.size
    if max(width, height) <= side:
        return image  # never upscale
    scale = side / max(width, height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    # reducing_gap=1: box-average by the whole factor first, then Lanczos for the rest. Measured
    # 3-5x faster than plain Lanczos (2000 -> 400 px: 2.4 vs 13 ms; 7000 -> 2048 px: 0.33 vs
    # 1.05 s) and 43 dB PSNR from it, well under what JPEG at quality 85 changes anyway.
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=1.0)


def _encode_jpeg(image: Image.Image, *, optimize: bool = False) -> bytes:
    # No exif, icc_profile, xmp or comment arguments: the output carries no metadata at all.
    # optimize (Huffman tables) saves ~13% but doubles encode time at 2048 px, so only thumbnails.
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=optimize)
    return buffer.getvalue()


def _require_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}; check the caller.")
