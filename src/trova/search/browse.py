"""What the marketplace pages ask of search: a page of results for `q`, similar listings.

Both degrade quietly: without an active index (first start, before the worker built it) the
browse page falls back to its plain SQL text search, and the listing page shows no
"similar listings" block.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from trova.ai.taxonomy import taxonomy
from trova.config import Settings
from trova.marketplace.models import Listing, ListingStatus, Photo
from trova.search.backends import Filters, SearchUnavailable, backend_for
from trova.search.embedders import EmbedderError
from trova.search.index import EmbedderFactory, active_version
from trova.search.query import embed_query, search
from trova.search.service import embedders
from trova.search.text import doc_text

log = logging.getLogger(__name__)

RELEVANCE = "relevance"
MAX_MATCHES = 240  # keyword candidates for a browse query (10 pages); totals cap here
SIMILAR_POOL = 24


@cache
def _default_embedders() -> EmbedderFactory:
    """Embedders configured from the environment (TROVA_*), for callers without settings."""
    return embedders(Settings())


def search_listings(
    session: Session,
    q: str,
    *,
    category: str | None = None,
    sort: str = RELEVANCE,
    page: int = 1,
    page_size: int = 24,
    seller_id: int | None = None,
    embedder_factory: EmbedderFactory | None = None,
) -> tuple[list[Listing], int] | None:
    """A page of published listings matching q (hybrid search) and the total; None when the
    index cannot answer, so the caller uses its SQL fallback."""
    try:
        result = search(
            session,
            q,
            embedder_factory or _default_embedders(),
            mode="hybrid",
            filters=Filters(category=category or None),
            limit=MAX_MATCHES,
            candidates=MAX_MATCHES,
            vector_floor=True,
            verify=False,  # the page query below filters against the listing table
        )
    except SearchUnavailable:
        return None
    except Exception:  # search must never take the browse page down
        log.exception("hybrid search failed; using the SQL fallback")
        return None
    page = max(1, page)
    ids = result.ids
    if not ids:
        return [], 0
    where: list[Any] = [
        col(Listing.id).in_(ids),
        col(Listing.status) == ListingStatus.published,
    ]
    if seller_id is not None:
        where.append(col(Listing.seller_id) == seller_id)
    if category:
        where.append(
            or_(col(Listing.category) == category, col(Listing.category).startswith(category + "/"))
        )
    start = (page - 1) * page_size
    if sort not in ("newest", "price_asc", "price_desc"):  # relevance
        valid = set(session.exec(select(Listing.id).where(*where)))
        ordered = [i for i in ids if i in valid]
        chunk = ordered[start : start + page_size]
        rows = {
            lst.id: lst for lst in session.exec(select(Listing).where(col(Listing.id).in_(chunk)))
        }
        return [rows[i] for i in chunk if i in rows], len(ordered)
    total = int(session.exec(select(func.count()).select_from(Listing).where(*where)).one())
    order: tuple[Any, ...] = {
        "newest": (col(Listing.published_at).desc(), col(Listing.id).desc()),
        "price_asc": (col(Listing.price_cents).asc(), col(Listing.id).desc()),
        "price_desc": (col(Listing.price_cents).desc(), col(Listing.id).desc()),
    }[sort]
    stmt = select(Listing).where(*where).order_by(*order).offset(start).limit(page_size)
    return list(session.exec(stmt)), total


def similar_listings(
    session: Session,
    listing: Listing,
    *,
    limit: int = 4,
    embedder_factory: EmbedderFactory | None = None,
) -> list[Listing]:
    """Published listings nearest to this one by meaning, same top category first."""
    if listing.id is None:
        return []
    version = active_version(session)
    if version is None or version.id is None:
        return []
    conn = session.connection()
    backend = backend_for(conn)
    vector = backend.get_vector(conn, version.id, listing.id)
    if vector is None:  # not indexed yet (a draft, or the worker is behind): embed it now
        try:
            embedder = (embedder_factory or _default_embedders())(version.embedder)
        except EmbedderError:
            return []
        vector = embed_query(embedder, doc_text(listing).embed_text)
    hits = backend.vector(
        conn,
        version.id,
        vector,
        filters=Filters(exclude_ids=(listing.id,)),
        limit=SIMILAR_POOL,
    )
    if not hits:
        return []
    rows = {
        lst.id: lst
        for lst in session.exec(
            select(Listing).where(
                col(Listing.id).in_([lid for lid, _ in hits]),
                col(Listing.status) == ListingStatus.published,
            )
        )
    }
    tax = taxonomy()
    top = tax.top_of(listing.category) if listing.category else None

    def rank(hit: tuple[int, float]) -> float:
        lst = rows[hit[0]]
        same = top is not None and lst.category is not None and tax.top_of(lst.category) == top
        return -(hit[1] + (0.05 if same else 0.0))

    ordered = sorted((h for h in hits if h[0] in rows), key=rank)
    return [rows[lid] for lid, _ in ordered[:limit]]


@dataclass
class SimilarBlock:
    """What the listing page's "Similar listings" block renders."""

    items: list[Listing]
    photos: dict[int, list[Photo]]


def similar_block(session: Session, listing: Listing, limit: int = 4) -> SimilarBlock | None:
    """Similar listings with their photos, or None (never raises: it is a page extra)."""
    from trova.marketplace.service import photos_of

    try:
        items = similar_listings(session, listing, limit=limit)
    except Exception:
        log.exception("similar listings failed for listing %s", listing.id)
        return None
    if not items:
        return None
    return SimilarBlock(items, photos_of(session, [i.id for i in items if i.id is not None]))
