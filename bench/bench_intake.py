"""Time trova.media.normalize() on realistic uploads and print p50/p95; writes no files.

    python bench/bench_intake.py [--runs 40]

Inputs are made in memory: a 12 MP (4000 x 3000) camera-like JPEG (gradients, shapes, sensor-like
noise, EXIF; about 3 MB at quality 92, like a phone photo), the same JPEG tagged with a
non-sRGB ICC profile (the Display P3 case: every pixel goes through LittleCMS), and a 1 MP PNG.
"""

from __future__ import annotations

import argparse
import functools
import io
import os
import random
import statistics
import struct
import time
from collections.abc import Callable

from PIL import ExifTags, Image, ImageCms, ImageDraw, ImageFilter

from trova.media import normalize


def camera_like(width: int, height: int, seed: int = 12) -> Image.Image:
    """A photo-like RGB image: smooth gradients, blurred shapes and per-channel noise."""
    rnd = random.Random(seed)
    ramp = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGB", (ramp, Image.radial_gradient("L").resize((width, height)), ramp.rotate(180))
    )
    draw = ImageDraw.Draw(image)
    for _ in range(300):
        x, y, size = rnd.randrange(width), rnd.randrange(height), rnd.randrange(20, 600)
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        shape = draw.ellipse if rnd.random() < 0.5 else draw.rectangle
        shape((x, y, x + size, y + size * rnd.uniform(0.3, 1.5)), fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(2))
    noise = Image.effect_noise((width, height), 64)
    flips = (Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM)
    noise_rgb = Image.merge("RGB", (noise, noise.transpose(flips[0]), noise.transpose(flips[1])))
    return Image.blend(image, noise_rgb, 0.1)


def non_srgb_profile() -> bytes:
    """An RGB matrix/TRC ICC profile that is not sRGB (sRGB with red and green swapped)."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    (count,) = struct.unpack(">I", data[128:132])
    entries = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, green = entries[b"rXYZ"], entries[b"gXYZ"]
    data[red + 4 : red + 12], data[green + 4 : green + 12] = (
        data[green + 4 : green + 12],
        data[red + 4 : red + 12],
    )
    data[84:100] = bytes(16)
    return bytes(data).replace("sRGB".encode("utf-16-be"), "Test".encode("utf-16-be"))


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def timings(function: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def report(name: str, raw: bytes, samples: list[float]) -> None:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    result = normalize(raw)
    print(
        f"{name:<34} {len(raw) / 1e6:5.2f} MB  p50 {cuts[49]:6.1f} ms  p95 {cuts[94]:6.1f} ms  "
        f"max {max(samples):6.1f} ms  -> {result.width}x{result.height}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="timed runs per input")
    runs = parser.parse_args().runs

    exif = Image.Exif()
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Orientation] = "BenchCam", 1
    big = camera_like(4000, 3000)
    jpeg_12mp = encode(big, "JPEG", quality=92, exif=exif)
    jpeg_12mp_icc = encode(big, "JPEG", quality=92, exif=exif, icc_profile=non_srgb_profile())
    png_1mp = encode(camera_like(1152, 864), "PNG")

    print(f"trova.media.normalize, {runs} runs each, {os.cpu_count()} CPUs")
    for name, raw in [
        ("12 MP JPEG 4000x3000", jpeg_12mp),
        ("12 MP JPEG, non-sRGB ICC profile", jpeg_12mp_icc),
        ("1 MP PNG 1152x864", png_1mp),
    ]:
        report(name, raw, timings(functools.partial(normalize, raw), runs))

    def decode_only() -> None:
        image = Image.open(io.BytesIO(jpeg_12mp))
        image.draft("RGB", (2000, 1500))
        image.load()

    cuts = statistics.quantiles(timings(decode_only, runs), n=100, method="inclusive")
    print(
        f"{'  floor: its half-scale decode alone':<34} {'':8}  p50 {cuts[49]:6.1f} ms  "
        f"p95 {cuts[94]:6.1f} ms"
    )


if __name__ == "__main__":
    main()
