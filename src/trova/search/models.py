"""Tables of the search subsystem: the outbox of index jobs, index versions, indexed documents.

The per-version search structures (SQLite FTS5 + sqlite-vec tables, PostgreSQL tsvector +
pgvector tables) are created by the backends at run time, because their shape depends on the
embedder (dimensions) of each index version.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, ForeignKey, Index, Integer, PrimaryKeyConstraint
from sqlmodel import Field, SQLModel

from trova.db._time import utcnow


class JobStatus(StrEnum):
    pending = "pending"  # waiting (run_after says when; attempts > 0 means it is a retry)
    running = "running"  # claimed by a worker
    dead = "dead"  # failed max_attempts times; `trova index retry` puts it back


class VersionState(StrEnum):
    building = "building"  # being backfilled; the worker keeps it up to date too
    active = "active"  # what search reads
    retired = "retired"  # replaced; its tables are dropped


class IndexJob(SQLModel, table=True):
    """Outbox row: "listing N changed", written in the same transaction as the change."""

    __tablename__ = "search_jobs"
    __table_args__ = (Index("ix_search_jobs_status_run_after", "status", "run_after"),)

    id: int | None = Field(default=None, primary_key=True)
    listing_id: int = Field(index=True)  # no FK: the job outlives a deleted listing
    op: str = Field(default="upsert", max_length=10)  # "upsert" | "delete" (informational)
    status: str = Field(default=JobStatus.pending, max_length=12)
    attempts: int = 0
    run_after: datetime = Field(default_factory=utcnow)
    created_at: datetime = Field(default_factory=utcnow)
    claimed_at: datetime | None = None
    claimed_by: str | None = Field(default=None, max_length=40)
    error: str | None = Field(default=None, max_length=2000)


class IndexVersion(SQLModel, table=True):
    """One build of the index: embedder + dimensions + text recipe. Search reads the active one."""

    __tablename__ = "search_index_versions"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=200, index=True)  # "<embedder>|<dims>|<recipe>"
    embedder: str = Field(max_length=120)
    dims: int
    recipe: str = Field(max_length=40)
    backend: str = Field(max_length=20)
    state: str = Field(default=VersionState.building, max_length=12, index=True)
    doc_count: int = 0
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    activated_at: datetime | None = None


class SearchDoc(SQLModel, table=True):
    """What a version holds for a listing: the content hash makes re-indexing idempotent."""

    __tablename__ = "search_docs"
    __table_args__ = (PrimaryKeyConstraint("version_id", "listing_id", name="pk_search_docs"),)

    version_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey(
                "search_index_versions.id", name="fk_search_docs_version_id", ondelete="CASCADE"
            ),
            nullable=False,
        )
    )
    listing_id: int
    content_hash: str = Field(max_length=64)
    status: str = Field(max_length=12)
    indexed_at: datetime = Field(default_factory=utcnow)
