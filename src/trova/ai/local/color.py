"""Dominant color of the object in a photo, named with the taxonomy's palette.

Steps: drop the background (alpha where the image has it, else the smooth backdrop seen on the
border, a sweep or a lighting gradient, flood-filled in from the edges so a white object on white
is not erased from inside; a busy backdrop leaves the middle of the frame), cluster the remaining
pixels with k-means in CIELAB, name each cluster by its nearest palette prototype (several shades
per taxonomy color, so a shaded red stays red), and add up cluster weights per name. The answer
is "multicolor" when no color holds half the object and two colors at least 60° of hue apart
each hold a fifth (red and blue, not brown and orange). numpy + Pillow only.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from trova.ai.taxonomy import taxonomy

ANALYSIS_SIZE = 128  # pixels on the long side; plenty for color, keeps this ~10 ms
BORDER_UNIFORM_TOLERANCE = 12.0  # ΔE*ab of a border pixel to the border's median color
BACKGROUND_TOLERANCE = 12.0  # ΔE*ab under which a pixel joined to the border is background
HOLE_TOLERANCE = 6.0  # ΔE*ab under which an enclosed pixel is a hole showing the background
UNIFORM_BORDER_SHARE = 0.7  # share of border pixels that must match for a "studio" background
MIN_FOREGROUND_SHARE = 0.01
KMEANS_K = 5
KMEANS_SAMPLES = 2500
DOMINANT_SHARE = 0.5
MULTICOLOR_MIN_SHARE = 0.2
MULTICOLOR_HUE_GAP = 60.0  # degrees of LCh hue between two colors that make "multicolor"
CHROMA_MIN = 15.0  # below this a cluster has no meaningful hue
ACHROMATIC = frozenset({"black", "white", "gray", "silver"})

# Extra shades per taxonomy color (the taxonomy's own hex is always the first prototype).
_EXTRA_SHADES: dict[str, tuple[str, ...]] = {
    "black": ("#000000", "#2b2b2b", "#1c1f26"),
    "white": ("#ffffff", "#e9e9e9", "#f3f1ea"),
    "gray": ("#5f5f5f", "#a3a3a3", "#6e7378"),
    "silver": ("#b4b8bc", "#d3d5d8", "#a9adb3"),
    "red": ("#b71c1c", "#8e1b1b", "#f44336", "#c62828", "#d81b3c", "#c2185b"),
    "orange": ("#e65100", "#ff9800", "#cc5a22", "#d86b2a", "#c46a3c", "#b8582a"),
    "yellow": ("#ffeb3b", "#f5d300", "#e0c000", "#fff176"),
    "green": ("#1b5e20", "#66bb6a", "#2e7d32", "#8bc34a", "#0f4d2a", "#4b6b3a"),
    "blue": ("#0d47a1", "#1a237e", "#42a5f5", "#64b5f6", "#263a5e", "#0097a7"),
    "purple": ("#4a148c", "#9575cd", "#ab47bc", "#5e3a7a"),
    "pink": ("#f8bbd0", "#ff80ab", "#e4789f", "#ff69b4", "#f48fb1"),
    "brown": ("#4e342e", "#8d6e63", "#795548", "#5d4037", "#3b2a22", "#7b4a2a"),
    "beige": ("#e8dcc0", "#c8b28a", "#f5f5dc", "#d9c9a8"),
    "gold": ("#b8860b", "#c9a227", "#e6c35c", "#a8842c", "#c2a55e", "#a89050"),
}


@dataclass(frozen=True)
class ColorGuess:
    color: str | None  # a taxonomy color id, or None when the image has no usable pixels
    confidence: float
    shares: tuple[tuple[str, float], ...]  # palette color -> share of the object's pixels


def srgb_to_lab(rgb: NDArray[np.floating] | NDArray[np.uint8]) -> NDArray[np.float64]:
    """Convert sRGB (0..255, shape (..., 3)) to CIELAB (D65)."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    m = np.array(
        [
            [0.4124564, 0.3575761, 0.1804375],
            [0.2126729, 0.7151522, 0.0721750],
            [0.0193339, 0.1191920, 0.9503041],
        ]
    )
    xyz = linear @ m.T / np.array([0.95047, 1.0, 1.08883])
    eps, kappa = 216 / 24389, 24389 / 27
    f = np.where(xyz > eps, np.cbrt(xyz), (kappa * xyz + 16) / 116)
    lab = np.empty_like(f)
    lab[..., 0] = 116 * f[..., 1] - 16
    lab[..., 1] = 500 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200 * (f[..., 1] - f[..., 2])
    return lab


