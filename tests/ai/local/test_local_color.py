"""Dominant color on synthetic images: background removal, palette naming, multicolor."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from trova.ai.local.color import dominant_color, srgb_to_lab
from trova.ai.taxonomy import taxonomy

from .conftest import photo

SOLID = {c.id: c.hex for c in taxonomy().colors.values() if c.hex and c.hex.startswith("#")}


def object_on(
    fill: str, background: str = "white", size: tuple[int, int] = (300, 220)
) -> Image.Image:
    img = Image.new("RGB", size, background)
    w, h = size
    ImageDraw.Draw(img).rounded_rectangle((w // 4, h // 5, 3 * w // 4, 4 * h // 5), 20, fill=fill)
    return img


@pytest.mark.parametrize("color", sorted(SOLID))
@pytest.mark.parametrize("background", ["white", "#ececec", "black"])
def test_palette_color_on_plain_background(color: str, background: str) -> None:
    guess = dominant_color(object_on(SOLID[color], background))
    assert guess.color == color
    assert guess.confidence >= 0.9


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        ("#e53935", "red"),
        ("#8e1b1b", "red"),  # in shade
        ("#0a3d91", "blue"),  # navy
        ("#87ceeb", "blue"),  # sky blue
        ("#2e7d32", "green"),
        ("#ff8c00", "orange"),
        ("#ffd700", "yellow"),
        ("#ff69b4", "pink"),  # hot pink
        ("#dc143c", "red"),  # crimson: a red car, not a pink one
        ("#5d4037", "brown"),
        ("#111111", "black"),
        ("#fafafa", "white"),
    ],
)
def test_everyday_shades_get_the_right_name(fill: str, expected: str) -> None:
    assert dominant_color(object_on(fill, "#d0d0d0")).color == expected


def test_red_object_on_white_is_red_not_white() -> None:
    """The background dominates the pixel count; it must not decide the color."""
    img = Image.new("RGB", (400, 400), "white")
    ImageDraw.Draw(img).ellipse((165, 165, 235, 235), fill="#d32f2f")  # ~2.4 % of the pixels
    assert dominant_color(img).color == "red"


def test_alpha_cutout_ignores_transparent_pixels() -> None:
    img = Image.new("RGBA", (200, 200), (255, 255, 0, 0))  # transparent yellow
    ImageDraw.Draw(img).ellipse((50, 50, 150, 150), fill=(25, 118, 210, 255))
    assert dominant_color(img).color == "blue"


def test_shading_does_not_make_an_object_multicolor() -> None:
    img = Image.new("RGB", (300, 300), "white")
    draw = ImageDraw.Draw(img)
    for i, shade in enumerate(["#ef5350", "#d32f2f", "#b71c1c", "#8e1b1b"]):
        draw.rectangle((60 + 45 * i, 60, 105 + 45 * i, 240), fill=shade)
    assert dominant_color(img).color == "red"


def test_wood_tones_are_not_multicolor() -> None:
    img = Image.new("RGB", (300, 300), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((60, 60, 150, 240), fill="#6d4c41")  # brown
    draw.rectangle((150, 60, 240, 240), fill="#c46a3c")  # burnt orange
    assert dominant_color(img).color in {"brown", "orange"}


def test_stripes_of_distinct_hues_are_multicolor() -> None:
    img = Image.new("RGB", (320, 240), "white")
    draw = ImageDraw.Draw(img)
    for i, fill in enumerate(["#d32f2f", "#fbc02d", "#388e3c", "#1976d2"]):
        draw.rectangle((40 + 60 * i, 40, 100 + 60 * i, 200), fill=fill)
    guess = dominant_color(img)
    assert guess.color == "multicolor"
    assert guess.confidence >= 0.8


def test_white_object_on_white_with_an_outline_stays_white() -> None:
    img = Image.new("RGB", (300, 300), "white")
    ImageDraw.Draw(img).rectangle((60, 60, 240, 240), fill="#f4f4f4", outline="#9e9e9e", width=3)
    assert dominant_color(img).color == "white"


@pytest.mark.parametrize("kind", ["horizontal", "vignette"])
def test_lighting_gradient_is_background_not_the_object(kind: str) -> None:
    """A table or wall lit from one side: gray from 90 to 230, or darker toward the corners."""
    x, y = np.meshgrid(np.linspace(-1, 1, 480), np.linspace(-1, 1, 360))
    level = 160 + 70 * x if kind == "horizontal" else 235 - 64 * np.hypot(x, y)
    img = Image.fromarray(np.repeat(level[..., None], 3, axis=2).astype(np.uint8))
    ImageDraw.Draw(img).ellipse((190, 130, 290, 230), fill="#ff69b4")  # 4.5 % of the pixels
    guess = dominant_color(img)
    assert guess.color == "pink"
    assert guess.confidence >= 0.8


def test_busy_background_falls_back_to_the_center() -> None:
    rng = np.random.default_rng(1)
    noise = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    img = Image.fromarray(noise)
    ImageDraw.Draw(img).rectangle((70, 50, 250, 190), fill="#388e3c")
    assert dominant_color(img).color == "green"


def test_holes_showing_the_background_are_not_the_object() -> None:
    img = Image.new("RGB", (300, 300), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle((50, 50, 250, 250), fill="#1976d2")
    draw.rectangle((90, 90, 210, 210), fill="white")  # a frame: the middle is background
    guess = dominant_color(img)
    assert guess.color == "blue"
    assert guess.confidence >= 0.9


def test_real_photo_colors() -> None:
    assert dominant_color(photo("tricycle.jpg")).color == "pink"
    assert dominant_color(photo("wheelie-bin.jpg")).color == "green"


def test_lab_conversion_matches_reference_values() -> None:
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]]))
    np.testing.assert_allclose(lab[0], [100, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[1], [0, 0, 0], atol=0.05)
    np.testing.assert_allclose(lab[2], [53.24, 80.09, 67.20], atol=0.05)


def test_fully_transparent_image_gives_no_color() -> None:
    guess = dominant_color(Image.new("RGBA", (50, 50), (0, 0, 0, 0)))
    assert (guess.color, guess.confidence) == (None, 0.0)
