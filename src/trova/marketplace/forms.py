"""The listing form: parsing and validating what a seller typed, and rendering it back.

The form is rendered from a `ListingForm` — empty for a new listing, filled from a listing when
editing, and (issue B) filled from an AI draft with per-field confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator

from trova.ai.draft import ListingDraft
from trova.ai.taxonomy import taxonomy
from trova.marketplace.models import MAX_PRICE_CENTS, Listing

FIELDS = ("title", "description", "category", "condition", "brand", "color", "price")


def format_price(cents: int | None) -> str:
    """EUR in the en-IE style used across Trova: €1,234.50."""
    if cents is None:
        return ""
    return f"€{cents / 100:,.2f}"


def price_input_value(cents: int | None) -> str:
    """The price as a seller would type it back into the form: 1234.50."""
    return "" if cents is None else f"{cents / 100:.2f}"


_PRICE_CLEAN = re.compile(r"[€\s\u00a0]|eur", re.IGNORECASE)
_PRICE_NUMBER = re.compile(r"\d{1,12}(\.\d{1,2})?")


def parse_price(text: str | float | int) -> int:
    """Parse '1,234.50', '1.234,50', '€ 45', '45,5' into cents; ValueError with a sentence."""
    raw = _PRICE_CLEAN.sub("", str(text))
    if not raw:
        raise ValueError("Enter a price in euros, e.g. 45 or 1,250.00.")
    if "," in raw and "." in raw:
        # The last separator is the decimal one: 1.234,50 or 1,234.50
        decimal_sep = "," if raw.rfind(",") > raw.rfind(".") else "."
        thousands = "." if decimal_sep == "," else ","
        raw = raw.replace(thousands, "").replace(decimal_sep, ".")
    elif "," in raw:
        head, _, tail = raw.rpartition(",")
        # 1,250 is a thousands separator; 12,5 / 12,50 is a decimal comma
        raw = raw.replace(",", "") if len(tail) == 3 and head else f"{head.replace(',', '')}.{tail}"
    if raw.startswith("-"):
        raise ValueError("The price must be more than €0.")
    if not _PRICE_NUMBER.fullmatch(raw):
        raise ValueError("Enter a price in euros, e.g. 45 or 1,250.00.")
    value = Decimal(raw)  # the pattern bounds it to 12 digits: never huge
    cents = int((value * 100).quantize(Decimal(1)))
    if cents <= 0:
        raise ValueError("The price must be more than €0.")
    if cents > MAX_PRICE_CENTS:
        raise ValueError("The price can be at most €10,000,000.00.")
    return cents


class ListingInput(BaseModel):
    """A complete, valid set of listing fields (what publishing needs)."""

    title: str
    description: str = ""
    category: str
    condition: str
    brand: str | None = None
    color: str | None = None
    price_cents: int

    @field_validator("title")
    @classmethod
    def _title(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("Give your listing a title.")
        if len(v) > 80:
            raise ValueError("Keep the title to 80 characters or fewer.")
        return v

    @field_validator("description")
    @classmethod
    def _description(cls, v: str) -> str:
        v = v.strip().replace("\r\n", "\n")
        if len(v) > 4000:
            raise ValueError("Keep the description to 4,000 characters or fewer.")
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if not taxonomy().is_category(v):
            raise ValueError("Choose a category from the list.")
        return v

    @field_validator("condition")
    @classmethod
    def _condition(cls, v: str) -> str:
        if v not in taxonomy().conditions:
            raise ValueError("Choose the item's condition.")
        return v

    @field_validator("brand")
    @classmethod
    def _brand(cls, v: str | None) -> str | None:
        v = " ".join((v or "").split())
        if len(v) > 60:
            raise ValueError("Keep the brand to 60 characters or fewer.")
        return v or None

    @field_validator("color")
    @classmethod
    def _color(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if v not in taxonomy().colors:
            raise ValueError("Choose a color from the list.")
        return v

    @field_validator("price_cents")
    @classmethod
    def _price(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("The price must be more than €0.")
        if v > MAX_PRICE_CENTS:
            raise ValueError("The price can be at most €10,000,000.00.")
        return v


@dataclass
class ListingForm:
    """What the listing form shows: values as text, errors per field, and AI suggestions."""

    values: dict[str, str] = field(default_factory=lambda: dict.fromkeys(FIELDS, ""))
    errors: dict[str, str] = field(default_factory=dict)
    # Per-field confidence (0–1) of AI-suggested values; empty when nothing was suggested.
    suggestions: dict[str, float] = field(default_factory=dict)
    ai_call_id: str | None = None
    notice: str | None = None  # one friendly sentence, e.g. "We couldn't suggest details…"
    price_hint: str | None = None  # "Similar items are listed for €40–€65 (12 listings)."

    @classmethod
    def empty(cls) -> ListingForm:
        return cls()

    @classmethod
    def from_listing(cls, listing: Listing) -> ListingForm:
        return cls(
            values={
                "title": listing.title,
                "description": listing.description,
                "category": listing.category or "",
                "condition": listing.condition or "",
                "brand": listing.brand or "",
                "color": listing.color or "",
                "price": price_input_value(listing.price_cents),
            },
            ai_call_id=listing.ai_call_id,
        )

    @classmethod
    def from_submission(cls, data: dict[str, Any]) -> ListingForm:
        values = {name: str(data.get(name) or "") for name in FIELDS}
        return cls(values=values, ai_call_id=(str(data.get("ai_call_id") or "") or None))

    @classmethod
    def from_draft(
        cls,
        draft: ListingDraft,
        *,
        ai_call_id: str | None,
        notice: str | None = None,
        price_hint: str | None = None,
    ) -> ListingForm:
        """The form pre-filled from an AI draft, with per-field confidence for the markers."""
        return cls(
            values={
                "title": draft.title or "",
                "description": draft.description or "",
                "category": draft.category or "",
                "condition": draft.condition or "",
                "brand": draft.brand or "",
                "color": draft.color or "",
                "price": f"{draft.price_eur:.2f}" if draft.price_eur else "",
            },
            suggestions=draft.field_confidence(),
            ai_call_id=ai_call_id,
            notice=notice,
            price_hint=price_hint,
        )

    def validate(self) -> ListingInput | None:
        """The valid input, or None with `errors` filled per field."""
        self.errors = {}
        data: dict[str, Any] = {k: v for k, v in self.values.items() if k != "price"}
        try:
            data["price_cents"] = parse_price(self.values.get("price", ""))
        except ValueError as exc:
            self.errors["price"] = str(exc)
        if not data.get("category"):
            self.errors["category"] = "Choose a category from the list."
            data.pop("category", None)
        if not data.get("condition"):
            self.errors["condition"] = "Choose the item's condition."
            data.pop("condition", None)
        try:
            parsed = ListingInput.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                name = str(err["loc"][0]) if err["loc"] else "form"
                name = "price" if name == "price_cents" else name
                message = str(err["msg"]).removeprefix("Value error, ")
                if name in self.errors:
                    continue
                self.errors[name] = (
                    message if err["type"] == "value_error" else f"Please fill in the {name}."
                )
            return None
        return None if self.errors else parsed

    def low_confidence(self, name: str, threshold: float = 0.6) -> bool:
        return name in self.suggestions and self.suggestions[name] < threshold