def _hex_rgb(value: str) -> tuple[int, int, int]:
    value = value.lstrip("#")
    return int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16)


@cache
def _prototypes() -> tuple[tuple[str, ...], NDArray[np.float64]]:
    """(color id per prototype, Lab array) for every solid taxonomy color."""
    names: list[str] = []
    rgbs: list[tuple[int, int, int]] = []
    for option in taxonomy().colors.values():
        if not option.hex or not option.hex.startswith("#"):
            continue  # "multicolor" has a gradient, not a color
        for shade in (option.hex, *_EXTRA_SHADES.get(option.id, ())):
            names.append(option.id)
            rgbs.append(_hex_rgb(shade))
    return tuple(names), srgb_to_lab(np.array(rgbs, dtype=np.float64))


def nearest_palette_color(lab: NDArray[np.float64]) -> list[str]:
    """Taxonomy color id nearest (ΔE*ab) to each Lab row."""
    names, protos = _prototypes()
    d = np.linalg.norm(np.atleast_2d(lab)[:, None, :] - protos[None, :, :], axis=2)
    return [names[i] for i in d.argmin(axis=1)]


def _shift_or(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """4-neighbour dilation."""
    out = mask.copy()
    out[1:, :] |= mask[:-1, :]
    out[:-1, :] |= mask[1:, :]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _erode(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    return ~_shift_or(~mask)


def _border(mask_shape: tuple[int, int], width: int) -> NDArray[np.bool_]:
    border = np.zeros(mask_shape, dtype=bool)
    border[:width, :] = border[-width:, :] = True
    border[:, :width] = border[:, -width:] = True
    return border


def _smooth_line(line: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Running median along a border line, so an object poking into the border is ignored."""
    half = window // 2
    padded = np.pad(line, ((half, half), (0, 0)), mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, window, axis=0)
    return np.median(windows, axis=-1)


def _background_model(lab: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """Expected background color at every pixel, interpolated from the four borders.

    A Coons patch over the (median-smoothed) border lines: a plain sweep is one color, and a
    lighting gradient or vignette across a table or wall is followed instead of being mistaken
    for the object.
    """
    h, w = lab.shape[:2]
    window = max(3, (min(h, w) // 8) | 1)
    top = _smooth_line(np.median(lab[:width], axis=0), window)
    bottom = _smooth_line(np.median(lab[-width:], axis=0), window)
    left = _smooth_line(np.median(lab[:, :width], axis=1), window)
    right = _smooth_line(np.median(lab[:, -width:], axis=1), window)
    u = np.linspace(0.0, 1.0, w)[None, :, None]
    v = np.linspace(0.0, 1.0, h)[:, None, None]
    sides = (1 - u) * left[:, None] + u * right[:, None] + (1 - v) * top[None] + v * bottom[None]
    corners = (
        (1 - u) * (1 - v) * top[0]
        + u * (1 - v) * top[-1]
        + (1 - u) * v * bottom[0]
        + u * v * bottom[-1]
    )
    return sides - corners


def foreground_mask(image: Image.Image) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Lab pixels of a downscaled copy and the mask of the object (background removed)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    img = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA" if has_alpha else "RGB")
    scale = ANALYSIS_SIZE / max(img.size)
    if scale < 1:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    rgba = np.asarray(img.convert("RGBA"))
    lab = srgb_to_lab(rgba[..., :3])
    h, w = lab.shape[:2]
    if has_alpha:
        opaque = rgba[..., 3] >= 128
        if opaque.mean() < MIN_FOREGROUND_SHARE:
            return lab, opaque  # (almost) nothing visible: no color to name
        if opaque.mean() <= 1 - MIN_FOREGROUND_SHARE:
            # Erode once: edge pixels are blended with whatever was behind the cut-out.
            eroded = _erode(opaque)
            return lab, eroded if eroded.any() else opaque
    width = max(2, round(min(h, w) * 0.04))
    border = _border((h, w), width)
    bg = _background_model(lab, width)
    distance = np.linalg.norm(lab - bg, axis=2)
    smooth_border = (distance[border] < BORDER_UNIFORM_TOLERANCE).mean()
    if smooth_border >= UNIFORM_BORDER_SHARE:
        similar = distance < BACKGROUND_TOLERANCE
        background = similar & border
        while True:  # flood fill from the border through background-like pixels
            grown = _shift_or(background) & similar
            if np.array_equal(grown, background):
                break
            background = grown
        # Holes (between a trumpet's tubes, inside a handle) that match the background almost
        # exactly are background too; a white part of the object is rarely that close to it.
        background |= distance < HOLE_TOLERANCE
        fg = _erode(~background)
        if fg.mean() >= MIN_FOREGROUND_SHARE:
            return lab, fg
    # A busy background (a real room or table): the object is usually in the middle.
    center = np.zeros((h, w), dtype=bool)
    center[round(h * 0.2) : round(h * 0.8), round(w * 0.2) : round(w * 0.8)] = True
    return lab, center


def _kmeans(
    points: NDArray[np.float64], k: int, rng: np.random.Generator, iterations: int = 15
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Plain k-means with k-means++ seeding (deterministic for a seeded rng)."""
    k = min(k, len(points))
    sq = (points**2).sum(1)

    def sq_dist(centers: NDArray[np.float64]) -> NDArray[np.float64]:
        return sq[:, None] - 2 * points @ centers.T + (centers**2).sum(1)[None, :]

    centers = points[rng.integers(len(points))][None, :]
    for _ in range(1, k):
        d2 = np.maximum(sq_dist(centers).min(1), 0)
        if d2.sum() <= 0:
            break
        centers = np.vstack([centers, points[rng.choice(len(points), p=d2 / d2.sum())]])
    labels = np.zeros(len(points), dtype=np.intp)
    for _ in range(iterations):
        labels = sq_dist(centers).argmin(1)
        counts = np.bincount(labels, minlength=len(centers)).astype(np.float64)
        sums = np.stack(
            [np.bincount(labels, weights=points[:, d], minlength=len(centers)) for d in range(3)],
            axis=1,
        )
        new = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None], centers)
        if np.allclose(new, centers, atol=0.05):
            break
        centers = new
    return centers, labels


def dominant_color(image: Image.Image) -> ColorGuess:
    """Name the dominant color of the photographed object (taxonomy color id + confidence)."""
    lab, mask = foreground_mask(image)
    pixels = lab[mask]
    if len(pixels) == 0:
        return ColorGuess(None, 0.0, ())
    rng = np.random.default_rng(0)
    if len(pixels) > KMEANS_SAMPLES:
        pixels = pixels[rng.choice(len(pixels), KMEANS_SAMPLES, replace=False)]
    centers, labels = _kmeans(pixels, KMEANS_K, rng)
    counts = np.bincount(labels, minlength=len(centers)) / len(labels)
    shares: dict[str, float] = {}
    hues: dict[str, complex] = {}  # share-weighted unit hue vectors of each color's clusters
    for name, center, share in zip(nearest_palette_color(centers), centers, counts, strict=True):
        shares[name] = shares.get(name, 0.0) + float(share)
        chroma = float(np.hypot(center[1], center[2]))
        if name not in ACHROMATIC and chroma >= CHROMA_MIN:
            hues[name] = hues.get(name, 0j) + share * complex(center[1], center[2]) / chroma
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    top, top_share = ranked[0]
    rounded = tuple((n, round(s, 3)) for n, s in ranked)
    if top_share < DOMINANT_SHARE and _distinct_hues(
        [(hues[n], s) for n, s in ranked if n in hues and s >= MULTICOLOR_MIN_SHARE]
    ):
        # Several clearly different hues, none dominant: a striped scarf, a toy, a print.
        significant = sum(s for n, s in ranked if n in hues and s >= MULTICOLOR_MIN_SHARE)
        return ColorGuess("multicolor", round(significant, 3), rounded)
    return ColorGuess(top, round(top_share, 3), rounded)


def _distinct_hues(colors: list[tuple[complex, float]]) -> bool:
    """True when two of the colors are at least MULTICOLOR_HUE_GAP degrees apart in hue.

    Brown next to orange (a violin) or red next to pink is one object in light and shade, not
    "multicolor"; red next to blue is.
    """
    angles = [np.degrees(np.angle(h)) for h, _ in colors]
    for i, a in enumerate(angles):
        for b in angles[i + 1 :]:
            gap = abs(a - b) % 360
            if min(gap, 360 - gap) >= MULTICOLOR_HUE_GAP:
                return True
    return False
