"""Real-enough images made in memory for tests."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw


def jpeg_bytes(width: int = 640, height: int = 480, color: str = "tomato") -> bytes:
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=color)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def png_bytes(width: int = 400, height: int = 300) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (width, height), (30, 120, 200, 255)).save(buf, "PNG")
    return buf.getvalue()
