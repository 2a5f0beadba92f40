"""Processing the outbox: claim jobs, sync their listings, retry with backoff, dead-letter.

Claiming is safe with several workers: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`
hands each job to one worker without waiting; on SQLite the single writer lock makes the
claiming UPDATE atomic. A job left "running" by a crashed worker is reclaimed after a lease.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Table, delete, select, update
from sqlalchemy.engine import Connection, Engine

from trova.db._time import utcnow
from trova.search.index import EmbedderFactory, sync_listings
from trova.search.models import IndexJob, JobStatus

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_BACKOFF_S = 3600.0
JOBS: Table = IndexJob.__table__  # type: ignore[attr-defined]


def worker_id() -> str:
    return f"{socket.gethostname()[:20]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Claimed:
    job_id: int
    listing_id: int
    attempts: int


@dataclass
class ProcessResult:
    jobs: int = 0  # claimed this round
    listings: int = 0
    done: int = 0  # jobs acknowledged (deleted)
    retried: int = 0  # jobs put back with a delay
    dead: int = 0  # jobs moved to the dead-letter state


def reclaim_stale(conn: Connection) -> int:
    """Put jobs whose worker vanished (claimed longer than the lease ago) back in the queue."""
    result = conn.execute(
        update(JOBS)
        .where(JOBS.c.status == JobStatus.running, JOBS.c.claimed_at < utcnow() - LEASE)
        .values(status=JobStatus.pending, claimed_by=None)
    )
    return int(result.rowcount or 0)


def claim(engine: Engine, owner: str, limit: int) -> list[Claimed]:
    """Take up to `limit` due jobs for this worker."""
    now = utcnow()
    due = (
        select(JOBS.c.id)
        .where(JOBS.c.status == JobStatus.pending, JOBS.c.run_after <= now)
        .order_by(JOBS.c.id)
        .limit(int(limit))
    )
    with engine.begin() as conn:
        reclaim_stale(conn)
        if conn.dialect.name == "postgresql":
            ids = list(conn.execute(due.with_for_update(skip_locked=True)).scalars())
            if not ids:
                return []
            target = JOBS.c.id.in_(ids)
        else:  # SQLite: one writer at a time, so claiming by UPDATE … IN (SELECT …) is atomic
            target = JOBS.c.id.in_(due.scalar_subquery())
        conn.execute(
            update(JOBS)
            .where(target)
            .values(status=JobStatus.running, claimed_at=now, claimed_by=owner)
        )
        rows = conn.execute(
            select(JOBS.c.id, JOBS.c.listing_id, JOBS.c.attempts)
            .where(JOBS.c.status == JobStatus.running, JOBS.c.claimed_by == owner)
            .order_by(JOBS.c.id)
        )
        return [Claimed(int(i), int(lid), int(a)) for i, lid, a in rows]


def ack(engine: Engine, job_ids: list[int]) -> None:
    """Done: the listing is in step; the job row goes away."""
    if not job_ids:
        return
    with engine.begin() as conn:
        conn.execute(delete(JOBS).where(JOBS.c.id.in_(job_ids)))


def fail(
    engine: Engine, jobs: list[Claimed], error: str, *, max_attempts: int, backoff_s: float
) -> tuple[int, int]:
    """Record a failure: retry later (exponential backoff) or dead-letter. (retried, dead)."""
    now = utcnow()
    retried = dead = 0
    with engine.begin() as conn:
        for job in jobs:
            attempts = job.attempts + 1
            if attempts >= max_attempts:
                status, run_after = JobStatus.dead, now
                dead += 1
            else:
                delay = min(MAX_BACKOFF_S, backoff_s * 2 ** (attempts - 1))
                status, run_after = JobStatus.pending, now + timedelta(seconds=delay)
                retried += 1
            conn.execute(
                update(JOBS)
                .where(JOBS.c.id == job.job_id)
                .values(
                    status=status,
                    attempts=attempts,
                    run_after=run_after,
                    claimed_by=None,
                    error=error[:2000],
                )
            )
    return retried, dead


def retry_dead(engine: Engine, listing_id: int | None = None) -> int:
    """Put dead-lettered jobs back in the queue (after fixing what made them fail)."""
    stmt = (
        update(JOBS)
        .where(JOBS.c.status == JobStatus.dead)
        .values(status=JobStatus.pending, attempts=0, run_after=utcnow(), error=None)
    )
    if listing_id is not None:
        stmt = stmt.where(JOBS.c.listing_id == listing_id)
    with engine.begin() as conn:
        return int(conn.execute(stmt).rowcount or 0)


def process_jobs(
    engine: Engine,
    embedders: EmbedderFactory,
    *,
    owner: str,
    limit: int = 32,
    max_attempts: int = 6,
    backoff_s: float = 2.0,
) -> ProcessResult:
    """One round: claim due jobs, sync their listings, acknowledge or schedule retries."""
    claimed = claim(engine, owner, limit)
    result = ProcessResult(jobs=len(claimed))
    if not claimed:
        return result
    by_listing: dict[int, list[Claimed]] = defaultdict(list)
    for job in claimed:
        by_listing[job.listing_id].append(job)
    result.listings = len(by_listing)
    try:
        sync_listings(engine, by_listing, embedders)
    except Exception:  # isolate the listing that fails, so the others still go through
        log.warning("index batch failed; retrying its %d listings one by one", len(by_listing))
        for listing_id, jobs in by_listing.items():
            try:
                sync_listings(engine, [listing_id], embedders)
            except Exception as exc:
                log.exception("indexing listing %s failed", listing_id)
                retried, dead = fail(
                    engine,
                    jobs,
                    f"{type(exc).__name__}: {exc}",
                    max_attempts=max_attempts,
                    backoff_s=backoff_s,
                )
                result.retried += retried
                result.dead += dead
            else:
                ack(engine, [j.job_id for j in jobs])
                result.done += len(jobs)
        return result
    ack(engine, [j.job_id for j in claimed])
    result.done = len(claimed)
    return result
