"""Search as the app uses it: settings-driven embedders, keeping the index alive, its status."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from trova.config import Settings
from trova.db._time import utcnow
from trova.marketplace.models import Listing
from trova.search.embedders import embedder_for
from trova.search.index import (
    INDEXED_STATUSES,
    EmbedderFactory,
    RebuildResult,
    active_version,
    drop_version,
    live_versions,
    rebuild,
    version_key,
)
from trova.search.jobs import ProcessResult, process_jobs
from trova.search.models import IndexJob, IndexVersion, JobStatus, SearchDoc, VersionState

log = logging.getLogger(__name__)

ABANDONED_BUILD = timedelta(minutes=10)  # a build not touched for this long has died


def embedders(settings: Settings) -> EmbedderFactory:
    """Load embedders by name with this configuration (threads, API keys)."""

    def load(name: str) -> Any:
        return embedder_for(settings, name)

    return load


def ensure_index(engine: Engine, settings: Settings) -> RebuildResult | None:
    """Build the index when there is none, or a new version when the embedder changed.

    Leaves alone a build another process is running (touched in the last few minutes).
    """
    factory = embedders(settings)
    key = version_key(factory(settings.search_embedder))
    now = utcnow()
    with Session(engine) as session:
        active = active_version(session)
        building = [v for v in live_versions(session) if v.state == VersionState.building]
    for version in building:
        if version.updated_at < now - ABANDONED_BUILD and version.id is not None:
            log.warning("dropping abandoned index build %s (%s)", version.id, version.key)
            drop_version(engine, version.id)
        elif version.key == key:
            return None  # someone is building it right now
    if active is not None and active.key == key:
        return None
    log.info("building search index %s", key)
    result = rebuild(engine, factory, settings.search_embedder, chunk=settings.search_batch_size)
    log.info("search index %s ready: %d docs in %.1fs", key, result.docs, result.seconds)
    return result


def warm_up(engine: Engine, settings: Settings) -> None:
    """Load what the first search would otherwise wait for: the embedder, the typo
    vocabulary, and (large SQLite indexes) the in-memory vector copy."""
    from trova.search.backends import SearchUnavailable
    from trova.search.query import search

    with Session(engine) as session:
        try:
            search(session, "warm up", embedders(settings), limit=1)
            search(session, "warmup", embedders(settings), mode="keyword", limit=1)
        except SearchUnavailable:
            pass


def run_once(engine: Engine, settings: Settings, owner: str) -> ProcessResult:
    """One worker round: make sure an index exists, then process due jobs."""
    ensure_index(engine, settings)
    return process_jobs(
        engine,
        embedders(settings),
        owner=owner,
        limit=settings.search_batch_size,
        max_attempts=settings.search_max_attempts,
        backoff_s=settings.search_backoff_s,
    )


def index_status(engine: Engine, settings: Settings | None = None) -> dict[str, Any]:
    """Versions, queue depth and lag, failures and dead letters (CLI and console)."""
    now = utcnow()
    with Session(engine) as session:
        versions = list(
            session.exec(
                select(IndexVersion)
                .where(IndexVersion.state != VersionState.retired)
                .order_by(col(IndexVersion.id))
            )
        )
        docs = dict(
            session.exec(
                select(SearchDoc.version_id, func.count()).group_by(col(SearchDoc.version_id))
            ).all()
        )
        searchable = int(
            session.exec(
                select(func.count())
                .select_from(Listing)
                .where(col(Listing.status).in_(INDEXED_STATUSES))
            ).one()
        )
        counts = dict(
            session.exec(select(IndexJob.status, func.count()).group_by(col(IndexJob.status))).all()
        )
        retrying = int(
            session.exec(
                select(func.count())
                .select_from(IndexJob)
                .where(IndexJob.status == JobStatus.pending, col(IndexJob.attempts) > 0)
            ).one()
        )
        oldest = session.exec(
            select(func.min(IndexJob.created_at)).where(
                col(IndexJob.status).in_([JobStatus.pending, JobStatus.running])
            )
        ).one()
        dead = list(
            session.exec(
                select(IndexJob)
                .where(IndexJob.status == JobStatus.dead)
                .order_by(col(IndexJob.id).desc())
                .limit(10)
            )
        )
        active = active_version(session)
    if oldest is not None and oldest.tzinfo is None:
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    configured = settings.search_embedder if settings else None
    return {
        "backend": "postgres" if engine.dialect.name == "postgresql" else "sqlite",
        "active": _version_dict(active, docs) if active else None,
        "building": [_version_dict(v, docs) for v in versions if v.state == VersionState.building],
        "configured_embedder": configured,
        "needs_rebuild": bool(configured and (active is None or active.embedder != configured)),
        "searchable_listings": searchable,
        "jobs": {
            "pending": int(counts.get(JobStatus.pending, 0)),
            "retrying": retrying,
            "running": int(counts.get(JobStatus.running, 0)),
            "dead": int(counts.get(JobStatus.dead, 0)),
        },
        "lag_s": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "dead_letters": [
            {
                "job_id": j.id,
                "listing_id": j.listing_id,
                "attempts": j.attempts,
                "error": j.error,
            }
            for j in dead
        ],
    }


def _version_dict(version: IndexVersion, docs: dict[int, int]) -> dict[str, Any]:
    return {
        "id": version.id,
        "key": version.key,
        "embedder": version.embedder,
        "dims": version.dims,
        "recipe": version.recipe,
        "backend": version.backend,
        "state": version.state,
        "docs": int(docs.get(version.id or 0, 0)),
        "created_at": version.created_at.isoformat(),
        "activated_at": version.activated_at.isoformat() if version.activated_at else None,
    }
