"""SQLite: FTS5 (bm25, porter stemming, diacritics folded) + sqlite-vec (cosine kNN).

Needs a connection that loaded sqlite-vec: trova.db.engine.make_engine runs SQLite on
sqlean.py and loads it on connect.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from trova.search.backends._filters import attribute_filters
from trova.search.backends._matrix import matrix_for, use_matrix
from trova.search.backends.base import Filters, IndexedDoc, SearchUnavailable
from trova.search.embedders import Vectors

TITLE_WEIGHT = 4.0  # bm25 column weight of the title against the body
# Past this many documents, kNN runs on an in-process copy of the vectors (see _matrix.py):
# sqlite-vec's scan costs ~0.1-0.4 s per query at 100k listings on 2 cores.
MATRIX_MIN_DOCS = 20_000


def _use_matrix(conn: Connection, version_id: int) -> bool:
    def count() -> int:
        return int(
            conn.execute(
                text("SELECT count(*) FROM search_docs WHERE version_id = :v"), {"v": version_id}
            ).scalar_one()
        )

    return use_matrix(conn, version_id, count, MATRIX_MIN_DOCS)


def _fts(version_id: int) -> str:
    return f"search_fts_v{int(version_id)}"


def _vec(version_id: int) -> str:
    return f"search_vec_v{int(version_id)}"


def _match_expr(terms: list[tuple[str, bool]], match_all: bool) -> str:
    parts = ['"' + word.replace('"', "") + '"' + ("*" if prefix else "") for word, prefix in terms]
    return (" AND " if match_all else " OR ").join(parts)


class SqliteBackend:
    name: ClassVar[str] = "sqlite"

    def _run(self, conn: Connection, sql: str, params: dict[str, Any] | None = None) -> Any:
        try:
            return conn.execute(text(sql), params or {})
        except OperationalError as exc:
            if "no such module: vec0" in str(exc) or "no such function: vec_" in str(exc):
                raise SearchUnavailable(
                    "This SQLite connection has no sqlite-vec: create the engine with "
                    "trova.db.engine.make_engine (sqlean.py + sqlite-vec)."
                ) from exc
            raise

    def create_version(self, conn: Connection, version_id: int, dims: int) -> None:
        fts, vec = _fts(version_id), _vec(version_id)
        self._run(
            conn,
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts} USING fts5(title, body, "
            "tokenize = 'porter unicode61 remove_diacritics 2')",
        )
        self._run(
            conn,
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {fts}_vocab USING fts5vocab({fts}, 'row')",
        )
        self._run(
            conn,
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {vec} USING vec0("
            f"listing_id integer primary key, embedding float[{int(dims)}] "
            "distance_metric=cosine, status text, top text, category text, condition text, "
            "price_cents integer)",
        )

    def finish_version(self, conn: Connection, version_id: int) -> None:
        """Nothing to do: FTS5 and vec0 tables are complete as they are written."""

    def drop_version(self, conn: Connection, version_id: int) -> None:
        fts, vec = _fts(version_id), _vec(version_id)
        for table in (f"{fts}_vocab", fts, vec):
            self._run(conn, f"DROP TABLE IF EXISTS {table}")

    def upsert(
        self, conn: Connection, version_id: int, docs: list[IndexedDoc], vectors: Vectors
    ) -> None:
        if not docs:
            return
        ids = [d.listing_id for d in docs]
        self.delete(conn, version_id, ids)
        conn.execute(
            text(f"INSERT INTO {_fts(version_id)}(rowid, title, body) VALUES (:id, :t, :b)"),
            [{"id": d.listing_id, "t": d.title, "b": d.body} for d in docs],
        )
        rows = [
            {
                "id": d.listing_id,
                "e": np.asarray(v, dtype=np.float32).tobytes(),
                "s": d.status,
                "top": d.top,
                "c": d.category,
                "cond": d.condition,
                "p": d.price_cents,
            }
            for d, v in zip(docs, vectors, strict=True)
        ]
        try:
            conn.execute(
                text(
                    f"INSERT INTO {_vec(version_id)}(listing_id, embedding, status, top, "
                    "category, condition, price_cents) VALUES (:id, :e, :s, :top, :c, :cond, :p)"
                ),
                rows,
            )
        except OperationalError as exc:
            raise SearchUnavailable(f"sqlite-vec insert failed: {exc}") from exc

    def delete(self, conn: Connection, version_id: int, listing_ids: list[int]) -> None:
        if not listing_ids:
            return
        ids = [{"id": i} for i in listing_ids]
        conn.execute(text(f"DELETE FROM {_fts(version_id)} WHERE rowid = :id"), ids)
        try:
            conn.execute(text(f"DELETE FROM {_vec(version_id)} WHERE listing_id = :id"), ids)
        except OperationalError as exc:
            raise SearchUnavailable(f"sqlite-vec delete failed: {exc}") from exc

    def term_exists(self, conn: Connection, version_id: int, term: str, prefix: bool) -> bool:
        row = conn.execute(
            text(f"SELECT 1 FROM {_fts(version_id)} WHERE {_fts(version_id)} MATCH :q LIMIT 1"),
            {"q": _match_expr([(term, prefix)], True)},
        ).first()
        return row is not None

    def vocabulary(self, conn: Connection, version_id: int) -> dict[str, int]:
        rows = conn.execute(text(f"SELECT term, doc FROM {_fts(version_id)}_vocab"))
        return {str(term): int(doc) for term, doc in rows}

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
        fts = _fts(version_id)
        if not (
            filters.category
            or filters.conditions
            or filters.min_price_cents is not None
            or filters.max_price_cents is not None
        ):
            return self._keyword_unfiltered(conn, fts, terms, match_all, filters, limit)
        where, params = _listing_filters(filters)
        params.update({"q": _match_expr(terms, match_all), "limit": int(limit)})
        sql = (
            f"SELECT f.rowid, bm25({fts}, {TITLE_WEIGHT}, 1.0) AS score FROM {fts} f "
            f"JOIN listing l ON l.id = f.rowid WHERE {fts} MATCH :q"
            + "".join(f" AND {w}" for w in where)
            + " ORDER BY score LIMIT :limit"
        )
        stmt = text(sql)
        for name in ("statuses", "conditions", "exclude"):
            if name in params:
                stmt = stmt.bindparams(bindparam(name, expanding=True))
        return [(int(i), -float(s)) for i, s in conn.execute(stmt, params)]

    def _keyword_unfiltered(
        self,
        conn: Connection,
        fts: str,
        terms: list[tuple[str, bool]],
        match_all: bool,
        filters: Filters,
        limit: int,
    ) -> list[tuple[int, float]]:
        """Rank in FTS alone (no per-match join), then keep the wanted statuses: most listings
        are published, so over-fetching a little finds `limit` of them."""
        fetch = int(limit * 1.25) + 10 + len(filters.exclude_ids)
        ranked = conn.execute(
            text(
                f"SELECT rowid, bm25({fts}, {TITLE_WEIGHT}, 1.0) AS score FROM {fts} "
                f"WHERE {fts} MATCH :q ORDER BY score LIMIT :limit"
            ),
            {"q": _match_expr(terms, match_all), "limit": fetch},
        ).all()
        if not ranked:
            return []
        stmt = text(
            "SELECT id FROM listing WHERE id IN :ids"
            + (" AND status IN :statuses" if filters.statuses else "")
        ).bindparams(bindparam("ids", expanding=True))
        params: dict[str, Any] = {"ids": [int(i) for i, _ in ranked]}
        if filters.statuses:
            stmt = stmt.bindparams(bindparam("statuses", expanding=True))
            params["statuses"] = list(filters.statuses)
        keep = set(conn.execute(stmt, params).scalars()) - set(filters.exclude_ids)
        return [(int(i), -float(sc)) for i, sc in ranked if int(i) in keep][:limit]

    def vector(
        self, conn: Connection, version_id: int, query: Vectors, *, filters: Filters, limit: int
    ) -> list[tuple[int, float]]:
        if _use_matrix(conn, version_id):
            dims = int(np.asarray(query).shape[-1])
            return matrix_for(conn, _vec(version_id), version_id, dims).knn(query, filters, limit)
        where = ["embedding MATCH :q", "k = :k"]
        params: dict[str, Any] = {
            "q": np.asarray(query, dtype=np.float32).tobytes(),
            "k": int(limit) + len(filters.exclude_ids),
        }
        clauses, more = attribute_filters(filters, any_of=lambda c, p: f"{c} IN :{p}")
        where += clauses
        params.update(more)
        stmt = text(
            f"SELECT listing_id, distance FROM {_vec(version_id)} WHERE "
            + " AND ".join(where)
            + " ORDER BY distance"
        )
        for name in ("statuses", "conditions"):
            if name in params:
                stmt = stmt.bindparams(bindparam(name, expanding=True))
        try:
            rows = conn.execute(stmt, params).all()
        except OperationalError as exc:
            raise SearchUnavailable(f"sqlite-vec query failed: {exc}") from exc
        excluded = set(filters.exclude_ids)
        hits = [(int(i), 1.0 - float(d)) for i, d in rows if int(i) not in excluded]
        return hits[:limit]

    def get_vector(self, conn: Connection, version_id: int, listing_id: int) -> Vectors | None:
        try:
            row = conn.execute(
                text(f"SELECT embedding FROM {_vec(version_id)} WHERE listing_id = :id"),
                {"id": listing_id},
            ).first()
        except OperationalError as exc:
            raise SearchUnavailable(f"sqlite-vec read failed: {exc}") from exc
        return None if row is None else np.frombuffer(row[0], dtype=np.float32).copy()

    def count(self, conn: Connection, version_id: int) -> int:
        return int(conn.execute(text(f"SELECT count(*) FROM {_fts(version_id)}")).scalar_one())


def _listing_filters(filters: Filters) -> tuple[list[str], dict[str, Any]]:
    """WHERE clauses on the listing table (alias l): the source of truth for filters."""
    where: list[str] = []
    params: dict[str, Any] = {}
    if filters.statuses:
        where.append("l.status IN :statuses")
        params["statuses"] = list(filters.statuses)
    if filters.category:
        if filters.is_top_category:
            where.append("(l.category = :cat OR l.category LIKE :catp)")
            params["catp"] = filters.category + "/%"
        else:
            where.append("l.category = :cat")
        params["cat"] = filters.category
    if filters.conditions:
        where.append("l.condition IN :conditions")
        params["conditions"] = list(filters.conditions)
    if filters.min_price_cents is not None:
        where.append("l.price_cents >= :pmin")
        params["pmin"] = filters.min_price_cents
    if filters.max_price_cents is not None:
        where.append("l.price_cents <= :pmax")
        params["pmax"] = filters.max_price_cents
    if filters.exclude_ids:
        where.append("l.id NOT IN :exclude")
        params["exclude"] = list(filters.exclude_ids)
    return where, params
