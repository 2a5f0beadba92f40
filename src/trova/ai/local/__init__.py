"""Offline image recognition for the `local` prefill provider (no keys, no network).

`get_recognizer(cache_dir).recognize(image)` -> `Recognition` (category, item, color, brand).
onnxruntime is imported when a recognizer is built, not when this package is imported.
"""

from trova.ai.local.export import ModelUnavailableError, ensure_onnx, export_onnx
from trova.ai.local.model import LocalRecognizer, Recognition, get_recognizer

__all__ = [
    "LocalRecognizer",
    "ModelUnavailableError",
    "Recognition",
    "ensure_onnx",
    "export_onnx",
    "get_recognizer",
]
