"""Prompt tests for the local model: real photos in, category / item / color out.

Each photo is a GPL-2 Tux Paint stamp (a real photo cut-out) on white; see photos/README.md.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from trova.ai.local import LocalRecognizer, Recognition, get_recognizer
from trova.ai.taxonomy import taxonomy

from .conftest import photo

CASES = [
    # photo, category, words the item must contain, color
    ("camera.jpg", "electronics-cameras/cameras", ["camera"], "black"),
    ("electric-guitar.jpg", "musical-instruments/guitars", ["electric", "guitar"], "black"),
    ("trumpet.jpg", "musical-instruments/wind", ["trumpet"], "gold"),
    ("basketball.jpg", "sports-outdoors/ball-sports", ["basketball"], "orange"),
    ("tricycle.jpg", "bicycles/city", ["tricycle"], "pink"),
    ("wheelie-bin.jpg", "home-kitchen/household", ["trash", "can"], "green"),
]


@pytest.mark.parametrize(("name", "category", "words", "color"), CASES)
def test_photo_is_recognized(
    recognizer: LocalRecognizer, name: str, category: str, words: list[str], color: str
) -> None:
    rec = recognizer.recognize(photo(name))
    assert rec.category == category, rec
    assert rec.category_confidence >= 0.5, rec
    assert rec.item is not None and all(w in rec.item.lower() for w in words), rec
    assert rec.color == color, rec
    assert rec.color_confidence >= 0.5, rec


@pytest.mark.parametrize("name", [case[0] for case in CASES])
def test_recognition_is_well_formed(recognizer: LocalRecognizer, name: str) -> None:
    rec = recognizer.recognize(photo(name))
    assert len(rec.classes) == 5
    probs = [p for _, p in rec.classes]
    assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0001
    assert 1 <= len(rec.alternatives) <= 3
    assert rec.alternatives[0] == (rec.category, rec.category_confidence)
    assert all(a[1] <= rec.category_confidence for a in rec.alternatives)
    assert all(taxonomy().is_category(c) for c, _ in rec.alternatives)
    assert rec.color in taxonomy().colors
    assert (rec.brand, rec.brand_confidence, rec.ocr_text) == (None, 0.0, [])  # OCR is off


def test_transparent_cutout_and_odd_modes_work(recognizer: LocalRecognizer) -> None:
    img = photo("basketball.jpg")
    rgba = img.convert("RGBA")
    rgba.putalpha(255)
    for variant in (rgba, img.convert("L"), img.convert("P"), img.resize((2000, 2000))):
        rec = recognizer.recognize(variant)
        assert rec.category == "sports-outdoors/ball-sports", (variant.mode, rec)


def test_recognize_is_thread_safe(recognizer: LocalRecognizer) -> None:
    images = [photo(case[0]) for case in CASES]
    expected = [recognizer.recognize(img) for img in images]
    results: dict[int, Recognition] = {}

    def work(i: int) -> None:
        results[i] = recognizer.recognize(images[i % len(images)])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == expected[i % len(images)] for i in range(12))


def test_get_recognizer_is_cached_per_dir_and_ocr_flag(model_cache: Path) -> None:
    first = get_recognizer(model_cache)
    assert get_recognizer(str(model_cache)) is first
    assert first.ocr is False
