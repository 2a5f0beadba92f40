#!/usr/bin/env python3
"""Build the demo catalogue photos in src/trova/demo/photos/ from real, freely licensed photos.

Sources (see src/trova/demo/ATTRIBUTION.md for per-photo credits and licenses):
  * Debian package ``tuxpaint-stamps-default`` (2022.06.04-1, GPL-2+): photo cut-outs with an
    alpha channel. Each is trimmed, composited onto a plain light "product photo" background
    (a slightly varied off-white/light-gray sweep with a soft contact shadow), padded to 4:3 or
    1:1 and resized so the long side is 1024 px.
  * scikit-image's bundled sample photos (optional): ``coffee.png``, ``motorcycle_left.png``,
    ``motorcycle_right.png``, ``coins.png``. These are full photos: cropped to 4:3, resized.

Every output is an RGB baseline JPEG, quality 85, with no EXIF/ICC/comment metadata.
The output is deterministic (all randomness is seeded by the photo slug).

Reproduce (Debian/Ubuntu host; only Pillow is needed, scikit-image only for 4 photos):

    cd /tmp && apt-get download tuxpaint-stamps-default \
        && dpkg-deb -x tuxpaint-stamps-default_*.deb /tmp/tuxstamps
    python3 -m venv /tmp/toolvenv && /tmp/toolvenv/bin/pip install pillow scikit-image
    /tmp/toolvenv/bin/python scripts/make_demo_photos.py /tmp/tuxstamps
    # or, without scikit-image (the 4 skimage photos are then skipped with a warning):
    .venv/bin/python scripts/make_demo_photos.py /tmp/tuxstamps

Options: ``--out DIR`` (default: src/trova/demo/photos next to this script's repo),
``--skimage-data DIR`` (default: the installed ``skimage/data`` folder), ``--only SLUG,...``.
"""

from __future__ import annotations

import argparse
import importlib
import random
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

LONG_SIDE = 1024
JPEG_QUALITY = 85
STAMPS_SUBDIR = Path("usr/share/tuxpaint/stamps")

# Upscaling limits for the (often small) stamp cut-outs: never enlarge more than MAX_UPSCALE,
# unless the object would then be smaller than MIN_FILL of the canvas' short side.
MAX_UPSCALE = 4.5
MIN_FILL = 0.42


@dataclass(frozen=True)
class Stamp:
    """A cut-out from tuxpaint-stamps-default, relative to usr/share/tuxpaint/stamps."""

    slug: str
    path: str
    aspect: str = "auto"  # "auto" | "4:3" | "1:1"
    fill: float = 0.80  # fraction of the canvas box the object may occupy
    flat: bool = False  # object lies on the surface: drop shadow instead of contact shadow


@dataclass(frozen=True)
class SkimagePhoto:
    """A full photo from scikit-image's data folder, cropped to 4:3 (box in source pixels)."""

    slug: str
    filename: str
    box: tuple[int, int, int, int] | None = None  # left, top, right, bottom; None = centre crop


