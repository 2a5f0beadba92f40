"""PostgreSQL: weighted tsvector (english, diacritics folded) + pgvector HNSW (cosine).

One table per index version holds the filter columns, the tsvector and the embedding, so a
filtered kNN is a single indexed query (pgvector >= 0.8 iterative scans keep filtered HNSW
results complete).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from trova.search.backends._filters import attribute_filters
from trova.search.backends.base import Filters, IndexedDoc, SearchUnavailable
from trova.search.embedders import Vectors
from trova.search.text import fold

TS_CONFIG = "english"
EF_SEARCH = 100
MAX_RANKED = 2000  # keyword matches ranked per query, at most


def _idx(version_id: int) -> str:
    return f"search_idx_v{int(version_id)}"


def vector_literal(vec: Vectors) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in np.asarray(vec, dtype=np.float32).tolist()) + "]"


def _tsquery(terms: list[tuple[str, bool]], match_all: bool) -> str:
    # Words are \w+ tokens (trova.search.text.query_terms), so no tsquery operators sneak in.
    parts = [word + (":*" if prefix else "") for word, prefix in terms]
    return (" & " if match_all else " | ").join(parts)


class PostgresBackend:
    name: ClassVar[str] = "postgres"

    def create_version(self, conn: Connection, version_id: int, dims: int) -> None:
        table = _idx(version_id)
        try:
            with conn.begin_nested():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
        except DBAPIError as exc:
            raise SearchUnavailable(
                "PostgreSQL has no pgvector: install it on the server (CREATE EXTENSION vector "
                "needs it) or use SQLite."
            ) from exc
        conn.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {table} ("
                "listing_id integer PRIMARY KEY, status varchar(12) NOT NULL, "
                "top varchar(80) NOT NULL, category varchar(80) NOT NULL, "
                "condition varchar(20) NOT NULL, price_cents bigint NOT NULL, "
                f"tsv tsvector NOT NULL, embedding vector({int(dims)}) NOT NULL)"
            )
        )
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {table}_tsv ON {table} USING gin (tsv)"))
        # Selective filters (a category) let the planner scan just those rows exactly instead
        # of walking the HNSW graph past everything else.
        for column in ("top", "category"):
            conn.execute(
                text(f"CREATE INDEX IF NOT EXISTS {table}_{column} ON {table} ({column}, status)")
            )

    def finish_version(self, conn: Connection, version_id: int) -> None:
        """The HNSW graph, built once the backfill is in (much faster than row by row)."""
        table = _idx(version_id)
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        conn.execute(
            text(
                f"CREATE INDEX IF NOT EXISTS {table}_hnsw ON {table} "
                "USING hnsw (embedding vector_cosine_ops)"
            )
        )

    def drop_version(self, conn: Connection, version_id: int) -> None:
        conn.execute(text(f"DROP TABLE IF EXISTS {_idx(version_id)}"))

    def upsert(
        self, conn: Connection, version_id: int, docs: list[IndexedDoc], vectors: Vectors
    ) -> None:
        if not docs:
            return
        rows = [
            {
                "id": d.listing_id,
                "s": d.status,
                "top": d.top,
                "c": d.category,
                "cond": d.condition,
                "p": d.price_cents,
                "t": fold(d.title),
                "b": fold(d.body),
                "e": vector_literal(v),
            }
            for d, v in zip(docs, vectors, strict=True)
        ]
        conn.execute(
            text(
                f"INSERT INTO {_idx(version_id)} AS x (listing_id, status, top, category, "
                "condition, price_cents, tsv, embedding) VALUES (:id, :s, :top, :c, :cond, :p, "
                f"setweight(to_tsvector('{TS_CONFIG}', :t), 'A') || "
                f"setweight(to_tsvector('{TS_CONFIG}', :b), 'B'), CAST(:e AS vector)) "
                "ON CONFLICT (listing_id) DO UPDATE SET status = excluded.status, "
                "top = excluded.top, category = excluded.category, "
                "condition = excluded.condition, price_cents = excluded.price_cents, "
                "tsv = excluded.tsv, embedding = excluded.embedding"
            ),
            rows,
        )

    def delete(self, conn: Connection, version_id: int, listing_ids: list[int]) -> None:
        if listing_ids:
            conn.execute(
                text(f"DELETE FROM {_idx(version_id)} WHERE listing_id = ANY(:ids)"),
                {"ids": list(listing_ids)},
            )

    def term_exists(self, conn: Connection, version_id: int, term: str, prefix: bool) -> bool:
        row = conn.execute(
            text(
                f"SELECT 1 FROM {_idx(version_id)} "
                f"WHERE tsv @@ to_tsquery('{TS_CONFIG}', :q) LIMIT 1"
            ),
            {"q": _tsquery([(term, prefix)], True)},
        ).first()
        return row is not None

    def vocabulary(self, conn: Connection, version_id: int) -> dict[str, int]:
        rows = conn.execute(
            text(f"SELECT word, ndoc FROM ts_stat('SELECT tsv FROM {_idx(version_id)}')")
        )
        return {str(word): int(ndoc) for word, ndoc in rows}

    def keyword(
        self,
        conn: Connection,
        version_id: int,
        terms: list[tuple[str, bool]],
        *,
        match_all: bool,
        filters: Filters,
        limit: int,
    ) -> list[tuple[int, float]]:
        if not terms:
            return []
        where, params = _filters(filters)
        params["q"] = _tsquery(terms, match_all)
        # Rank at most MAX_RANKED matches: a common word ("white") matches a tenth of a big
        # catalogue, and ranking every match costs ~0.3 s at 100k listings; the vector side
        # carries such queries anyway.
        sql = (
            f"WITH q AS (SELECT to_tsquery('{TS_CONFIG}', :q) AS q), "
            f"m AS (SELECT listing_id, tsv FROM {_idx(version_id)}, q WHERE tsv @@ q.q"
            + "".join(f" AND {w}" for w in where)
            + f" LIMIT {MAX_RANKED}) "
            "SELECT m.listing_id, ts_rank(m.tsv, q.q, 1) AS score FROM m, q "
            f"ORDER BY score DESC, m.listing_id LIMIT {int(limit)}"
        )
        return [(int(i), float(s)) for i, s in conn.execute(text(sql), params)]

    def vector(
        self, conn: Connection, version_id: int, query: Vectors, *, filters: Filters, limit: int
    ) -> list[tuple[int, float]]:
        selective = bool(
            filters.category
            or filters.conditions
            or filters.min_price_cents is not None
            or filters.max_price_cents is not None
        )
        if selective:
            # A category or price band: the planner scans those rows through the btree
            # indexes and sorts them exactly (a few ms), or walks HNSW with iterative scans.
            where, params = _filters(filters)
            fetch = int(limit)
        else:
            # Status alone passes most rows; filtering it in SQL leads the planner away from
            # the HNSW index (a full scan + sort, ~40 ms at 50k), so over-fetch from the
            # index and filter here.
            where, params = [], {}
            fetch = int(limit * 1.3) + 10 + len(filters.exclude_ids)
        params["q"] = vector_literal(query)
        conn.execute(
            text(
                "SELECT set_config('hnsw.ef_search', :ef, true), "
                "set_config('hnsw.iterative_scan', 'relaxed_order', true), "
                "set_config('enable_indexscan', :graph, true)"
            ),
            # A category holds a few thousand rows at most: an exact bitmap scan + sort of
            # them beats walking the HNSW graph past every other category (0.2 s at 100k).
            {"ef": str(max(EF_SEARCH, fetch)), "graph": "off" if filters.category else "on"},
        )
        # LIMIT is inlined, not bound, so every plan knows how many rows are wanted.
        sql = (
            "SELECT listing_id, status, embedding <=> CAST(:q AS vector) AS distance "
            f"FROM {_idx(version_id)}"
            + (" WHERE " + " AND ".join(where) if where else "")
            + f" ORDER BY distance LIMIT {fetch}"
        )
        rows = conn.execute(text(sql), params).all()
        excluded = set(filters.exclude_ids)
        statuses = set(filters.statuses)
        hits = [
            (int(i), 1.0 - float(d))
            for i, status, d in rows
            if int(i) not in excluded and (not statuses or status in statuses)
        ]
        return sorted(hits, key=lambda h: -h[1])[:limit]

    def get_vector(self, conn: Connection, version_id: int, listing_id: int) -> Vectors | None:
        row = conn.execute(
            text(f"SELECT embedding::text FROM {_idx(version_id)} WHERE listing_id = :id"),
            {"id": listing_id},
        ).first()
        if row is None:
            return None
        return np.asarray([float(x) for x in row[0].strip("[]").split(",")], dtype=np.float32)

    def count(self, conn: Connection, version_id: int) -> int:
        return int(conn.execute(text(f"SELECT count(*) FROM {_idx(version_id)}")).scalar_one())


def _filters(filters: Filters) -> tuple[list[str], dict[str, Any]]:
    where, params = attribute_filters(filters, any_of=lambda c, p: f"{c} = ANY(:{p})")
    if filters.exclude_ids:
        where.append("NOT (listing_id = ANY(:exclude))")
        params["exclude"] = list(filters.exclude_ids)
    return where, params
