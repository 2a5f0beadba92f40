"""Per-field scoring: what counts as right, partly right and wrong."""

from __future__ import annotations

from typing import Any

import pytest

from trova.evals.manifest import DEFAULT_CRITICALITY
from trova.evals.metrics import (
    aggregate,
    combine_trials,
    correct,
    gated_metrics,
    phrase_relevance,
    score_case,
)

GOLD: dict[str, Any] = {
    "category": "musical-instruments/guitars",
    "category_accept": [],
    "item": "classical guitar",
    "item_synonyms": ["acoustic guitar", "guitar"],
    "color": "brown",
    "color_accept": ["orange"],
    "brand": None,
    "brand_accept": ["Yamaha"],
    "price_range_eur": [50, 300],
    "condition": None,
}
PERFECT: dict[str, Any] = {
    "title": "Classical guitar, nylon strings",
    "description": "A classical guitar with a natural top.",
    "category": "musical-instruments/guitars",
    "category_alternatives": [],
    "condition": "good",
    "brand": None,
    "color": "brown",
    "price_eur": 120.0,
}


def score(draft: dict[str, Any] | None, gold: dict[str, Any] = GOLD, **kw: Any) -> dict[str, Any]:
    return score_case(gold, DEFAULT_CRITICALITY, draft, status=kw.pop("status", "ok"), **kw)


def test_a_perfect_draft_scores_one_everywhere() -> None:
    s = score(PERFECT)
    assert s["category"] == 1.0 and s["category_top3"] and s["color"] == 1.0
    assert s["title"] == 1.0 and s["price_in_range"] and s["valid"] and s["overall"] == 1.0
    assert s["brand"] is None and s["brand_hallucinated"] is False


def test_category_partial_credit_and_top3() -> None:
    sibling = score({**PERFECT, "category": "musical-instruments/strings"})
    assert (sibling["category"], sibling["category_exact"]) == (0.5, False)
    wrong = score(
        {
            **PERFECT,
            "category": "toys-games/toys",
            "category_alternatives": ["home-kitchen", "musical-instruments/guitars"],
        }
    )
    assert wrong["category"] == 0.0 and wrong["category_top3"] is True
    accepted = score(
        PERFECT, {**GOLD, "category": "toys-games", "category_accept": [PERFECT["category"]]}
    )
    assert accepted["category_exact"]


@pytest.mark.parametrize(
    ("color", "expected", "counts_as_right"),
    [
        ("brown", 1.0, True),
        ("orange", 1.0, True),
        ("beige", 0.75, True),
        ("gold", 0.75, True),
        ("blue", 0.0, False),
        ("multicolor", 0.0, False),
        (None, 0.0, False),
    ],
)
def test_color_near_tolerance(color: str | None, expected: float, counts_as_right: bool) -> None:
    s = score({**PERFECT, "color": color})
    assert s["color"] == expected
    assert correct(s, "color") is counts_as_right


def test_brand_accuracy_and_hallucination() -> None:
    gold = {**GOLD, "brand": "Russell Hobbs", "brand_accept": []}
    assert score({**PERFECT, "brand": "russell-hobbs"}, gold)["brand"] == 1.0
    assert score({**PERFECT, "brand": "Philips"}, gold)["brand"] == 0.0
    # no readable brand in the photo: naming one is a hallucination, an accepted one is not
    assert score({**PERFECT, "brand": "Fender"})["brand_hallucinated"] is True
    assert score({**PERFECT, "brand": "YAMAHA"})["brand_hallucinated"] is False


@pytest.mark.parametrize(
    ("title", "phrases", "expected"),
    [
        ("Acoustic guitar, brown", ["classical guitar", "acoustic guitar"], 1.0),
        ("Guitar", ["classical guitar"], 0.5),
        ("Road bike, gray", ["classical guitar", "guitar"], 0.0),
        ("Metal toolbox", ["tool box"], 1.0),
        ("Tool box, red", ["toolbox"], 1.0),
        ("Tennis balls", ["tennis ball"], 1.0),
        ("Basketball", ["ball"], 1.0),
        ("Eraser, red", ["dry erase marker"], 0.0),
        (None, ["guitar"], 0.0),
    ],
)
def test_title_relevance(title: str | None, phrases: list[str], expected: float) -> None:
    assert phrase_relevance(title, phrases) == expected


def test_price_range_log_error_and_score() -> None:
    inside = score({**PERFECT, "price_eur": 50.0})
    assert inside["price_in_range"] and inside["price"] == 1.0
    double = score({**PERFECT, "price_eur": 600.0})  # 2x above the top of the range
    assert not double["price_in_range"] and 0 < double["price"] < 0.5
    assert double["price_log_error"] == pytest.approx(1.589, abs=0.001)  # ln(600/sqrt(50*300))
    assert score({**PERFECT, "price_eur": 2000.0})["price"] == 0.0
    assert score({**PERFECT, "price_eur": None})["price"] == 0.0


def test_a_repaired_reply_is_usable_but_not_valid_and_errors_score_zero() -> None:
    repaired = score(PERFECT, flags=["repaired:category: 'Guitars' -> musical-instruments/guitars"])
    assert repaired["usable"] and not repaired["valid"]
    assert score(PERFECT, flags=["price_implausible"])["valid"]
    failed = score(None, status="error")
    assert not failed["valid"] and failed["overall"] == 0.0 and all(failed["empty"].values())


def test_overall_weights_fields_by_criticality() -> None:
    # category (critical, 3) right, title (critical, 3) wrong, color (major, 2) right,
    # price (major, 2) wrong
    s = score({**PERFECT, "title": "Something", "price_eur": 5000.0})
    assert s["overall"] == pytest.approx((3 + 0 + 2 + 0) / 10, abs=1e-3)
    crit = {**DEFAULT_CRITICALITY, "title": "ignore"}
    s2 = score_case(GOLD, crit, {**PERFECT, "title": "Something", "price_eur": 5000.0}, status="ok")
    assert s2["overall"] == pytest.approx(5 / 7, abs=1e-3)


def test_aggregate_and_trials_spread() -> None:
    good = {"scores": score(PERFECT), "latency_ms": 100, "cost_usd": 0.001, "tags": ["a"]}
    bad = {"scores": score(None, status="error"), "latency_ms": 300, "cost_usd": 0.0, "tags": ["b"]}
    one = aggregate([good, bad])
    assert one["category_accuracy"] == 0.5 and one["validity"] == 0.5
    assert one["latency_p50_ms"] == 200 and one["cost_per_case_usd"] == 0.0005
    assert one["by_tag"]["a"]["category_accuracy"] == 1.0
    two = aggregate([good, good])
    mean, spread = combine_trials([one, two])
    assert mean["category_accuracy"] == 0.75 and mean["trials"] == 2
    assert spread["category_accuracy"]["min"] == 0.5 and spread["category_accuracy"]["std"] > 0
    assert gated_metrics(["category"]) == [
        "category_accuracy",
        "category_top3",
        "validity",
        "overall",
    ]
