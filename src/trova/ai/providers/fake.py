"""`fake`: a deterministic provider for tests, demos and benchmarks. No model, no network.

Specs: `fake` (a plausible draft derived from the image's colors), `fake:error` (always fails,
retryable), `fake:empty` (answers with nothing usable), `fake:slow` (sleeps `delay_s` first),
`fake:refuse`. `fake:latency=0.3` sleeps 0.3 s then answers normally.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from typing import ClassVar

from trova.ai.providers.base import DraftRequest, ProviderError, ProviderRefusal, ProviderReply

_ITEMS = [
    ("Acoustic guitar", "musical-instruments/guitars", 120.0),
    ("Road bike", "bicycles/road", 250.0),
    ("Espresso machine", "home-kitchen/appliances", 60.0),
    ("Cordless drill", "tools-diy/power-tools", 45.0),
    ("Table lamp", "home-kitchen/decor", 18.0),
]


class FakeProvider:
    name: ClassVar[str] = "fake"
    supports_images: ClassVar[bool] = True

    def __init__(self, spec: str = "fake") -> None:
        self.spec = spec
        self.model = "fake-1"
        mode = spec.partition(":")[2]
        self.mode = mode.split("=")[0] if mode else "ok"
        self.delay_s = 0.0
        if self.mode == "latency":
            try:
                self.delay_s = float(mode.split("=", 1)[1])
            except (IndexError, ValueError):
                raise ProviderError(f"Bad fake spec {spec!r}: use fake:latency=0.3") from None
        elif self.mode == "slow":
            self.delay_s = 30.0

    async def describe(self, request: DraftRequest) -> ProviderReply:
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.mode == "error":
            raise ProviderError("fake provider error (HTTP 503)", retryable=True)
        if self.mode == "refuse":
            raise ProviderRefusal("The fake model refused to describe this image.")
        if self.mode == "empty":
            return ProviderReply(raw={}, raw_output="{}", model=self.model)
        digest = hashlib.sha256(request.jpeg).digest()
        title, category, price = _ITEMS[digest[0] % len(_ITEMS)]
        r, g, b = request.image.convert("RGB").resize((1, 1)).getpixel((0, 0))  # type: ignore[misc]
        color = "red" if r > g + 40 and r > b + 40 else "blue" if b > r + 40 else "gray"
        raw = {
            "title": f"{title}, {color}",
            "description": f"{title} in {color}. Shown in the photo.",
            "category": category,
            "condition": "good",
            "color": color,
            "brand": None,
            "price_eur": price,
            "price_low_eur": round(price * 0.7, 2),
            "price_high_eur": round(price * 1.3, 2),
            "confidence": {
                "title": 0.8,
                "description": 0.6,
                "category": 0.9,
                "condition": 0.3,
                "color": 0.7,
                "price": 0.5,
            },
        }
        return ProviderReply(
            raw=raw, raw_output=json.dumps(raw), model=self.model, tokens_in=0, tokens_out=0
        )
