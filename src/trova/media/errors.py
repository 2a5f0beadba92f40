"""The one error photo intake raises for a file it will not accept."""

from __future__ import annotations

import math
from typing import Literal

RejectionCode = Literal[
    "empty", "too_large", "unsupported_type", "too_many_pixels", "too_small", "corrupt"
]

ACCEPTED_HINT = "Upload a JPEG, PNG or WebP image."


class ImageRejected(ValueError):
    """An upload that is not a photo we can safely store; `message` is fit to show the seller."""

    def __init__(self, code: RejectionCode, message: str) -> None:
        super().__init__(message)
        self.code: RejectionCode = code
        self.message = message

    def __repr__(self) -> str:
        return f"ImageRejected(code={self.code!r}, message={self.message!r})"


def megabytes(n: int, *, round_up: bool = False) -> str:
    """Format a byte count the way a seller reads it: "15 MB", "15.3 MB"."""
    return f"{_one_decimal(n / (1024 * 1024), round_up)} MB"


def megapixels(n: int, *, round_up: bool = False) -> str:
    """Format a pixel count as megapixels: "50 megapixels", "64.2 megapixels"."""
    return f"{_one_decimal(n / 1_000_000, round_up)} megapixels"


def _one_decimal(value: float, round_up: bool) -> str:
    # Round a measured size up so "15.04 MB" never reads as equal to a 15 MB limit.
    if round_up:
        value = math.ceil(value * 10) / 10
    return f"{value:.1f}".removesuffix(".0")
