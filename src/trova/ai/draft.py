"""The AI's suggestion for a listing: `ListingDraft`, and the repair of raw provider output.

Providers return a lenient `RawDraft` (plain strings, what a model actually sends). `repair()`
turns it into a `ListingDraft` whose every field is inside its schema: taxonomy values are
enforced by `Literal` types, synonyms are mapped when that is safe, anything else is dropped
to empty with confidence 0. It never raises on bad output.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from trova.ai.taxonomy import CATEGORY_IDS, COLOR_IDS, CONDITION_IDS, taxonomy

CategoryId = Literal[CATEGORY_IDS]  # type: ignore[valid-type]
ConditionId = Literal[CONDITION_IDS]  # type: ignore[valid-type]
ColorId = Literal[COLOR_IDS]  # type: ignore[valid-type]

DRAFT_FIELDS = ("title", "description", "category", "condition", "brand", "color", "price")
MAX_PRICE_EUR = 10_000_000.0


class RawDraft(BaseModel):
    """What we ask a model for (structured output). Lenient on purpose: repair() is strict."""

    title: str | None = Field(None, description="Short listing title, at most 80 characters.")
    description: str | None = Field(
        None, description="2–4 factual sentences about what is visible. No invented claims."
    )
    category: str | None = Field(None, description="One category id from the taxonomy list.")
    category_alternatives: list[str] = Field(
        default_factory=list, description="Up to 2 other plausible category ids, best first."
    )
    condition: str | None = Field(None, description="new, like_new, good, fair or for_parts.")
    brand: str | None = Field(None, description="Brand if clearly visible, else null.")
    color: str | None = Field(None, description="Main color, one id from the palette.")
    price_eur: float | None = Field(None, description="Suggested second-hand price in EUR.")
    price_low_eur: float | None = None
    price_high_eur: float | None = None
    confidence: dict[str, float] = Field(
        default_factory=dict, description="Per-field confidence 0–1, keyed by field name."
    )


class Confidence(BaseModel):
    title: float = 0.0
    description: float = 0.0
    category: float = 0.0
    condition: float = 0.0
    brand: float = 0.0
    color: float = 0.0
    price: float = 0.0


class ListingDraft(BaseModel):
    """A validated suggestion for the listing form. Every field may be empty."""

    title: str | None = Field(None, max_length=80)
    description: str | None = Field(None, max_length=1200)
    category: CategoryId | None = None
    category_alternatives: list[CategoryId] = Field(default_factory=list)
    condition: ConditionId | None = None
    brand: str | None = Field(None, max_length=60)
    color: ColorId | None = None
    price_eur: float | None = Field(None, gt=0, le=MAX_PRICE_EUR)
    price_low_eur: float | None = Field(None, gt=0, le=MAX_PRICE_EUR)
    price_high_eur: float | None = Field(None, gt=0, le=MAX_PRICE_EUR)
    confidence: Confidence = Field(default_factory=Confidence)

    def is_empty(self) -> bool:
        return not any(
            (
                self.title,
                self.description,
                self.category,
                self.condition,
                self.brand,
                self.color,
                self.price_eur,
            )
        )

    def field_confidence(self) -> dict[str, float]:
        """Confidence per form field for fields that have a value."""
        conf = self.confidence.model_dump()
        values = {
            "title": self.title,
            "description": self.description,
            "category": self.category,
            "condition": self.condition,
            "brand": self.brand,
            "color": self.color,
            "price": self.price_eur,
        }
        return {name: conf[name] for name, value in values.items() if value not in (None, "")}


# ---------------------------------------------------------------- repair

_CATEGORY_SYNONYMS: dict[str, str] = {
    "electronics": "electronics-cameras",
    "cameras": "electronics-cameras/cameras",
    "camera": "electronics-cameras/cameras",
    "phone": "electronics-cameras/phones",
    "phones": "electronics-cameras/phones",
    "laptop": "electronics-cameras/computers",
    "computers": "electronics-cameras/computers",
    "audio": "electronics-cameras/audio",
    "instruments": "musical-instruments",
    "music instruments": "musical-instruments",
    "guitar": "musical-instruments/guitars",
    "tools": "tools-diy",
    "diy": "tools-diy",
    "kitchen": "home-kitchen",
    "home": "home-kitchen",
    "household": "home-kitchen/household",
    "garden & outdoor": "garden",
    "office": "office-stationery",
    "stationery": "office-stationery",
    "sports": "sports-outdoors",
    "sport": "sports-outdoors",
    "outdoors": "sports-outdoors",
    "toys": "toys-games",
    "games": "toys-games",
    "cars": "cars-motorcycles/cars",
    "car": "cars-motorcycles/cars",
    "motorcycles": "cars-motorcycles/motorcycles",
    "motorcycle": "cars-motorcycles/motorcycles",
    "vehicles": "cars-motorcycles",
    "bikes": "bicycles",
    "bike": "bicycles",
    "bicycle": "bicycles",
    "clothing": "clothing-accessories",
    "clothes": "clothing-accessories",
    "fashion": "clothing-accessories",
    "accessories": "clothing-accessories",
    "shoes": "clothing-accessories/shoes",
    "furniture & home": "furniture",
    "books": "books-media/books",
    "media": "books-media",
    "misc": "other",
    "miscellaneous": "other",
}
_CONDITION_SYNONYMS = {
    "brand new": "new",
    "new with tags": "new",
    "like new": "like_new",
    "like-new": "like_new",
    "excellent": "like_new",
    "very good": "good",
    "used": "good",
    "worn": "fair",
    "poor": "fair",
    "broken": "for_parts",
    "for parts": "for_parts",
    "not working": "for_parts",
}
_COLOR_SYNONYMS = {
    "grey": "gray",
    "dark gray": "gray",
    "light gray": "gray",
    "charcoal": "gray",
    "navy": "blue",
    "light blue": "blue",
    "dark blue": "blue",
    "teal": "blue",
    "turquoise": "blue",
    "cream": "beige",
    "tan": "beige",
    "ivory": "white",
    "khaki": "beige",
    "maroon": "red",
    "burgundy": "red",
    "violet": "purple",
    "lilac": "purple",
    "magenta": "pink",
    "chrome": "silver",
    "metallic": "silver",
    "golden": "gold",
    "olive": "green",
    "multi": "multicolor",
    "multi-color": "multicolor",
    "multicolour": "multicolor",
    "colourful": "multicolor",
    "colorful": "multicolor",
    "wood": "brown",
    "wooden": "brown",
}


def _key(value: str) -> str:
    return re.sub(r"\s+", " ", value.strip().lower().replace("_", " "))


def repair_category(value: str | None) -> str | None:
    """A taxonomy id for `value` (an id, a name, a label or a known synonym), else None."""
    if not value:
        return None
    if value in taxonomy().categories:
        return value
    key = _key(value)
    for cat in taxonomy().categories.values():
        if key in (
            _key(cat.id),
            _key(cat.name),
            _key(cat.label),
            _key(cat.label.replace("›", ">")),
        ):
            return cat.id
    if "/" in value and value.split("/")[0] in taxonomy().categories:
        return value.split("/")[0]  # a made-up subcategory under a real top level
    return _CATEGORY_SYNONYMS.get(key)


def repair_condition(value: str | None) -> str | None:
    if not value:
        return None
    key = _key(value).replace(" ", "_")
    if key in taxonomy().conditions:
        return key
    return _CONDITION_SYNONYMS.get(_key(value))


def repair_color(value: str | None) -> str | None:
    if not value:
        return None
    key = _key(value)
    if key in taxonomy().colors:
        return key
    return _COLOR_SYNONYMS.get(key)


def _clean_text(value: str | None, limit: int) -> str | None:
    if not value or not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", "").split())
    if len(text) > limit:
        cut = text[:limit].rsplit(" ", 1)[0]
        text = cut.rstrip(",;:-") if cut else text[:limit]
    return text or None


def _price(value: Any) -> float | None:
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(price) or price <= 0 or price > MAX_PRICE_EUR:
        return None
    return round(price, 2)


def _conf(raw: dict[str, Any], name: str, default: float) -> float:
    try:
        value = float(raw.get(name, default))
    except (TypeError, ValueError):
        return 0.0
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0


def repair(
    raw: RawDraft | dict[str, Any] | None, *, default_confidence: float = 0.7
) -> tuple[ListingDraft, list[str]]:
    """Make a valid ListingDraft from whatever the provider sent; returns (draft, notes).

    Notes name each repair or drop ("category: 'Vehicles' -> cars-motorcycles") so the call log
    shows what the model got wrong.
    """
    notes: list[str] = []
    if raw is None:
        return ListingDraft(), ["no output"]
    if isinstance(raw, dict):
        data: dict[str, Any] = {k: v for k, v in raw.items() if k in RawDraft.model_fields}
        for _ in range(3):  # drop the fields that fail, keep the rest
            try:
                raw = RawDraft.model_validate(data)
                break
            except ValidationError as exc:
                bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
                notes.append(f"dropped malformed field(s): {', '.join(sorted(bad))}")
                if isinstance(data.get("confidence"), dict) and "confidence" in bad:
                    data["confidence"] = {
                        k: v
                        for k, v in data["confidence"].items()
                        if isinstance(k, str) and isinstance(v, (int, float))
                    }
                    bad.discard("confidence")
                data = {k: v for k, v in data.items() if k not in bad}
        else:
            return ListingDraft(), notes
    conf_in = raw.confidence if isinstance(raw.confidence, dict) else {}
    out: dict[str, Any] = {}
    conf: dict[str, float] = {}

    def mapped(name: str, value: str | None, fixed: str | None) -> None:
        if value and fixed is None:
            notes.append(f"{name}: dropped {value!r} (not in the taxonomy)")
        elif value and fixed != value:
            notes.append(f"{name}: {value!r} -> {fixed}")
        out[name] = fixed
        conf[name] = _conf(conf_in, name, default_confidence) if fixed else 0.0

    mapped("category", raw.category, repair_category(raw.category))
    mapped("condition", raw.condition, repair_condition(raw.condition))
    mapped("color", raw.color, repair_color(raw.color))
    alternatives = []
    for alt in raw.category_alternatives[:5] if isinstance(raw.category_alternatives, list) else []:
        fixed = repair_category(alt) if isinstance(alt, str) else None
        if fixed and fixed != out["category"] and fixed not in alternatives:
            alternatives.append(fixed)
    out["category_alternatives"] = alternatives[:2]
    for name, limit in (("title", 80), ("description", 1200), ("brand", 60)):
        value = getattr(raw, name)
        cleaned = _clean_text(value, limit)
        if value and cleaned != " ".join(str(value).split()):
            notes.append(f"{name}: trimmed")
        out[name] = cleaned
        conf[name] = _conf(conf_in, name, default_confidence) if cleaned else 0.0
    if out["brand"] and out["brand"].lower() in (
        "unknown",
        "none",
        "n/a",
        "null",
        "generic",
        "unbranded",
    ):
        out["brand"], conf["brand"] = None, 0.0
    price = _price(raw.price_eur)
    if raw.price_eur is not None and price is None:
        notes.append(f"price: dropped {raw.price_eur!r}")
    low, high = _price(raw.price_low_eur), _price(raw.price_high_eur)
    if price is not None and (low is None or high is None or not low <= price <= high):
        low, high = None, None
    out.update(price_eur=price, price_low_eur=low, price_high_eur=high)
    conf["price"] = _conf(conf_in, "price", default_confidence) if price else 0.0
    return ListingDraft(**out, confidence=Confidence(**conf)), notes
