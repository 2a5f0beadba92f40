"""The offline `local` recognizer: what is in the photo, which category, which color, which brand.

Everything runs on the CPU from files that come with the installed packages: ImageNet
EfficientNet-Lite0 on onnxruntime (the ONNX file is exported once into `cache_dir`), a curated
ImageNet -> taxonomy map, a k-means color namer, and optionally rapidocr for a brand hint.
Title, description and price are made elsewhere from a `Recognition`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from trova.ai.local.brands import TextReader, match_brand
from trova.ai.local.classifier import ImageNetClassifier, imagenet_labels
from trova.ai.local.color import dominant_color
from trova.ai.local.export import ensure_onnx
from trova.ai.local.mapping import categorize

TOP_CLASSES = 5


@dataclass
class Recognition:
    """What the local model saw in one photo. Confidences are 0..1."""

    classes: list[tuple[str, float]]  # (ImageNet label, probability), top 5
    category: str | None  # taxonomy id; "other" when nothing sellable was recognized
    category_confidence: float
    alternatives: list[tuple[str, float]]  # top-3 categories, best first (includes `category`)
    item: str | None  # noun phrase for a title, e.g. "acoustic guitar"
    color: str | None  # taxonomy color id
    color_confidence: float
    brand: str | None = None  # only ever from brands.txt, only ever from OCR
    brand_confidence: float = 0.0
    ocr_text: list[str] = field(default_factory=list)  # UNTRUSTED text read off the photo


class LocalRecognizer:
    """Loads the model once; `recognize` may be called from many threads at once."""

    def __init__(self, cache_dir: Path, *, ocr: bool = False, threads: int | None = None) -> None:
        self.cache_dir = Path(cache_dir)
        self.onnx_path = ensure_onnx(self.cache_dir)
        self._classifier = ImageNetClassifier(self.onnx_path, threads=threads)
        self._labels = imagenet_labels()
        self._reader = TextReader() if ocr else None
        # Warm up at load time, not on a seller's first photo: onnxruntime plans its kernels on
        # the first run, and the map, palette and taxonomy files load on first use (~250 ms).
        warm = Image.new("RGB", (64, 64), (255, 255, 255))
        warm.paste((200, 30, 30), (16, 16, 48, 48))
        categorize(self._classifier.probabilities(warm))
        dominant_color(warm)
        if self._reader is not None:
            self._reader.read(warm)

    @property
    def ocr(self) -> bool:
        return self._reader is not None

    def recognize(self, image: Image.Image) -> Recognition:
        """Recognize the object in a photo (any PIL mode; already EXIF-oriented by intake)."""
        probs = self._classifier.probabilities(image)
        top = probs.argsort()[::-1][:TOP_CLASSES]
        guess = categorize(probs)
        color = dominant_color(image)
        recognition = Recognition(
            classes=[(self._labels[i][1], round(float(probs[i]), 4)) for i in top.tolist()],
            category=guess.category,
            category_confidence=guess.confidence,
            alternatives=list(guess.alternatives),
            item=guess.item,
            color=color.color,
            color_confidence=color.confidence,
        )
        if self._reader is not None:
            # Text on the photo is untrusted: it may only name a brand from brands.txt.
            lines = self._reader.read(image)
            recognition.ocr_text = [text for text, _score in lines]
            match = match_brand(lines)
            if match is not None:
                recognition.brand = match.brand
                recognition.brand_confidence = match.confidence
        return recognition


_recognizers: dict[tuple[Path, bool], LocalRecognizer] = {}
_recognizers_lock = threading.Lock()


def get_recognizer(cache_dir: Path | str, ocr: bool = False) -> LocalRecognizer:
    """The process-wide recognizer for this cache dir and OCR setting (built on first use)."""
    key = (Path(cache_dir).resolve(), ocr)
    with _recognizers_lock:
        recognizer = _recognizers.get(key)
        if recognizer is None:
            recognizer = _recognizers[key] = LocalRecognizer(key[0], ocr=ocr)
        return recognizer
