#!/usr/bin/env python3
"""Rebuild evals/datasets/starter/images/ (512 px long side JPEGs) from their sources.

    # the 64 demo photos (already in the repo):
    .venv/bin/python evals/datasets/starter/build_images.py
    # plus the 6 held-out Tux Paint stamp photos (needs the extracted Debian package):
    cd /tmp && apt-get download tuxpaint-stamps-default \
        && dpkg-deb -x tuxpaint-stamps-default_*.deb /tmp/tuxstamps
    .venv/bin/python evals/datasets/starter/build_images.py --stamps /tmp/tuxstamps

The held-out stamps are composited exactly like the demo photos (scripts/make_demo_photos.py:
plain light background, soft shadow, grain), then every photo is resized to 512 px on its long
side and saved as a metadata-free JPEG (quality 88). Deterministic.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
LONG_SIDE = 512

# (slug, stamp path under usr/share/tuxpaint/stamps, fill, flat) — not in the demo catalogue.
HELD_OUT = [
    ("traffic-cone", "town/roadsigns/traffic_cone.png", 0.80, False),
    ("highlighter-pen", "household/arttools/highlighter.png", 0.80, True),
    ("whiteboard-marker", "household/arttools/pen_dryerase.png", 0.80, True),
    ("wooden-clothes-peg", "clothes/clothespin_new.png", 0.80, True),
    ("small-scissors", "household/arttools/scissors_small_open.png", 0.80, True),
    ("lettuce-plant", "plants/lettuce_bolted.png", 0.80, False),
]


def save_small(img: Image.Image, path: Path) -> None:
    img = img.convert("RGB")
    scale = LONG_SIDE / max(img.size)
    if scale < 1:
        img = img.resize(
            (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
        )
    img.save(path, "JPEG", quality=88, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stamps", type=Path, help="where tuxpaint-stamps-default was extracted")
    args = parser.parse_args()
    out = HERE / "images"
    out.mkdir(exist_ok=True)
    demo = REPO / "src" / "trova" / "demo" / "photos"
    for src in sorted(demo.glob("*.jpg")):
        with Image.open(src) as img:
            save_small(img, out / src.name)
    made = len(list(demo.glob("*.jpg")))
    if args.stamps:
        sys.path.insert(0, str(REPO / "scripts"))
        from make_demo_photos import STAMPS_SUBDIR, Stamp, render_stamp

        for slug, rel, fill, flat in HELD_OUT:
            spec = Stamp(slug, rel, fill=fill, flat=flat)
            save_small(render_stamp(args.stamps / STAMPS_SUBDIR / rel, spec), out / f"{slug}.jpg")
            made += 1
    print(f"wrote {made} images to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
