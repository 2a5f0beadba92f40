"""Hybrid search: full text (bm25 / ts_rank) + vector kNN, fused by reciprocal rank fusion.

Keyword side: query words (stopwords dropped); a word the index does not know is tried as a
prefix ("guit" -> guitar) and then corrected against the index vocabulary within one or two
edits ("guitr" -> guitar). All words must match; when that finds few listings, any word may.
Vector side: the query embedded by the active version's embedder, nearest listings by cosine.
Fusion: score = sum over lists of 1 / (k + rank), k = 60 (Cormack et al., 2009).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import or_
from sqlmodel import Session, col, select

from trova.marketplace.models import Listing
from trova.search.backends import Filters, SearchBackend, SearchUnavailable, backend_for
from trova.search.embedders import Embedder, EmbedderError, Vectors
from trova.search.index import active_version
from trova.search.models import IndexVersion
from trova.search.text import Vocabulary, max_edits, query_terms

Mode = Literal["keyword", "vector", "hybrid"]
MODES: tuple[Mode, ...] = ("keyword", "vector", "hybrid")
RRF_K = 60
MIN_ALL_TERMS = 5  # fewer "all words" matches than this: also take "any word" matches
VOCAB_TTL_S = 300.0
COMMON_TERM_DOCS = 500  # a word in more listings than this may be left out of OR fallbacks
VECTOR_POOL = 100  # nearest neighbours fused at most (kNN cost grows with it)


@dataclass(frozen=True)
class Hit:
    listing_id: int
    score: float  # fused RRF score (or the single list's)
    keyword_rank: int | None = None  # 1-based
    vector_rank: int | None = None
    similarity: float | None = None  # cosine, vector side


@dataclass
class SearchResult:
    query: str
    mode: Mode
    hits: list[Hit]
    version: str | None = None  # the index version key searched
    corrections: dict[str, str] = field(default_factory=dict)  # typo -> indexed term
    warning: str | None = None  # e.g. vector side unavailable, keyword only
    took_ms: float = 0.0

    @property
    def ids(self) -> list[int]:
        return [h.listing_id for h in self.hits]


def as_mode(name: str) -> Mode:
    """Validate a mode name."""
    for mode in MODES:
        if mode == name:
            return mode
    raise ValueError(f"unknown search mode {name!r}: use keyword, vector or hybrid")


def rrf(
    lists: list[list[int]], k: int = RRF_K, weights: list[float] | None = None
) -> dict[int, float]:
    """(Weighted) reciprocal rank fusion of ranked id lists."""
    scores: dict[int, float] = {}
    for n, ranked in enumerate(lists):
        weight = weights[n] if weights else 1.0
        for rank, lid in enumerate(ranked, start=1):
            scores[lid] = scores.get(lid, 0.0) + weight / (k + rank)
    return scores


# ---------------------------------------------------------------- caches

_vocab_lock = threading.Lock()
_vocabularies: dict[tuple[str, int], tuple[float, Vocabulary]] = {}
_query_vectors: OrderedDict[tuple[str, str], Vectors] = OrderedDict()
_QUERY_CACHE_SIZE = 512


def _vocabulary(session: Session, backend: SearchBackend, version: IndexVersion) -> Vocabulary:
    """The version's vocabulary (for typo correction), re-read every VOCAB_TTL_S: a word new
    to the index is matched exactly at once, and corrected towards after that."""
    assert version.id is not None
    conn = session.connection()
    key = (str(conn.engine.url), version.id)
    now = time.monotonic()
    with _vocab_lock:
        cached = _vocabularies.get(key)
        if cached and now - cached[0] < VOCAB_TTL_S:
            return cached[1]
    vocab = Vocabulary(backend.vocabulary(conn, version.id))
    with _vocab_lock:
        _vocabularies[key] = (now, vocab)
    return vocab


def clear_caches() -> None:
    """Forget cached query vectors and vocabularies (tests, evals timing cold queries)."""
    _query_vectors.clear()
    with _vocab_lock:
        _vocabularies.clear()
    from trova.search.backends._matrix import forget

    forget()


def embed_query(embedder: Embedder, query: str) -> Vectors:
    key = (embedder.name, query)
    if key in _query_vectors:
        _query_vectors.move_to_end(key)
        return _query_vectors[key]
    vec = embedder.embed_query(query)
    _query_vectors[key] = vec
    while len(_query_vectors) > _QUERY_CACHE_SIZE:
        _query_vectors.popitem(last=False)
    return vec


# ---------------------------------------------------------------- the two sides


def resolve_terms(
    session: Session, backend: SearchBackend, version: IndexVersion, query: str
) -> tuple[list[tuple[str, bool]], dict[str, str]]:
    """(term, is_prefix) pairs the index knows, and the typo corrections made."""
    assert version.id is not None
    conn = session.connection()
    resolved: list[tuple[str, bool]] = []
    corrections: dict[str, str] = {}
    for word in query_terms(query):
        if backend.term_exists(conn, version.id, word, False):
            resolved.append((word, False))
        elif (
            len(word) >= 3
            and not max_edits(word)
            and backend.term_exists(conn, version.id, word, True)
        ):
            resolved.append((word, True))
        elif max_edits(word) and (fixed := _vocabulary(session, backend, version).correct(word)):
            resolved.append((fixed, False))
            corrections[word] = fixed
        elif len(word) >= 4 and backend.term_exists(conn, version.id, word, True):
            resolved.append((word, True))
    return resolved, corrections


def keyword_ids(
    session: Session,
    backend: SearchBackend,
    version: IndexVersion,
    terms: list[tuple[str, bool]],
    filters: Filters,
    limit: int,
) -> list[tuple[int, float]]:
    assert version.id is not None
    conn = session.connection()
    hits = backend.keyword(conn, version.id, terms, match_all=True, filters=filters, limit=limit)
    if len(hits) < MIN_ALL_TERMS and len(terms) > 1:
        # "Any word" matches, leaving out words so common in a big catalogue ("white") that
        # ranking their matches costs more than it tells; the vector side covers them.
        vocab = _vocabulary(session, backend, version)
        cap = max(COMMON_TERM_DOCS, 0.05 * max(vocab.terms.values(), default=0))
        rare = [t for t in terms if vocab.terms.get(t[0], 0) <= cap]
        if len(rare) > 0:
            seen = {lid for lid, _ in hits}
            more = backend.keyword(
                conn, version.id, rare, match_all=False, filters=filters, limit=limit
            )
            hits += [(lid, s) for lid, s in more if lid not in seen]
    return hits[:limit]


# ---------------------------------------------------------------- search

EmbedderLoader = Callable[[str], Embedder]


def search(
    session: Session,
    query: str,
    embedders: EmbedderLoader,
    *,
    mode: Mode = "hybrid",
    filters: Filters | None = None,
    limit: int = 20,
    candidates: int = 100,
    rrf_k: int = RRF_K,
    vector_floor: bool = False,
    keyword_weight: float = 1.0,
    verify: bool = True,
) -> SearchResult:
    """Listings matching `query`, best first, from the active index version.

    vector_floor: keep only vector hits similar enough to count as matches on their own
    (the embedder's calibrated min_similarity); browse uses it so "total" means something.
    verify: drop hits whose listing no longer passes the filters (the index may lag by a
    worker round); callers that filter against the listing table themselves skip it.
    Raises SearchUnavailable when there is no active index version.
    """
    started = time.perf_counter()
    filters = filters or Filters()
    version = active_version(session)
    if version is None or version.id is None:
        raise SearchUnavailable("The search index is not built yet: run `trova index rebuild`.")
    backend = backend_for(session.connection())
    result = SearchResult(query=query, mode=mode, hits=[], version=version.key)
    pool = max(candidates, limit)

    kw: list[tuple[int, float]] = []
    if mode in ("keyword", "hybrid"):
        terms, result.corrections = resolve_terms(session, backend, version, query)
        kw = keyword_ids(session, backend, version, terms, filters, pool)

    vec: list[tuple[int, float]] = []
    if mode in ("vector", "hybrid") and query.strip():
        try:
            embedder = embedders(version.embedder)
            qvec = embed_query(embedder, query.strip())
        except EmbedderError as exc:
            if mode == "vector":
                raise SearchUnavailable(str(exc)) from exc
            result.warning = f"Vector search unavailable ({exc}); showing keyword matches."
        else:
            conn = session.connection()
            vec = backend.vector(
                conn, version.id, qvec, filters=filters, limit=min(pool, VECTOR_POOL)
            )
            if vector_floor:
                vec = _floored(vec, embedder)

    kw_rank = {lid: r for r, (lid, _) in enumerate(kw, start=1)}
    vec_rank = {lid: r for r, (lid, _) in enumerate(vec, start=1)}
    sims = dict(vec)
    if mode == "keyword":
        scores = {lid: s for lid, s in kw}
    elif mode == "vector":
        scores = dict(vec)
    else:
        scores = rrf(
            [[lid for lid, _ in kw], [lid for lid, _ in vec]], rrf_k, [keyword_weight, 1.0]
        )
    valid = _still_matching(session, list(scores), filters) if verify else list(scores)
    ordered = sorted(valid, key=lambda lid: (-scores[lid], lid))[:limit]
    result.hits = [
        Hit(lid, scores[lid], kw_rank.get(lid), vec_rank.get(lid), sims.get(lid)) for lid in ordered
    ]
    result.took_ms = (time.perf_counter() - started) * 1000
    return result


def _still_matching(session: Session, ids: list[int], filters: Filters) -> set[int]:
    """The ids whose listing (the source of truth) still exists and passes the filters: the
    index may lag a change by a worker round."""
    if not ids:
        return set()
    where: list[Any] = [col(Listing.id).in_(ids)]
    if filters.statuses:
        where.append(col(Listing.status).in_(filters.statuses))
    if filters.category:
        where.append(
            or_(
                col(Listing.category) == filters.category,
                col(Listing.category).startswith(filters.category + "/"),
            )
            if filters.is_top_category
            else col(Listing.category) == filters.category
        )
    if filters.conditions:
        where.append(col(Listing.condition).in_(filters.conditions))
    if filters.min_price_cents is not None:
        where.append(col(Listing.price_cents) >= filters.min_price_cents)
    if filters.max_price_cents is not None:
        where.append(col(Listing.price_cents) <= filters.max_price_cents)
    if filters.exclude_ids:
        where.append(col(Listing.id).not_in(filters.exclude_ids))
    return {int(i) for i in session.exec(select(Listing.id).where(*where)) if i is not None}


def _floored(hits: list[tuple[int, float]], embedder: Embedder) -> list[tuple[int, float]]:
    """Vector hits similar enough to count as matches on their own."""
    if not hits:
        return []
    cut = max(embedder.min_similarity, hits[0][1] - embedder.similarity_margin)
    return [(lid, s) for lid, s in hits if s >= cut]
