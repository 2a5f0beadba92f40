"""Per-case, per-field scores of a draft against gold labels, and their aggregates.

Scoring rules (README "Evaluation" documents them for people):
- category: 1 exact (the gold id or an accepted alternative), 0.5 same top level, else 0;
  top-3 hit when the gold is among the category and its alternatives.
- color: 1 exact or accepted, 0.75 a near color of the gold (NEAR_COLORS), else 0;
  `color_accuracy` counts exact + near, `color_exact` only exact.
- brand: scored only where the gold has a brand (case-insensitive, punctuation-blind);
  `brand_hallucination` = a brand suggested where the gold has none and accepts none.
- title relevance: the best fraction of a gold phrase's words (item or synonym) found in the
  title (plurals folded; "tool box" = "toolbox"; "ball" found in "basketball");
  description relevance likewise.
- price: inside the gold range, and |ln(price / geometric mid of the range)|; score 1 in range,
  falling linearly to 0 at 3x outside it.
- validity: the provider answered, and its raw output needed no repair (schema-valid, every
  value in the taxonomy). Empty-field rate over title, description, category, condition,
  color and price.
- overall: per case, the criticality-weighted mean of the field scores that have gold.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from trova.ai.taxonomy import taxonomy
from trova.evals.manifest import WEIGHTS

# Pairs of taxonomy colors that photos of one object commonly show as either (symmetric,
# not transitive). Anything else, and "multicolor", only matches exactly or via color_accept.
NEAR_COLORS: dict[frozenset[str], str] = {
    frozenset(("gray", "silver")): "metal finishes: steel, chrome, aluminium",
    frozenset(("gray", "black")): "charcoal, dark plastics, black in soft light",
    frozenset(("gray", "white")): "white in shadow, off-white plastics",
    frozenset(("white", "beige")): "cream, ivory, off-white",
    frozenset(("beige", "brown")): "tan, camel, light wood",
    frozenset(("beige", "gold")): "champagne, pale brass, pine",
    frozenset(("brown", "orange")): "wood (teak, cherry), copper, rust, bronze",
    frozenset(("brown", "gold")): "bronze, antique brass",
    frozenset(("orange", "red")): "vermilion, brick, red-orange",
    frozenset(("red", "pink")): "rose, raspberry, coral",
    frozenset(("pink", "purple")): "magenta, fuchsia",
    frozenset(("purple", "blue")): "violet, indigo",
    frozenset(("yellow", "gold")): "brass, mustard",
    frozenset(("yellow", "orange")): "amber",
    frozenset(("yellow", "green")): "lime, chartreuse (tennis balls)",
    frozenset(("blue", "green")): "teal, turquoise",
}
CORE_FIELDS = ("title", "description", "category", "condition", "color", "price")
PRICE_ZERO_AT = math.log(3.0)  # price score reaches 0 at 3x outside the gold range
_STOP = {"a", "an", "the", "of", "for", "with", "and", "in", "on", "to", "by", "set", "used"}


def near_color(a: str, b: str) -> bool:
    return frozenset((a, b)) in NEAR_COLORS


def words(text: str | None) -> list[str]:
    """Lowercase content words with simple plural folding ("pliers" stays, "balls" -> "ball")."""
    out = []
    for word in re.findall(r"[a-z0-9äöüéèàç]+", (text or "").lower()):
        if word in _STOP:
            continue
        if len(word) > 4 and word.endswith("ies"):
            word = word[:-3] + "y"
        elif len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
            word = word[:-2]
        elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "rs")):
            word = word[:-1]
        out.append(word)
    return out


def phrase_relevance(text: str | None, phrases: Iterable[str]) -> float:
    """Best fraction of any phrase's words present in `text` (0 when text is empty)."""
    have = words(text)
    if not have:
        return 0.0
    have_set, joined = set(have), "".join(have)
    # adjacent title words written together also count: "tool box" -> "toolbox"
    have_set |= {have[i] + have[i + 1] for i in range(len(have) - 1)}
    best = 0.0
    for phrase in phrases:
        need = words(phrase)
        if not need:
            continue
        if len(need) > 1 and "".join(need) in joined:
            return 1.0
        # a gold word also counts as the tail of a compound ("ball" in "basketball")
        found = sum(
            1
            for w in need
            if w in have_set or (len(w) > 3 and any(h.endswith(w) for h in have_set))
        )
        best = max(best, found / len(need))
    return round(best, 4)


