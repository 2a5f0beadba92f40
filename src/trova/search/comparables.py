"""Price from comparable listings: median and interquartile range of similar published/sold items.

"Similar" comes from hybrid search (meaning + words) over published and sold listings of the
same category (then its top level) when the search index is built; otherwise, and when too
few similar items exist, it widens from matching item words to the category, its top level,
and finally the category's prior price band.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass

from sqlalchemy import or_
from sqlmodel import Session, col, select

from trova.ai.taxonomy import taxonomy
from trova.marketplace.models import Listing, ListingStatus

MIN_COMPARABLES = 3
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PriceSuggestion:
    price_eur: float
    low_eur: float
    high_eur: float
    n: int  # comparables used; 0 means the category prior
    confidence: float
    basis: str  # "similar items", "item", "category", "top-level category", "category prior"

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


SIMILAR_LIMIT = 20  # nearest comparables used at most


def _similar_prices(
    session: Session, category: str, item: str, exclude_id: int | None
) -> list[float]:
    """Prices of the listings most similar to `item` in this category (hybrid search)."""
    from trova.search.backends import Filters, SearchUnavailable
    from trova.search.browse import _default_embedders
    from trova.search.query import search
    from trova.search.text import fold, query_terms

    filters = Filters(
        category=category,
        statuses=(ListingStatus.published.value, ListingStatus.sold.value),
        exclude_ids=(exclude_id,) if exclude_id is not None else (),
    )
    # Listings whose title names the item come first; when too few do, its nearest
    # neighbours by meaning (hybrid search, similarity floor on).
    try:
        named = search(
            session, item, _default_embedders(), mode="keyword", filters=filters, limit=100
        )
        terms = [named.corrections.get(w, w) for w in query_terms(item)]
        rows = _priced(session, named.ids, filters.statuses)
        prices = [p for title, p in rows if any(t in fold(title) for t in terms)]
        if len(prices) >= MIN_COMPARABLES:
            return prices[:SIMILAR_LIMIT]
        similar = search(
            session,
            item,
            _default_embedders(),
            filters=filters,
            limit=SIMILAR_LIMIT,
            vector_floor=True,
        )
    except SearchUnavailable:
        return []
    except Exception:  # a price hint must never break a prefill
        log.exception("comparables search failed")
        return []
    return [p for _, p in _priced(session, similar.ids, filters.statuses)]


def _priced(session: Session, ids: list[int], statuses: tuple[str, ...]) -> list[tuple[str, float]]:
    """(title, price) of these listings, in the given order."""
    if not ids:
        return []
    stmt = select(Listing.id, Listing.title, Listing.price_cents).where(
        col(Listing.id).in_(ids),
        col(Listing.status).in_(statuses),
        col(Listing.price_cents).is_not(None),
    )
    found = {lid: (title, cents / 100) for lid, title, cents in session.exec(stmt) if cents}
    return [found[i] for i in ids if i in found]


def price_suggestion(
    session: Session,
    category: str | None,
    item: str | None = None,
    *,
    exclude_id: int | None = None,
) -> PriceSuggestion:
    """Median and IQR of comparable listings, widening from similar items (search) to item
    words, category and top level; the category's prior price band when nothing comparable
    exists. `item` is what the thing is ("violin", or a listing title)."""
    tax = taxonomy()
    category = category if category and tax.is_category(category) else "other"
    top = tax.top_of(category)
    if item and item.strip():
        for scope in dict.fromkeys([category, top]):  # the category, then its top level
            prices = _similar_prices(session, scope, item.strip(), exclude_id)
            if len(prices) >= MIN_COMPARABLES:
                return _summary(prices, "similar items")
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
