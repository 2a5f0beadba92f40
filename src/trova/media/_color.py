"""Bring any decoded image to 8-bit sRGB RGB: scale deep pixels, flatten onto white, apply ICC."""

from __future__ import annotations

import io
from functools import cache, lru_cache
from typing import cast

from PIL import Image, ImageCms

# Modes Pillow resizes directly (with alpha premultiplied), so colour work can wait until
# the image is small.
_WORKING_MODES = {"L", "LA", "RGB", "RGBA", "CMYK"}
_WHITE: dict[str, int | tuple[int, int, int]] = {"L": 255, "RGB": (255, 255, 255)}


def to_working_mode(image: Image.Image) -> Image.Image:
    """Convert to L, LA, RGB, RGBA or CMYK, keeping transparency and scaling 16-bit values."""
    mode = image.mode
    has_alpha = image.has_transparency_data
    if mode in ("L", "RGB") and has_alpha:  # a PNG tRNS colour key
        return image.convert(mode + "A" if mode == "L" else "RGBA")
    if mode in _WORKING_MODES:
        return image
    if mode.startswith("I") or mode == "F":
        return _deep_gray_to_l(image)
    if mode == "1":
        return image.convert("L")
    if mode == "La":
        return image.convert("LA")
    if mode == "LAB":  # CIELab TIFFs; Pillow has no built-in LAB -> RGB conversion
        return _lab_to_srgb().apply(image)
    return image.convert("RGBA" if has_alpha else "RGB")


def to_srgb(image: Image.Image, icc_profile: bytes | None) -> Image.Image:
    """Return an RGB image in sRGB: transparency composited onto white, ICC profile applied."""
    if image.mode in ("LA", "RGBA"):
        image = _flatten_onto_white(image)
    if icc_profile is not None and not _is_srgb(icc_profile):
        transform = _transform_to_srgb(icc_profile, image.mode)
        if transform is not None:
            try:
                return transform.apply(image)
            except (ImageCms.PyCMSError, ValueError):
                pass  # fall through to the naive conversion below
    return image if image.mode == "RGB" else image.convert("RGB")


def _flatten_onto_white(image: Image.Image) -> Image.Image:
    base_mode = image.mode[:-1]  # "LA" -> "L", "RGBA" -> "RGB"
    background = Image.new(base_mode, image.size, _WHITE[base_mode])
    background.paste(image.convert(base_mode), mask=image.getchannel("A"))
    return background


def _deep_gray_to_l(image: Image.Image) -> Image.Image:
    # Pillow's own I;16 -> L conversion clips at 255 instead of scaling, which turns a 16-bit
    # grayscale PNG almost entirely white.
    if image.mode != "I" and image.mode != "F":
        image = image.convert("I")
    low, high = cast(tuple[float, float], image.getextrema())  # I and F: one band, (min, max)
    if image.mode == "F" and low >= 0 and high <= 1.0:
        scale = 255.0
    elif high <= 255:
        scale = 1.0
    elif high <= 65535:
        scale = 1 / 257
    else:
        scale = 255 / high
    if scale != 1.0:
        image = image.point(lambda value: value * scale)
    return image.convert("L")


@lru_cache(maxsize=64)
def _is_srgb(icc_profile: bytes) -> bool:
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        description = ImageCms.getProfileDescription(profile)
    except Exception:  # an unreadable profile is not sRGB; _transform_to_srgb gives up too
        return False
    # Cameras and phones label it "sRGB IEC61966-2.1", "sRGB built-in" and similar; skipping
    # the transform for them saves ~60 ms on a 3 MP photo.
    return "srgb" in description.lower()


@lru_cache(maxsize=16)
def _transform_to_srgb(icc_profile: bytes, mode: str) -> ImageCms.ImageCmsTransform | None:
    # Cached because phones embed the same few profiles (Display P3) in every photo, and
    # building a transform costs a few milliseconds.
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.buildTransform(source, _srgb_profile(), mode, "RGB")
    except Exception:  # a broken or mismatched profile: keep the photo, convert naively
        return None


@cache
def _srgb_profile() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@cache
def _lab_to_srgb() -> ImageCms.ImageCmsTransform:
    return ImageCms.buildTransform(ImageCms.createProfile("LAB"), _srgb_profile(), "LAB", "RGB")