def _norm_brand(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _top(category: str) -> str:
    cat = taxonomy().categories.get(category)
    return cat.top if cat else category.split("/")[0]


def score_case(
    gold: dict[str, Any],
    criticality: Mapping[str, str],
    draft: dict[str, Any] | None,
    *,
    status: str,
    flags: Sequence[str] = (),
) -> dict[str, Any]:
    """Scores of one draft (None or empty on failure: every field counts as wrong)."""
    d = draft or {}
    s: dict[str, Any] = {}
    # category
    accepted = [gold["category"], *gold.get("category_accept", [])]
    pred = d.get("category")
    s["category_exact"] = pred in accepted
    s["category_top_level"] = isinstance(pred, str) and _top(pred) in {_top(c) for c in accepted}
    s["category"] = 1.0 if s["category_exact"] else 0.5 if s["category_top_level"] else 0.0
    ranked = [c for c in [pred, *d.get("category_alternatives", [])[:2]] if c]
    s["category_top3"] = any(c in accepted for c in ranked)
    # color
    if gold.get("color"):
        color = d.get("color")
        exact = color in [gold["color"], *gold.get("color_accept", [])]
        near = isinstance(color, str) and near_color(color, gold["color"])
        s["color_exact"] = exact
        s["color"] = 1.0 if exact else 0.75 if near else 0.0
    else:
        s["color_exact"] = s["color"] = None
    # brand
    brand = d.get("brand") if isinstance(d.get("brand"), str) and d["brand"].strip() else None
    gold_brands = [b for b in [gold.get("brand"), *gold.get("brand_accept", [])] if b]
    if gold.get("brand"):
        s["brand"] = (
            1.0
            if brand is not None and _norm_brand(brand) in map(_norm_brand, gold_brands)
            else 0.0
        )
        s["brand_hallucinated"] = None
    else:
        s["brand"] = None
        s["brand_hallucinated"] = brand is not None and _norm_brand(brand) not in map(
            _norm_brand, gold_brands
        )
    # title / description
    phrases = [gold["item"], *gold.get("item_synonyms", [])]
    s["title"] = phrase_relevance(d.get("title"), phrases)
    s["description"] = phrase_relevance(d.get("description"), phrases)
    # price
    price, bounds = d.get("price_eur"), gold.get("price_range_eur")
    if bounds:
        low, high = float(bounds[0]), float(bounds[1])
        if price:
            s["price_in_range"] = low <= price <= high
            s["price_log_error"] = round(abs(math.log(price / math.sqrt(low * high))), 4)
            outside = max(0.0, math.log(low / price), math.log(price / high))
            s["price"] = round(max(0.0, 1.0 - outside / PRICE_ZERO_AT), 4)
        else:
            s["price_in_range"], s["price_log_error"], s["price"] = False, None, 0.0
    else:
        s["price_in_range"] = s["price_log_error"] = s["price"] = None
    # condition
    if gold.get("condition"):
        s["condition"] = 1.0 if d.get("condition") == gold["condition"] else 0.0
    else:
        s["condition"] = None
    # validity and emptiness
    s["usable"] = status == "ok" and any(d.get(f) for f in ("title", "category", "color"))
    s["valid"] = status == "ok" and not any(f.startswith("repaired:") for f in flags)
    s["empty"] = {f: not d.get("price_eur" if f == "price" else f) for f in CORE_FIELDS}
    # overall
    total = weight = 0.0
    for field in ("category", "title", "color", "brand", "price", "condition"):
        value = s.get(field)
        w = WEIGHTS.get(criticality.get(field, "ignore"), 0)
        if value is not None and w:
            total += w * value
            weight += w
    s["overall"] = round(total / weight, 4) if weight else None
    return s


# Which per-case score says "this field is right" (for flips and failing-case tables).
def correct(scores: dict[str, Any], field: str) -> bool | None:
    if field == "category":
        return bool(scores.get("category_exact"))
    if field == "category_top3":
        return bool(scores.get("category_top3"))
    if field == "color":
        return None if scores.get("color") is None else scores["color"] >= 0.75
    if field == "brand":
        return None if scores.get("brand") is None else scores["brand"] == 1.0
    if field == "title":
        return scores.get("title", 0.0) >= 0.5
    if field == "price":
        return scores.get("price_in_range")
    if field == "condition":
        return None if scores.get("condition") is None else scores["condition"] == 1.0
    if field == "validity":
        return bool(scores.get("valid"))
    raise KeyError(field)


FLIP_FIELDS = ("category", "category_top3", "color", "brand", "title", "price", "validity")

# metric name -> (per-case value extractor). Mean over cases where the value is not None.
CASE_METRICS: dict[str, Any] = {
    "category_accuracy": lambda s: float(s["category_exact"]),
    "category_partial": lambda s: s["category"],
    "category_top_level": lambda s: float(s["category_top_level"]),
    "category_top3": lambda s: float(s["category_top3"]),
    "color_accuracy": lambda s: None if s["color"] is None else float(s["color"] >= 0.75),
    "color_exact": lambda s: None if s["color_exact"] is None else float(s["color_exact"]),
    "brand_accuracy": lambda s: s["brand"],
    "brand_hallucination": lambda s: (
        None if s["brand_hallucinated"] is None else float(s["brand_hallucinated"])
    ),
    "title_relevance": lambda s: s["title"],
    "description_relevance": lambda s: s["description"],
    "price_in_range": lambda s: None if s["price_in_range"] is None else float(s["price_in_range"]),
    "price_score": lambda s: s["price"],
    "condition_accuracy": lambda s: s["condition"],
    "validity": lambda s: float(s["valid"]),
    "usable_rate": lambda s: float(s["usable"]),
    "empty_field_rate": lambda s: sum(s["empty"].values()) / len(s["empty"]),
    "overall": lambda s: s["overall"],
}
# Lower is better for these; everything else in CASE_METRICS: higher is better.
LOWER_IS_BETTER = {"brand_hallucination", "empty_field_rate", "price_log_error"}
# Which metric stands for a field when that field is critical (the gate checks these).
FIELD_METRICS = {
    "category": ("category_accuracy", "category_top3"),
    "title": ("title_relevance",),
    "color": ("color_accuracy",),
    "brand": ("brand_accuracy",),
    "price": ("price_in_range",),
    "condition": ("condition_accuracy",),
}
ALWAYS_GATED = ("validity", "overall")


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return round(sum(vals) / len(vals), 4) if vals else None


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo), 1)