STAMPS: list[Stamp] = [
    # Musical instruments
    Stamp("classical-guitar", "hobbies/music/string/guitar_classical.png", fill=0.86),
    Stamp("electric-guitar-black", "hobbies/music/string/guitar_electric.png", fill=0.86),
    Stamp("bass-guitar-5-string", "hobbies/music/string/guitar_electric_bass.png", fill=0.88),
    Stamp("cello", "hobbies/music/string/cello.png", fill=0.88),
    Stamp("violin", "hobbies/music/string/violin.png", fill=0.80),
    Stamp("bassoon", "hobbies/music/wind/bassoon.png", fill=0.90),
    Stamp("trumpet", "hobbies/music/brass/trumpet.png", flat=True),
    Stamp("drum-kit", "hobbies/music/percussion/drumkit.png"),
    Stamp("crash-cymbal", "hobbies/music/percussion/cymbal_crash.png", flat=True),
    Stamp("floor-tom", "hobbies/music/percussion/drum_tomtom_floor.png"),
    # Electronics, optics
    Stamp("film-camera-canon-f1", "hobbies/camera_35mm.png"),
    Stamp("binoculars", "hobbies/binoculars.png"),
    # Tools & DIY
    Stamp("cement-mixer", "household/tools/cementmixer.png"),
    Stamp("claw-hammer", "household/tools/hammer.png", flat=True),
    Stamp("club-hammer", "household/tools/mallet_metal.png", flat=True),
    Stamp("tape-measure", "household/tools/measuring_tape.png", flat=True),
    Stamp("paint-brush", "household/tools/paintbrush_large.png", flat=True),
    Stamp("needle-nose-pliers", "household/tools/plyers.png", flat=True),
    Stamp("hand-saw", "household/tools/saw.png", flat=True),
    Stamp("red-toolbox", "household/tools/toolbox.png"),
    Stamp("combination-spanner", "household/tools/wrench.png", flat=True),
    Stamp("adjustable-wrench", "household/tools/wrench_adjustable.png", flat=True),
    Stamp("monkey-wrench", "household/tools/wrench_plumbers.png", flat=True),
    Stamp("toilet", "household/toilet.png"),
    Stamp("site-dumper", "vehicles/construction/dumper.png"),
    # Garden
    Stamp("garden-spade", "household/tools/spade.png", fill=0.90),
    Stamp("compost-bin", "household/home_compost_bin.png"),
    Stamp("wheelie-bin", "household/wheelie_bin.png"),
    Stamp("gas-bottle", "household/cylinder.png", fill=0.88),
    Stamp("lavender-plant", "plants/lavender.png"),
    Stamp("thyme-plant", "plants/thyme.png"),
    Stamp("aubergine-plant", "plants/eggplant.png", fill=0.86),
    # Home & kitchen
    Stamp("kettle-russell-hobbs", "household/kettle.png"),
    Stamp("white-mug", "household/dishes/mug.png"),
    Stamp("porcelain-jug", "household/dishes/pitcher_small.png"),
    Stamp("brown-teapot", "household/dishes/teapot.png"),
    Stamp("nutcracker", "household/dishes/utensils/nutcracker.png", flat=True),
    Stamp("pepper-mill", "household/dishes/utensils/pepper_grinder.png"),
    Stamp("metal-bin", "household/garbagecan.png"),
    Stamp("light-bulb", "household/Lightbulb.png"),
    Stamp("incense-smoker-figure", "seasonal/christmas/German_Christmas_toy.png"),
    Stamp("christmas-tree", "seasonal/christmas/Christmas_Tree_photo.png", fill=0.86),
    Stamp("walnut-boat", "vehicles/ship/walnutBoat.png"),
    # Sports
    Stamp("basketball", "sports/basketball.png"),
    Stamp("cricket-ball", "sports/cricketball.png"),
    Stamp("american-football", "sports/football.png"),
    Stamp("soccer-ball", "sports/soccer.png"),
    Stamp("tennis-ball", "sports/tennis_ball.png"),
    Stamp("tennis-racket", "sports/tennis_racket.png", fill=0.86),
    Stamp("aussie-rules-football", "sports/australian_rules_football.png"),
    Stamp("trophy-cup", "sports/trophy_cup.png"),
    # Toys, kids
    Stamp("rubber-duck", "household/rubberduck.png"),
    Stamp("rag-doll", "people/toys/grannysmith.png"),
    Stamp("kids-tricycle", "vehicles/cycle/pink_tricycle.png"),
    # Vehicles
    Stamp("vw-beetle", "vehicles/auto/beetle.png"),
    Stamp("blue-saloon", "vehicles/auto/sedan.png"),
    Stamp("red-convertible", "vehicles/auto/sportscar2.png"),
    Stamp("pickup-truck", "vehicles/auto/truck.png"),
    Stamp("tractor-tyre", "vehicles/wheel_tractor.png"),
    # Other
    Stamp("stethoscope", "medical/stethoscope.png", flat=True),
]

SKIMAGE: list[SkimagePhoto] = [
    SkimagePhoto("espresso-cup", "coffee.png"),
    SkimagePhoto("yamaha-maxim-1", "motorcycle_left.png"),
    # Second photo of the same bike: the right camera of the stereo pair, cropped to the engine.
    SkimagePhoto("yamaha-maxim-2", "motorcycle_right.png", box=(180, 150, 580, 450)),
    SkimagePhoto("coin-collection", "coins.png"),
]


def _rng(slug: str) -> random.Random:
    return random.Random(zlib.crc32(slug.encode("utf-8")))


def _canvas_size(obj_w: int, obj_h: int, aspect: str) -> tuple[int, int]:
    if aspect == "auto":
        aspect = "4:3" if obj_w / obj_h >= 1.2 else "1:1"
    if aspect == "4:3":
        return LONG_SIDE, LONG_SIDE * 3 // 4
    return LONG_SIDE, LONG_SIDE


