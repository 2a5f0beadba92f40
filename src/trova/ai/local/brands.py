"""Brand hint from text on the photo: OCR (rapidocr, optional) + fuzzy match to brands.txt.

Text on a seller's photo is untrusted input. It can only ever produce a brand, and only one
from the bundled list; nothing it says reaches any other field.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import cache
from importlib.resources import files
from typing import Any

from PIL import Image

MIN_OCR_SCORE = 0.5
OCR_MAX_SIDE = 960  # OCR cost grows with pixels; logos stay legible at this size
_EXACT_MAX_LEN = 5  # brands this short must match exactly (after normalization)
_OCR_CONFUSIONS = str.maketrans({"0": "o", "1": "l", "5": "s", "|": "l"})


@dataclass(frozen=True)
class BrandMatch:
    brand: str  # canonical spelling from brands.txt
    confidence: float
    text: str  # the OCR text it came from


def normalize(text: str) -> str:
    """Lowercase ASCII letters and digits only: "De'Longhi" -> "delonghi"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", ascii_text.lower().replace("&", "and").replace("+", "and"))


@cache
def brand_index() -> dict[str, str]:
    """Normalized name or alias -> canonical brand, from brands.txt."""
    index: dict[str, str] = {}
    raw = files("trova.ai.local").joinpath("brands.txt").read_text("utf-8")
    for line in raw.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        names = [n.strip() for n in line.split("|")]
        for name in names:
            key = normalize(name)
            if key:
                index.setdefault(key, names[0])
    return index


def _candidates(text: str) -> set[str]:
    """Normalized 1- to 3-word runs of an OCR line (brands span up to three words)."""
    words = [w for w in re.split(r"\s+", text.strip()) if normalize(w)]
    runs = {
        normalize(" ".join(words[i : i + n])) for n in (1, 2, 3) for i in range(len(words) - n + 1)
    }
    runs.add(normalize(text))
    return {r for r in runs if r}


def _similarity(candidate: str, key: str) -> float:
    if candidate == key:
        return 1.0
    if len(key) <= _EXACT_MAX_LEN:
        # Short names are too easy to hit by accident; allow only OCR's digit/letter mix-ups.
        if not any(c.isdigit() for c in key) and candidate.translate(_OCR_CONFUSIONS) == key:
            return 0.95
        return 0.0
    if abs(len(candidate) - len(key)) > 2:
        return 0.0
    ratio = SequenceMatcher(None, candidate, key).ratio()
    fixed = SequenceMatcher(None, candidate.translate(_OCR_CONFUSIONS), key).ratio()
    ratio = max(ratio, fixed)
    threshold = 0.83 if len(key) <= 7 else 0.85
    return ratio if ratio >= threshold else 0.0


def match_brand(lines: list[tuple[str, float]]) -> BrandMatch | None:
    """Best known brand among OCR lines of (text, score), or None."""
    best: BrandMatch | None = None
    index = brand_index()
    for text, score in lines:
        if score < MIN_OCR_SCORE:
            continue
        for candidate in _candidates(text):
            for key, brand in index.items():
                sim = _similarity(candidate, key)
                if sim and (best is None or sim * score > best.confidence):
                    best = BrandMatch(brand, round(sim * score, 3), text)
    return best


class TextReader:
    """rapidocr-onnxruntime behind a lock (its models ship inside the wheel; no downloads)."""

    def __init__(self) -> None:
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise RuntimeError(
                "OCR needs rapidocr-onnxruntime: `pip install -e .` installs it, "
                "or create the recognizer with ocr=False."
            ) from exc
        # rapidocr's default upsizes every photo to a 736 px short side (0.5-2 s here); cap the
        # long side instead, which keeps small product photos at ~10-50 ms.
        self._engine: Any = RapidOCR(det_limit_type="max", det_limit_side_len=OCR_MAX_SIDE)
        self._lock = threading.Lock()

    def read(self, image: Image.Image) -> list[tuple[str, float]]:
        """Text lines on the image as (text, score), in reading order as OCR reports them."""
        img = image.convert("RGB")
        img.thumbnail((OCR_MAX_SIDE, OCR_MAX_SIDE), Image.Resampling.LANCZOS)
        with self._lock:
            result, _ = self._engine(img)
        return [(str(text), float(score)) for _box, text, score in (result or [])]