def aggregate(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Metrics over result rows of one trial: each {"scores", "latency_ms", "cost_usd", "tags"}."""
    scores = [r["scores"] for r in rows]
    out: dict[str, Any] = {"n_cases": len(rows)}
    for name, get in CASE_METRICS.items():
        out[name] = _mean(get(s) for s in scores)
    errors = [s["price_log_error"] for s in scores if s.get("price_log_error") is not None]
    out["price_log_error"] = round(statistics.median(errors), 4) if errors else None
    out["empty_rate"] = (
        {f: _mean(float(s["empty"][f]) for s in scores) for f in CORE_FIELDS} if scores else {}
    )
    latencies = [float(r["latency_ms"]) for r in rows]
    out["latency_p50_ms"] = percentile(latencies, 0.5)
    out["latency_p95_ms"] = percentile(latencies, 0.95)
    cost = sum(float(r.get("cost_usd") or 0.0) for r in rows)
    out["cost_usd"] = round(cost, 6)
    out["cost_per_case_usd"] = round(cost / len(rows), 6) if rows else None
    by_tag: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        for tag in r.get("tags") or []:
            by_tag.setdefault(tag, []).append(r["scores"])
    out["by_tag"] = {
        tag: {
            "n_cases": len(group),
            "category_accuracy": _mean(CASE_METRICS["category_accuracy"](s) for s in group),
            "color_accuracy": _mean(CASE_METRICS["color_accuracy"](s) for s in group),
            "overall": _mean(CASE_METRICS["overall"](s) for s in group),
        }
        for tag, group in sorted(by_tag.items())
    }
    return out


def combine_trials(per_trial: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(mean metrics, spread) over trials; spread = {metric: {std, min, max}} for numbers."""
    if len(per_trial) == 1:
        return dict(per_trial[0]), {}
    mean: dict[str, Any] = dict(per_trial[-1])
    spread: dict[str, Any] = {}
    for key, value in per_trial[0].items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            vals = [t[key] for t in per_trial if isinstance(t.get(key), (int, float))]
            if len(vals) == len(per_trial):
                mean[key] = round(statistics.fmean(vals), 4)
                spread[key] = {
                    "std": round(statistics.stdev(vals), 4),
                    "min": min(vals),
                    "max": max(vals),
                }
    mean["trials"] = len(per_trial)
    return mean, spread


def critical_fields(criticalities: Iterable[dict[str, str]]) -> list[str]:
    """Fields marked critical in any case of the dataset, in a stable order."""
    found = {f for crit in criticalities for f, level in crit.items() if level == "critical"}
    return [f for f in FIELD_METRICS if f in found]


def gated_metrics(fields: Iterable[str]) -> list[str]:
    out = [m for f in fields for m in FIELD_METRICS.get(f, ())]
    return [*out, *ALWAYS_GATED]