def _noise_tile(rng: random.Random, size: int = 128, sigma: float = 1.6) -> Image.Image:
    """A small seeded grain tile (mean 128) to break up JPEG banding on flat backgrounds."""
    data = bytes(max(0, min(255, round(128 + rng.gauss(0, sigma)))) for _ in range(size * size))
    return Image.frombytes("L", (size, size), data)


def _add_grain(img: Image.Image, rng: random.Random) -> Image.Image:
    tile = _noise_tile(rng)
    grain = Image.new("L", img.size)
    for y in range(0, img.height, tile.height):
        for x in range(0, img.width, tile.width):
            grain.paste(tile, (x, y))
    grain_rgb = Image.merge("RGB", (grain, grain, grain))
    # img + grain - 128, clipped
    return ImageChops.add(img, grain_rgb, scale=1.0, offset=-128)


def _background(size: tuple[int, int], rng: random.Random) -> Image.Image:
    """An off-white / light-gray seamless sweep: lighter at the top, a touch darker below."""
    w, h = size
    base = rng.uniform(233, 246)
    tint = rng.choice([(2.5, 1.0, -2.5), (0, 0, 0), (-1.5, 0, 2.0), (1.5, 1.5, -1.0)])
    top_lift = rng.uniform(4, 8)
    bottom_drop = rng.uniform(8, 16)
    # vertical gradient column, stretched horizontally
    col = Image.new("RGB", (1, h))
    column: list[tuple[int, int, int]] = []
    for y in range(h):
        t = y / (h - 1)
        # smooth-step so the "horizon" of the sweep is soft
        s = t * t * (3 - 2 * t)
        v = base + top_lift * (1 - s) - bottom_drop * s
        r, g, b = (max(0, min(255, round(v + c))) for c in tint)
        column.append((r, g, b))
    col.putdata(column)
    bg = col.resize((w, h), Image.Resampling.BILINEAR)
    # gentle vignette: darken corners a little
    vign = Image.new("L", (w, h), 0)
    d = ImageDraw.Draw(vign)
    d.ellipse((-w * 0.25, -h * 0.25, w * 1.25, h * 1.25), fill=255)
    vign = vign.filter(ImageFilter.GaussianBlur(radius=min(w, h) * 0.18))
    darker = Image.eval(bg, lambda v: max(0, v - 10))
    return Image.composite(bg, darker, vign)


def _trim(img: Image.Image) -> Image.Image:
    alpha = img.getchannel("A").point(lambda a: 255 if a > 8 else 0)
    bbox = alpha.getbbox()
    return img.crop(bbox) if bbox else img


def _harden_alpha(img: Image.Image) -> Image.Image:
    """Tighten the soft fringe that enlarging a cut-out produces."""
    a = img.getchannel("A").point(lambda v: max(0, min(255, round((v - 24) * 255 / 200))))
    img = img.copy()
    img.putalpha(a)
    return img


