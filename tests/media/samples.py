"""Images and hand-made file headers for the intake tests, all built in memory."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image, ImageCms, ImageDraw

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    """Save `image` in `fmt` and return the bytes."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def photo(width: int = 640, height: int = 480) -> Image.Image:
    """A deterministic photo-like RGB image: a gradient with a few shapes on it."""
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (gradient, gradient.transpose(Image.Transpose.ROTATE_180), gradient))
    draw = ImageDraw.Draw(image)
    draw.ellipse((width // 5, height // 5, width // 2, height // 2), fill="tomato")
    draw.rectangle((width // 2, height // 2, 4 * width // 5, 4 * height // 5), fill="teal")
    return image


def quadrants(width: int = 300, height: int = 200) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, yellow bottom-right."""
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    half_w, half_h = width // 2, height // 2
    draw.rectangle((0, 0, half_w - 1, half_h - 1), fill=RED)
    draw.rectangle((half_w, 0, width, half_h - 1), fill=GREEN)
    draw.rectangle((0, half_h, half_w - 1, height), fill=BLUE)
    draw.rectangle((half_w, half_h, width, height), fill=YELLOW)
    return image


def close(actual: object, expected: object, tolerance: int = 12) -> bool:
    """Whether two RGB colours (as getpixel returns them) match within JPEG's rounding."""
    assert isinstance(actual, tuple) and isinstance(expected, tuple), (actual, expected)
    return all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to the start of scan (0xE1 is APP1, 0xFE COM)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers, at = [], 2
    while at < len(data):
        assert data[at] == 0xFF, f"bad segment at {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        at += 2 + length
    return markers


def png_chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk with a correct CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG signature and IHDR claiming any size, with no pixel data: a bomb's calling card."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def gif_header(screen: tuple[int, int], frame: tuple[int, int]) -> bytes:
    """A tiny GIF whose logical screen and first frame claim the given sizes."""
    header = b"GIF89a" + struct.pack("<HH", *screen) + b"\x80\x00\x00" + b"\x00" * 3 + b"\xff" * 3
    descriptor = b"," + struct.pack("<HHHH", 0, 0, *frame) + b"\x00"
    return header + descriptor + b"\x02\x02\x44\x01\x00" + b";"


def webp_header(width: int, height: int) -> bytes:
    """A WebP (VP8X) header claiming a canvas size, with no image data after it."""
    vp8x = (
        b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    )
    body = b"WEBP" + b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", len(body)) + body


def srgb_profile() -> bytes:
    """Pillow's built-in sRGB ICC profile."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def swapped_profile() -> bytes:
    """An RGB ICC profile whose red and green primaries are swapped: its red is sRGB green.

    Made from the sRGB profile by swapping the rXYZ and gXYZ tag offsets, renaming it so it
    does not claim to be sRGB, and clearing the profile ID (its MD5) that the edits invalidate.
    """
    data = bytearray(srgb_profile())
    (count,) = struct.unpack(">I", data[128:132])
    entries = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, green = entries[b"rXYZ"], entries[b"gXYZ"]
    data[red + 4 : red + 12], data[green + 4 : green + 12] = (
        data[green + 4 : green + 12],
        data[red + 4 : red + 12],
    )
    data[84:100] = bytes(16)
    old_name, new_name = "sRGB built-in".encode("utf-16-be"), "Swapped RG!!!".encode("utf-16-be")
    assert old_name in data, "the sRGB profile's description changed; update this helper"
    return bytes(data).replace(old_name, new_name)
