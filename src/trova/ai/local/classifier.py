"""ImageNet-1k classification with EfficientNet-Lite0 on onnxruntime.

Preprocessing follows the model's TensorFlow origin (EfficientNet-Lite normalizes with mean 127 and
std 128 per channel, not the usual ImageNet mean/std; on our test photos the ImageNet constants
lose 3 of 32 top-1 answers). Each photo is classified twice, as a whole (padded to a square with
its own border color) and as the usual 87.5 % center crop, and the probabilities are averaged:
the padded view keeps long objects (a guitar) whole, the crop matches how the model was trained
on full-frame photos.
"""

from __future__ import annotations

import os
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from trova.ai.local.export import INPUT_NAME, INPUT_SIZE

MEAN = 127.0
STD = 128.0
CROP_FRACTION = 0.875


@cache
def imagenet_labels() -> tuple[tuple[str, str], ...]:
    """(WordNet id, readable name) for the 1000 classes, in output order."""
    raw = files("trova.ai.local").joinpath("imagenet_labels.txt").read_text("utf-8")
    rows = [line.split("\t") for line in raw.splitlines() if line and not line.startswith("#")]
    if [int(row[0]) for row in rows] != list(range(1000)):
        raise RuntimeError("imagenet_labels.txt must list classes 0..999 in order")
    return tuple((wnid, name) for _index, wnid, name in rows)


def flatten(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """RGB copy of the image, with any transparency composited onto `background`."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*background, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return image.convert("RGB")


def _border_color(img: Image.Image) -> tuple[int, int, int]:
    a = np.asarray(img)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    r, g, b = np.median(border, axis=0).astype(int).tolist()
    return r, g, b


def padded_view(img: Image.Image, size: int = INPUT_SIZE) -> Image.Image:
    """The whole image, centered on a square of its border color, resized to size x size."""
    w, h = img.size
    side = max(w, h)
    square = Image.new("RGB", (side, side), _border_color(img))
    square.paste(img, ((side - w) // 2, (side - h) // 2))
    return square.resize((size, size), Image.Resampling.BICUBIC)


def center_crop_view(img: Image.Image, size: int = INPUT_SIZE) -> Image.Image:
    """The standard ImageNet evaluation view: resize the short side, take the center crop."""
    w, h = img.size
    scale = size / CROP_FRACTION / min(w, h)
    rw, rh = max(size, round(w * scale)), max(size, round(h * scale))
    resized = img.resize((rw, rh), Image.Resampling.BICUBIC)
    left, top = (rw - size) // 2, (rh - size) // 2
    return resized.crop((left, top, left + size, top + size))


def _shrink(image: Image.Image, short_side: int = 2 * INPUT_SIZE) -> Image.Image:
    """Cheaply scale big photos down first; the views below then resample far fewer pixels."""
    scale = short_side / min(image.size)
    if scale >= 1:
        return image
    if image.mode not in ("RGB", "RGBA", "L", "LA"):
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)


def to_tensor(view: Image.Image) -> NDArray[np.float32]:
    """HWC uint8 RGB -> CHW float32 normalized the way EfficientNet-Lite expects."""
    x = (np.asarray(view, dtype=np.float32) - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def _softmax(logits: NDArray[np.float32]) -> NDArray[np.float64]:
    z = logits.astype(np.float64)
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


class ImageNetClassifier:
    """An onnxruntime session over the exported model; `probabilities` is thread-safe."""

    def __init__(self, onnx_path: Path, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        # Idle worker threads must not spin: in a web process they would steal the CPU that
        # request handling (and the next photo's preprocessing) needs.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: Any = ort.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"]
        )

    def probabilities(self, image: Image.Image) -> NDArray[np.float64]:
        """Class probabilities (1000,) for a PIL image of any mode and size."""
        img = flatten(_shrink(image))
        batch = np.stack([to_tensor(padded_view(img)), to_tensor(center_crop_view(img))])
        (logits,) = self._session.run(None, {INPUT_NAME: batch})
        return _softmax(logits).mean(axis=0)
