"""From ImageNet class probabilities to a Trova category and an item noun (imagenet_map.yaml)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import numpy as np
import yaml
from numpy.typing import NDArray

from trova.ai.taxonomy import taxonomy

OTHER = "other"
TOP_K = 10  # classes whose probability is aggregated; the tail is noise spread over 990 classes
MIN_CATEGORY_CONFIDENCE = 0.15
SUBCATEGORY_SHARE = 0.6  # a subcategory must carry this share of its parent's mass to be chosen
OTHER_CONFIDENCE_CAP = 0.3  # "other" is a fallback, never a confident answer


@dataclass(frozen=True)
class MappedClass:
    index: int
    wnid: str
    label: str
    category: str  # taxonomy id
    item: str  # noun phrase for titles


@dataclass(frozen=True)
class CategoryGuess:
    category: str
    confidence: float
    item: str | None
    alternatives: tuple[tuple[str, float], ...]  # best first; includes `category`


@cache
def imagenet_map() -> dict[int, MappedClass]:
    """The curated map, keyed by class index (validated by tests/ai/local)."""
    text = files("trova.ai.local").joinpath("imagenet_map.yaml").read_text("utf-8")
    raw = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    out: dict[int, MappedClass] = {}
    for entry in raw["entries"]:
        mapped = MappedClass(
            index=int(entry["index"]),
            wnid=str(entry["wnid"]),
            label=str(entry["label"]),
            category=str(entry["category"]),
            item=str(entry["item"]),
        )
        if mapped.index in out:
            raise ValueError(f"imagenet_map.yaml lists class {mapped.index} twice")
        out[mapped.index] = mapped
    return out


def categorize(probs: NDArray[np.float64], *, top_k: int = TOP_K) -> CategoryGuess:
    """Aggregate the top-k class probabilities into a category, its confidence and an item.

    A category's confidence is the summed probability of the top-k classes mapped to it (three
    kinds of guitar add up). The top-level category with the most mass is chosen first; one of its
    subcategories is answered only when it holds most of that mass and no category elsewhere
    beats it (guitar 0.45 + violin 0.35 -> "Musical Instruments" at 0.8 rather than "Guitars" at
    0.45), so the answer is never less likely than an alternative. Unmapped classes (animals,
    food, scenery) make "other" with a low confidence.
    """
    tax = taxonomy()
    mapping = imagenet_map()
    top = np.argsort(probs)[::-1][:top_k]
    by_category: dict[str, float] = defaultdict(float)
    by_top: dict[str, float] = defaultdict(float)
    best_item: dict[str, tuple[float, str]] = {}
    unmapped = 0.0
    for index in top.tolist():
        p = float(probs[index])
        mapped = mapping.get(index)
        if mapped is None:
            unmapped += p
            continue
        parent = tax.top_of(mapped.category)
        by_category[mapped.category] += p
        by_top[parent] += p
        for key in {mapped.category, parent}:
            if key not in best_item or p > best_item[key][0]:
                best_item[key] = (p, mapped.item)

    ranked = sorted(by_category.items(), key=lambda kv: -kv[1])
    if not by_top:
        return _other(unmapped, ranked)
    parent, parent_score = max(by_top.items(), key=lambda kv: kv[1])
    if parent_score < max(MIN_CATEGORY_CONFIDENCE, 0.5 * unmapped):
        return _other(unmapped, ranked)
    sub, sub_score = max(
        ((c, s) for c, s in by_category.items() if tax.top_of(c) == parent), key=lambda kv: kv[1]
    )
    if sub_score >= SUBCATEGORY_SHARE * parent_score and sub_score == ranked[0][1]:
        chosen, confidence = sub, sub_score
    else:
        chosen, confidence = parent, parent_score
    alternatives = [(chosen, confidence)] + [(c, s) for c, s in ranked if c != chosen]
    return CategoryGuess(
        category=chosen,
        confidence=round(confidence, 3),
        item=best_item[chosen][1],
        alternatives=tuple((c, round(s, 3)) for c, s in alternatives[:3]),
    )


def _other(unmapped: float, ranked: list[tuple[str, float]]) -> CategoryGuess:
    confidence = round(min(unmapped, OTHER_CONFIDENCE_CAP), 3)
    alternatives = [(OTHER, confidence)] + [(c, round(s, 3)) for c, s in ranked if c != OTHER]
    return CategoryGuess(OTHER, confidence, None, tuple(alternatives[:3]))
