"""`local`: the offline provider. A real ImageNet CNN (see ai/local/) plus comparables pricing.

Title and description are built only from what was recognized (item, color, brand) — never
invented facts. Condition is "good" with low confidence: a photo rarely tells.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar

from trova.ai.local.model import Recognition, get_recognizer
from trova.ai.providers.base import DraftRequest, ProviderReply
from trova.ai.taxonomy import taxonomy
from trova.config import Settings
from trova.search.comparables import price_suggestion

# Below this the item noun is too uncertain to put in a title.
ITEM_MIN_CONFIDENCE = 0.12


class LocalProvider:
    name: ClassVar[str] = "local"
    supports_images: ClassVar[bool] = True

    def __init__(self, settings: Settings, *, ocr: bool | None = None) -> None:
        self.settings = settings
        self.ocr = settings.local_ocr if ocr is None else ocr
        self.spec = "local"
        self.model = "efficientnet-lite0" + ("+ocr" if self.ocr else "")

    def recognizer(self) -> Any:
        return get_recognizer(self.settings.models_dir, ocr=self.ocr)

    async def describe(self, request: DraftRequest) -> ProviderReply:
        recognition: Recognition = await asyncio.to_thread(
            self.recognizer().recognize, request.image
        )
        raw = draft_from_recognition(recognition)
        price_hint = None
        if request.session_factory is not None and raw.get("category"):
            with request.session_factory() as session:
                price = price_suggestion(session, raw["category"], recognition.item)
            raw.update(
                price_eur=price.price_eur,
                price_low_eur=price.low_eur,
                price_high_eur=price.high_eur,
            )
            price_hint = price.sentence()
            raw["confidence"]["price"] = price.confidence
        output = {
            "recognition": {
                "classes": recognition.classes,
                "alternatives": recognition.alternatives,
                "ocr_text": recognition.ocr_text,
            },
            "draft": raw,
        }
        return ProviderReply(
            raw=raw,
            raw_output=json.dumps(output, ensure_ascii=False),
            model=self.model,
            price_hint=price_hint,
        )


def draft_from_recognition(r: Recognition) -> dict[str, Any]:
    """Title, description and fields from what the model saw, with honest confidences."""
    tax = taxonomy()
    confident_item = r.item if r.item and r.category_confidence >= ITEM_MIN_CONFIDENCE else None
    color_name = tax.colors[r.color].name.lower() if r.color else None
    parts = []
    if r.brand:
        parts.append(r.brand)
    if confident_item:
        parts.append(confident_item)
    title = " ".join(parts).strip()
    if title:
        title = title[0].upper() + title[1:]
        if color_name and color_name != "multicolor":
            title = f"{title}, {color_name}"
    sentences = []
    if confident_item:
        article = "An" if confident_item[0].lower() in "aeiou" else "A"
        thing = f"{article} {confident_item}"
        if color_name:
            thing = (
                f"{thing} in {color_name}"
                if color_name != "multicolor"
                else f"{thing} in several colors"
            )
        if r.brand:
            thing += f" by {r.brand}"
        sentences.append(thing + ", as shown in the photos.")
        sentences.append("Please add the size, model and any wear or defects before publishing.")
    category = r.category
    return {
        "title": title or None,
        "description": " ".join(sentences) or None,
        "category": category,
        "category_alternatives": [c for c, _ in r.alternatives if c != category][:2],
        "condition": "good",
        "brand": r.brand,
        "color": r.color,
        "confidence": {
            "title": round(r.category_confidence, 3) if title else 0.0,
            "description": round(r.category_confidence * 0.8, 3) if sentences else 0.0,
            "category": round(r.category_confidence, 3),
            "condition": 0.2,
            "brand": round(r.brand_confidence, 3),
            "color": round(r.color_confidence, 3),
        },
    }
