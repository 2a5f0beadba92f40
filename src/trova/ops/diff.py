"""Field-level diff between what the AI suggested and what the seller published.

Per field one state:
- accepted: the seller kept the suggestion (text compared ignoring case and spacing,
  prices to the cent);
- edited: both have a value and they differ;
- cleared: the AI suggested a value, the seller removed it;
- added: the AI left it empty, the seller filled it;
- empty: neither has a value.
Text fields also get word-level segments for display and a similarity ratio.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass
from typing import Any

from trova.ai.draft import DRAFT_FIELDS
from trova.ai.taxonomy import taxonomy

TEXT_FIELDS = ("title", "description", "brand")
SUGGESTED_STATES = ("accepted", "edited", "cleared")  # the AI had a value
CHANGED_STATES = ("edited", "cleared")
_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class Segment:
    op: str  # equal | delete | insert
    text: str


@dataclass(frozen=True)
class FieldDiff:
    field: str
    suggested: Any  # raw value: str, or float EUR for price
    published: Any
    state: str
    confidence: float | None = None
    similarity: float | None = None  # text fields, 0..1
    segments: list[Segment] = dataclasses.field(default_factory=list)

    @property
    def suggested_text(self) -> str:
        return display(self.field, self.suggested)

    @property
    def published_text(self) -> str:
        return display(self.field, self.published)

    @property
    def changed(self) -> bool:
        return self.state in CHANGED_STATES


def draft_values(draft: dict[str, Any] | None) -> dict[str, Any]:
    """The form-field values of an ai_calls.draft JSON (price as EUR float)."""
    draft = draft or {}
    values = {name: draft.get(name) for name in DRAFT_FIELDS if name != "price"}
    values["price"] = draft.get("price_eur")
    return {k: _blank_to_none(v) for k, v in values.items()}


def listing_values(listing: Any) -> dict[str, Any]:
    """The same fields of a published Listing (price_cents → EUR)."""
    values = {name: getattr(listing, name, None) for name in DRAFT_FIELDS if name != "price"}
    cents = getattr(listing, "price_cents", None)
    values["price"] = cents / 100 if cents is not None else None
    return {k: _blank_to_none(v) for k, v in values.items()}


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _norm_text(value: str) -> str:
    return " ".join(value.split()).casefold()


def same(name: str, a: Any, b: Any) -> bool:
    """Whether the published value keeps the suggestion."""
    if a is None or b is None:
        return a is None and b is None
    if name == "price":
        try:
            return round(float(a) * 100) == round(float(b) * 100)
        except (TypeError, ValueError):
            return False
    if name in TEXT_FIELDS:
        return _norm_text(str(a)) == _norm_text(str(b))
    return str(a) == str(b)


def state_of(name: str, suggested: Any, published: Any) -> str:
    if suggested is None and published is None:
        return "empty"
    if suggested is None:
        return "added"
    if published is None:
        return "cleared"
    return "accepted" if same(name, suggested, published) else "edited"


def word_segments(a: str, b: str) -> list[Segment]:
    """Word-level diff of a → b, for showing what the seller changed."""
    left, right = _TOKENS.findall(a), _TOKENS.findall(b)
    out: list[Segment] = []
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(Segment("equal", "".join(left[i1:i2])))
            continue
        if op in ("delete", "replace"):
            out.append(Segment("delete", "".join(left[i1:i2])))
        if op in ("insert", "replace"):
            out.append(Segment("insert", "".join(right[j1:j2])))
    return out


def diff_fields(
    suggested: dict[str, Any],
    published: dict[str, Any],
    confidence: dict[str, Any] | None = None,
) -> list[FieldDiff]:
    """One FieldDiff per form field, in form order."""
    confidence = confidence or {}
    out = []
    for name in DRAFT_FIELDS:
        a, b = suggested.get(name), published.get(name)
        state = state_of(name, a, b)
        similarity = None
        segments: list[Segment] = []
        if name in TEXT_FIELDS and a is not None and b is not None:
            similarity = round(
                difflib.SequenceMatcher(a=_norm_text(str(a)), b=_norm_text(str(b))).ratio(), 3
            )
            if state == "edited":
                segments = word_segments(str(a), str(b))
        conf = confidence.get(name)
        out.append(
            FieldDiff(
                field=name,
                suggested=a,
                published=b,
                state=state,
                confidence=float(conf) if isinstance(conf, int | float) else None,
                similarity=similarity,
                segments=segments,
            )
        )
    return out


def display(name: str, value: Any) -> str:
    """A value as a person reads it: category label, condition/color names, € prices."""
    if value is None or value == "":
        return ""
    tax = taxonomy()
    if name == "category":
        cat = tax.categories.get(str(value))
        return cat.label if cat else str(value)
    if name == "condition":
        opt = tax.conditions.get(str(value))
        return opt.name if opt else str(value)
    if name == "color":
        opt = tax.colors.get(str(value))
        return opt.name if opt else str(value)
    if name == "price":
        try:
            return f"€{float(value):,.2f}"
        except (TypeError, ValueError):
            return str(value)
    return str(value)
