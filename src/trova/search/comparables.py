"""Price from comparable listings: median and interquartile range of similar published/sold items.

Issue F upgrades "similar" to vector search; this version matches by category and item words.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, col, select

from trova.ai.taxonomy import taxonomy
from trova.marketplace.models import Listing, ListingStatus

MIN_COMPARABLES = 3


@dataclass(frozen=True)
class PriceSuggestion:
    price_eur: float
    low_eur: float
    high_eur: float
    n: int  # comparables used; 0 means the category prior
    confidence: float
    basis: str  # "item", "category", "top-level category" or "category prior"

    def sentence(self) -> str:
        if self.n == 0:
            return f"Typical for this category: €{self.low_eur:,.0f}–€{self.high_eur:,.0f}."
        return (
            f"Similar items are listed for €{self.low_eur:,.0f}–€{self.high_eur:,.0f} "
            f"({self.n} listing{'s' if self.n != 1 else ''})."
        )


def _prices(session: Session, category_ids: list[str], words: list[str]) -> list[float]:
    stmt = select(Listing.price_cents).where(
        col(Listing.status).in_([ListingStatus.published, ListingStatus.sold]),
        col(Listing.price_cents).is_not(None),
        or_(
            *(col(Listing.category) == c for c in category_ids),
            *(col(Listing.category).startswith(c + "/") for c in category_ids if "/" not in c),
        ),
    )
    for word in words:
        stmt = stmt.where(col(Listing.title).ilike(f"%{word}%"))
    return [cents / 100 for cents in session.exec(stmt.limit(500)) if cents]


def _summary(prices: list[float], basis: str) -> PriceSuggestion:
    prices = sorted(prices)
    median = statistics.median(prices)
    if len(prices) >= 4:
        q1, _, q3 = statistics.quantiles(prices, n=4, method="inclusive")
    else:
        q1, q3 = prices[0], prices[-1]
    n = len(prices)
    spread = (q3 - q1) / median if median else 1.0
    confidence = min(0.85, 0.35 + 0.05 * min(n, 8)) * (1.0 if spread < 1 else 0.7)
    return PriceSuggestion(
        round(median, 2), round(q1, 2), round(q3, 2), n, round(confidence, 2), basis
    )


def price_suggestion(
    session: Session, category: str | None, item: str | None = None
) -> PriceSuggestion:
    """Median and IQR of comparable listings, widening from item to category to top level;
    the category's prior price band when nothing comparable exists."""
    tax = taxonomy()
    category = category if category and tax.is_category(category) else "other"
    top = tax.top_of(category)
    words = [w for w in (item or "").lower().split() if len(w) > 2][-1:]  # the head noun
    attempts: list[tuple[list[str], list[str], str]] = []
    if words:
        attempts.append(([category], words, "item"))
    attempts.append(([category], [], "category"))
    if top != category:
        attempts.append(([top], [], "top-level category"))
    for cats, w, basis in attempts:
        prices = _prices(session, cats, w)
        if len(prices) >= MIN_COMPARABLES:
            return _summary(prices, basis)
    prior = tax.price_prior(category)
    low = max(prior.low, prior.typical * 0.5)
    high = min(prior.high, prior.typical * 1.8)
    return PriceSuggestion(prior.typical, round(low, 2), round(high, 2), 0, 0.2, "category prior")
