"""An in-process copy of a SQLite index version's vectors, for exact kNN at scale.

sqlite-vec scans vectors row chunk by row chunk: fine for a few thousand listings, ~0.1-0.4 s
per query at 100k on a 2-core machine (bench/bench_search.py). Past a size threshold the
SQLite backend loads the version's vectors and filter columns once from its vec0 table (the
store of record) into numpy and answers kNN with one matrix-vector product (~5-10 ms at 100k
x 384). The copy follows the index incrementally: every index write bumps the version's
updated_at, and a query that sees a new stamp re-reads the docs indexed since the last
refresh. Removed listings linger in the copy (until the process restarts or the version
changes); search drops them when it checks hits against the listing table. The first load
(~10 s at 100k) happens in the index worker's warm-up, not in a buyer's request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from trova.search.backends.base import Filters
from trova.search.embedders import Vectors

REFRESH_OVERLAP = timedelta(seconds=60)  # re-read this much before the last refresh
_COLUMNS = ("status", "top", "category", "condition")


@dataclass
class Matrix:
    dims: int
    stamp: Any = None  # the version's updated_at when last refreshed
    since: datetime | None = None
    loaded: float = 0.0
    n: int = 0
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    vecs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    price: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    codes: dict[str, np.ndarray] = field(default_factory=dict)
    vocab: dict[str, dict[str, int]] = field(default_factory=dict)
    row_of: dict[int, int] = field(default_factory=dict)

    def _grow(self, need: int) -> None:
        cap = len(self.ids)
        if need <= cap:
            return
        new = max(need, cap * 2, 1024)
        self.ids = np.resize(self.ids, new)
        vecs = np.zeros((new, self.dims), dtype=np.float32)
        if self.n:
            vecs[: self.n] = self.vecs[: self.n]
        self.vecs = vecs
        self.price = np.resize(self.price, new)
        for name in _COLUMNS:
            self.codes[name] = np.resize(self.codes.get(name, np.zeros(0, np.int32)), new)

    def code(self, column: str, value: str) -> int:
        table = self.vocab.setdefault(column, {})
        return table.setdefault(value, len(table))

    def put(self, rows: list[tuple[Any, ...]]) -> None:
        """Insert or replace rows of (listing_id, embedding blob, status, top, category,
        condition, price_cents)."""
        self._grow(self.n + len(rows))
        for lid, blob, status, top, category, condition, price in rows:
            row = self.row_of.get(int(lid))
            if row is None:
                row = self.n
                self.n += 1
                self.row_of[int(lid)] = row
            self.ids[row] = int(lid)
            self.vecs[row] = np.frombuffer(blob, dtype=np.float32)
            self.price[row] = int(price or 0)
            for name, value in zip(_COLUMNS, (status, top, category, condition), strict=True):
                self.codes[name][row] = self.code(name, str(value or ""))

    def knn(self, query: Vectors, filters: Filters, limit: int) -> list[tuple[int, float]]:
        n = self.n
        if not n:
            return []
        mask = np.ones(n, dtype=bool)

        def allow(column: str, values: tuple[str, ...]) -> None:
            nonlocal mask
            table = self.vocab.get(column, {})
            wanted = [table[v] for v in values if v in table]
            mask &= np.isin(self.codes[column][:n], wanted)

        if filters.statuses:
            allow("status", filters.statuses)
        if filters.category:
            allow("top" if filters.is_top_category else "category", (filters.category,))
        if filters.conditions:
            allow("condition", filters.conditions)
        if filters.min_price_cents is not None:
            mask &= self.price[:n] >= filters.min_price_cents
        if filters.max_price_cents is not None:
            mask &= self.price[:n] <= filters.max_price_cents
        if filters.exclude_ids:
            mask &= ~np.isin(self.ids[:n], list(filters.exclude_ids))
        allowed = int(mask.sum())
        if not allowed:
            return []
        # One pass over the matrix in place (fancy-indexing the allowed rows would copy it).
        scores = self.vecs[:n] @ np.asarray(query, dtype=np.float32)
        scores[~mask] = -np.inf
        k = min(limit, allowed)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top]


_lock = threading.Lock()
_matrices: dict[tuple[str, int], Matrix] = {}
_choice: dict[tuple[str, int], tuple[float, bool]] = {}
_CHOICE_TTL_S = 300.0


def use_matrix(conn: Connection, version_id: int, count: Callable[[], int], min_docs: int) -> bool:
    """Whether this version is big enough for the in-process matrix (re-checked every 5 min)."""
    key = (str(conn.engine.url), int(version_id))
    now = time.monotonic()
    cached = _choice.get(key)
    if cached and now - cached[0] < _CHOICE_TTL_S:
        return cached[1]
    use = count() >= min_docs
    _choice[key] = (now, use)
    return use


def matrix_for(conn: Connection, vec_table: str, version_id: int, dims: int) -> Matrix:
    """The up-to-date in-process copy of this version's vectors."""
    key = (str(conn.engine.url), int(version_id))
    stamp = conn.execute(
        text("SELECT updated_at FROM search_index_versions WHERE id = :id"), {"id": version_id}
    ).scalar()
    with _lock:
        m = _matrices.get(key)
        if m is not None and m.stamp == stamp:
            return m
        full = m is None
        started = datetime.now().astimezone()
        if full:
            m = Matrix(dims=dims)
            rows = conn.execute(
                text(
                    "SELECT listing_id, embedding, status, top, category, condition, "
                    f"price_cents FROM {vec_table}"
                )
            ).all()
            m.put([tuple(r) for r in rows])
            m.loaded = time.monotonic()
        else:
            assert m is not None and m.since is not None
            changed = (
                conn.execute(
                    text(
                        "SELECT listing_id FROM search_docs WHERE version_id = :v "
                        "AND indexed_at >= :since"
                    ),
                    {"v": version_id, "since": _db_time(m.since - REFRESH_OVERLAP)},
                )
                .scalars()
                .all()
            )
            for start in range(0, len(changed), 500):
                part = list(changed[start : start + 500])
                rows = conn.execute(
                    text(
                        "SELECT listing_id, embedding, status, top, category, condition, "
                        f"price_cents FROM {vec_table} WHERE listing_id IN :ids"
                    ).bindparams(bindparam("ids", expanding=True)),
                    {"ids": part},
                ).all()
                m.put([tuple(r) for r in rows])
        m.stamp = stamp
        m.since = started
        _matrices[key] = m
        return m


def _db_time(when: datetime) -> str:
    """How SQLAlchemy stores UTC datetimes in SQLite (for raw comparisons)."""
    from datetime import UTC

    return when.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


def forget(version_id: int | None = None) -> None:
    """Drop cached matrices and size decisions (tests; a version being retired)."""
    with _lock:
        for cache in (_matrices, _choice):
            for key in list(cache):
                if version_id is None or key[1] == version_id:
                    del cache[key]
