"""The backend protocol and the values it trades in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from sqlalchemy.engine import Connection

from trova.search.embedders import Vectors


class SearchUnavailable(RuntimeError):
    """The index cannot answer (no active version, missing extension…); callers fall back."""


@dataclass(frozen=True)
class Filters:
    """Structured filters every search mode honours."""

    category: str | None = None  # a top-level id ("bicycles") or a sub-category id
    min_price_cents: int | None = None
    max_price_cents: int | None = None
    conditions: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ("published",)
    exclude_ids: tuple[int, ...] = ()

    @property
    def is_top_category(self) -> bool:
        return bool(self.category) and "/" not in (self.category or "")


@dataclass(frozen=True)
class IndexedDoc:
    """One listing as the index stores it."""

    listing_id: int
    title: str
    body: str
    status: str
    category: str
    top: str
    condition: str
    price_cents: int
    content_hash: str


class SearchBackend(Protocol):
    name: ClassVar[str]

    def create_version(self, conn: Connection, version_id: int, dims: int) -> None:
        """Create the version's tables and indexes (idempotent)."""

    def finish_version(self, conn: Connection, version_id: int) -> None:
        """Build what is cheaper to build after the backfill (PostgreSQL's HNSW graph)."""

    def drop_version(self, conn: Connection, version_id: int) -> None: ...

    def upsert(
        self, conn: Connection, version_id: int, docs: list[IndexedDoc], vectors: Vectors
    ) -> None: ...

    def delete(self, conn: Connection, version_id: int, listing_ids: list[int]) -> None: ...

    def term_exists(self, conn: Connection, version_id: int, term: str, prefix: bool) -> bool:
        """Whether any document holds the word (after the index's own stemming)."""

    def vocabulary(self, conn: Connection, version_id: int) -> dict[str, int]:
        """Every indexed term with its document frequency."""

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
        """(listing_id, score) best first; terms are (word, is_prefix)."""

    def vector(
        self, conn: Connection, version_id: int, query: Vectors, *, filters: Filters, limit: int
    ) -> list[tuple[int, float]]:
        """(listing_id, cosine similarity) nearest first."""

    def get_vector(self, conn: Connection, version_id: int, listing_id: int) -> Vectors | None: ...

    def count(self, conn: Connection, version_id: int) -> int: ...
