"""Fixtures for the local model: one exported ONNX file and one recognizer per test session."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from PIL import Image

from trova.ai.local import LocalRecognizer, ensure_onnx

PHOTOS = Path(__file__).parent / "photos"

requires_ocr = pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason="rapidocr-onnxruntime is not installed",
)


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache dir holding the exported model (built once, in a child process, like the app)."""
    cache = tmp_path_factory.mktemp("models")
    ensure_onnx(cache)
    return cache


@pytest.fixture(scope="session")
def recognizer(model_cache: Path) -> LocalRecognizer:
    return LocalRecognizer(model_cache)


@pytest.fixture(scope="session")
def ocr_recognizer(model_cache: Path) -> LocalRecognizer:
    return LocalRecognizer(model_cache, ocr=True)


def photo(name: str) -> Image.Image:
    with Image.open(PHOTOS / name) as img:
        img.load()
        return img
