"""The synthetic seller of `trova simulate`: how long filling the form takes and what they fix.

The seller knows the truth about their item (the demo catalogue's listing for the photo) and
compares each field the form shows with it. A field that is right is checked and kept; a wrong
one is fixed; an empty one is typed. Effort is in virtual seconds: typing the whole form from
scratch takes about five minutes, and the chance to give up grows with the effort (≈15 % at
five minutes), the seed's figures for the form without AI.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

# Seconds to type a field from scratch (a typical seller, before noise).
TYPE_S = {
    "title": 45.0,
    "description": 120.0,
    "category": 20.0,
    "condition": 8.0,
    "brand": 10.0,
    "color": 8.0,
    "price": 30.0,
}
CHECK_S = 3.0  # reading a pre-filled field that is right
FIX_SHARE = 0.6  # fixing a wrong value costs this share of typing it
OVERHEAD_S = 60.0  # photo, review page, publish
BASE_ABANDON = 0.03
ABANDON_PER_5_MIN = 0.12


@dataclass
class Plan:
    values: dict[str, str]  # what the seller submits
    edited: list[str]  # fields they changed (field_edited events), in order
    effort_s: float  # virtual seconds from create_started to publish
    abandon: bool
    thumbs: str | None  # "up", "down" or None
    comment: str | None = None
    accepted: list[str] = field(default_factory=list)


def truth_values(item: dict[str, Any]) -> dict[str, str]:
    """The form values a careful seller would publish for a catalogue item."""
    return {
        "title": str(item["title"]),
        "description": " ".join(str(item.get("description") or "").split()),
        "category": str(item["category"]),
        "condition": str(item["condition"]),
        "brand": str(item.get("brand") or ""),
        "color": str(item.get("color") or ""),
        "price": f"{float(item['price_eur']):.2f}",
    }


def _right(name: str, shown: str, truth: str, rng: random.Random) -> bool:
    if not shown:
        return not truth
    if name == "title":
        return fuzz.token_set_ratio(shown.lower(), truth.lower()) >= 60
    if name == "description":
        return rng.random() < 0.35  # an AI description is often kept, rarely perfect
    if name == "category":
        return shown == truth or (shown.split("/")[0] == truth.split("/")[0] and rng.random() < 0.5)
    if name == "price":
        try:
            a, b = float(shown), float(truth)
        except ValueError:
            return False
        return abs(a - b) <= 0.3 * b
    return shown.strip().lower() == truth.strip().lower()


def plan(shown: dict[str, str], item: dict[str, Any], rng: random.Random) -> Plan:
    """What this seller does with the form as shown (empty for `off` or a failed prefill)."""
    truth = truth_values(item)
    values: dict[str, str] = {}
    edited: list[str] = []
    accepted: list[str] = []
    effort = OVERHEAD_S
    suggested = [name for name in TYPE_S if shown.get(name)]
    for name, cost in TYPE_S.items():
        current = shown.get(name, "")
        if current and _right(name, current, truth[name], rng):
            values[name] = current
            accepted.append(name)
            effort += CHECK_S
        elif not current and not truth[name]:
            values[name] = ""
        else:
            values[name] = truth[name]
            edited.append(name)
            effort += cost * (FIX_SHARE if current else 1.0)
    effort *= math.exp(rng.gauss(0.0, 0.35))  # people differ
    p_abandon = min(0.9, BASE_ABANDON + ABANDON_PER_5_MIN * effort / 300.0)
    thumbs = comment = None
    if suggested:
        share = len([n for n in accepted if n in suggested]) / len(suggested)
        if share >= 0.6 and rng.random() < 0.5:
            thumbs = "up"
        elif share <= 0.4 and rng.random() < 0.5:
            thumbs = "down"
            if rng.random() < 0.3:
                comment = f"Had to fix {', '.join(edited[:3])}."
    return Plan(values, edited, effort, rng.random() < p_abandon, thumbs, comment, accepted)
