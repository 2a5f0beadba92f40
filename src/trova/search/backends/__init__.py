"""Search backends: the same operations on SQLite (FTS5 + sqlite-vec) and PostgreSQL
(tsvector + pgvector HNSW), chosen by the database the app runs on."""

from __future__ import annotations

from sqlalchemy.engine import Connection, Engine

from trova.search.backends.base import Filters, IndexedDoc, SearchBackend, SearchUnavailable

BACKENDS = ("sqlite", "postgres")

__all__ = [
    "BACKENDS",
    "Filters",
    "IndexedDoc",
    "SearchBackend",
    "SearchUnavailable",
    "backend_for",
    "backend_name",
]


def backend_name(bind: Connection | Engine) -> str:
    return "postgres" if bind.dialect.name == "postgresql" else "sqlite"


def backend_for(bind: Connection | Engine) -> SearchBackend:
    """The backend for the database behind `bind`."""
    if backend_name(bind) == "postgres":
        from trova.search.backends.postgres import PostgresBackend

        return PostgresBackend()
    from trova.search.backends.sqlite import SqliteBackend

    return SqliteBackend()