def render_stamp(src: Path, spec: Stamp) -> Image.Image:
    rng = _rng(spec.slug)
    obj = _trim(Image.open(src).convert("RGBA"))
    ow, oh = obj.size
    cw, ch = _canvas_size(ow, oh, spec.aspect)
    box_w, box_h = cw * spec.fill, ch * spec.fill
    s_fit = min(box_w / ow, box_h / oh)
    s_floor = MIN_FILL * min(cw, ch) / max(ow, oh)
    scale = min(s_fit, max(MAX_UPSCALE, s_floor))
    nw, nh = max(1, round(ow * scale)), max(1, round(oh * scale))
    obj = obj.resize((nw, nh), Image.Resampling.LANCZOS)
    if scale > 1.3:
        obj = _harden_alpha(obj)
        rgb = obj.convert("RGB").filter(ImageFilter.UnsharpMask(radius=2, percent=70, threshold=2))
        rgb.putalpha(obj.getchannel("A"))
        obj = rgb

    canvas = _background((cw, ch), rng).convert("RGBA")
    x = round((cw - nw) / 2 + rng.uniform(-0.015, 0.015) * cw)
    # sit slightly above centre so the shadow has room
    y = round((ch - nh) / 2 - 0.02 * ch + rng.uniform(-0.01, 0.01) * ch)
    x = max(0, min(cw - nw, x))
    y = max(0, min(ch - nh, y))

    shadow = Image.new("L", (cw, ch), 0)
    if spec.flat:
        # lying on the surface: offset, blurred silhouette
        off = (round(nw * 0.015) + 6, round(nh * 0.03) + 8)
        shadow.paste(obj.getchannel("A"), (x + off[0], y + off[1]))
        shadow = shadow.filter(ImageFilter.GaussianBlur(radius=10 + 0.01 * max(nw, nh)))
        strength = rng.uniform(0.22, 0.30)
    else:
        # standing: soft elliptical contact shadow under the base
        d = ImageDraw.Draw(shadow)
        ew = nw * 0.92
        eh = max(14, min(nh * 0.07, 50))
        cx, cy = x + nw / 2, y + nh - eh * 0.25
        d.ellipse((cx - ew / 2, cy - eh / 2, cx + ew / 2, cy + eh / 2), fill=255)
        shadow = shadow.filter(ImageFilter.GaussianBlur(radius=eh * 0.6 + 6))
        strength = rng.uniform(0.30, 0.40)
    shadow = shadow.point(lambda v: round(v * strength))
    shade_color = Image.new("RGBA", (cw, ch), (40, 38, 36, 255))
    canvas = Image.composite(shade_color, canvas, shadow)

    canvas.alpha_composite(obj, (x, y))
    return _add_grain(canvas.convert("RGB"), rng)


def render_skimage(src: Path, spec: SkimagePhoto) -> Image.Image:
    img = Image.open(src).convert("RGB")
    w, h = img.size
    if spec.box is None:
        if w / h > 4 / 3:  # too wide: crop sides
            nw = round(h * 4 / 3)
            box = ((w - nw) // 2, 0, (w - nw) // 2 + nw, h)
        else:
            nh = round(w * 3 / 4)
            box = (0, (h - nh) // 2, w, (h - nh) // 2 + nh)
    else:
        box = spec.box
    img = img.crop(box)
    out = img.resize((LONG_SIDE, LONG_SIDE * 3 // 4), Image.Resampling.LANCZOS)
    return out.filter(ImageFilter.UnsharpMask(radius=1.5, percent=40, threshold=2))


def save_jpeg(img: Image.Image, path: Path) -> None:
    clean = Image.new("RGB", img.size)  # fresh image: no info/exif/icc carried over
    clean.paste(img)
    clean.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True)


def _default_skimage_dir() -> Path | None:
    try:
        skimage_data = importlib.import_module("skimage.data")
    except ImportError:
        return None
    init = skimage_data.__file__
    return Path(init).parent if init else None


def main(argv: list[str] | None = None) -> int:
    repo = Path(__file__).resolve().parent.parent
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("deb_dir", type=Path, help="where tuxpaint-stamps-default was extracted")
    p.add_argument("--out", type=Path, default=repo / "src" / "trova" / "demo" / "photos")
    p.add_argument("--skimage-data", type=Path, default=None)
    p.add_argument("--only", default="", help="comma-separated slugs")
    args = p.parse_args(argv)

    stamps_root = args.deb_dir / STAMPS_SUBDIR
    if not stamps_root.is_dir():
        p.error(f"{stamps_root} not found: extract the .deb with dpkg-deb -x first")
    only = {s for s in args.only.split(",") if s}
    args.out.mkdir(parents=True, exist_ok=True)

    made, missing = 0, []
    for spec in STAMPS:
        if only and spec.slug not in only:
            continue
        src = stamps_root / spec.path
        if not src.is_file():
            missing.append(str(src))
            continue
        save_jpeg(render_stamp(src, spec), args.out / f"{spec.slug}.jpg")
        made += 1

    sk_dir = args.skimage_data or _default_skimage_dir()
    for photo in SKIMAGE:
        if only and photo.slug not in only:
            continue
        sk_src = sk_dir / photo.filename if sk_dir else None
        if sk_src is None or not sk_src.is_file():
            missing.append(f"skimage data {photo.filename}")
            continue
        save_jpeg(render_skimage(sk_src, photo), args.out / f"{photo.slug}.jpg")
        made += 1

    total = sum(f.stat().st_size for f in args.out.glob("*.jpg"))
    print(f"wrote {made} photos to {args.out} ({total / 1e6:.2f} MB in folder)")
    for m in missing:
        print(f"warning: missing source {m}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
