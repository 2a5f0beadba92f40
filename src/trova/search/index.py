"""Index versions and keeping them in step with listings (used by the worker, rebuild, tests).

A version = embedder + dimensions + text recipe. Search reads the active version; a rebuild
(or a change of TROVA_SEARCH_EMBEDDER) fills a new "building" version side by side, which the
worker keeps up to date too, and switches to it when complete.

Syncing a listing is idempotent: it reads the listing's current state, skips it when the
stored content hash already matches, indexes it when it is published or sold, and removes it
otherwise (draft, deleted). Replaying any job changes nothing.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import delete, func
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col, select

from trova.ai.taxonomy import taxonomy
from trova.db._time import utcnow
from trova.marketplace.models import Listing, ListingStatus
from trova.search.backends import IndexedDoc, backend_for, backend_name
from trova.search.embedders import Embedder, Vectors
from trova.search.models import IndexVersion, SearchDoc, VersionState
from trova.search.text import RECIPE, content_hash, doc_text

log = logging.getLogger(__name__)

INDEXED_STATUSES = (ListingStatus.published.value, ListingStatus.sold.value)
EmbedderFactory = Callable[[str], Embedder]


def version_key(embedder: Embedder) -> str:
    return f"{embedder.name}|{embedder.dims}|{RECIPE}"


def indexed_doc(listing: Listing) -> IndexedDoc:
    assert listing.id is not None
    text_ = doc_text(listing)
    category = listing.category or "other"
    return IndexedDoc(
        listing_id=listing.id,
        title=text_.title,
        body=text_.body,
        status=str(listing.status.value if hasattr(listing.status, "value") else listing.status),
        category=category,
        top=taxonomy().top_of(category) if taxonomy().is_category(category) else category,
        condition=listing.condition or "",
        price_cents=int(listing.price_cents or 0),
        content_hash=content_hash(listing),
    )


# ---------------------------------------------------------------- versions


def active_version(session: Session) -> IndexVersion | None:
    stmt = select(IndexVersion).where(IndexVersion.state == VersionState.active)
    return session.exec(stmt.order_by(col(IndexVersion.id).desc())).first()


def live_versions(session: Session) -> list[IndexVersion]:
    """The versions writes must reach: the active one and any being built."""
    stmt = select(IndexVersion).where(
        col(IndexVersion.state).in_([VersionState.active, VersionState.building])
    )
    return list(session.exec(stmt.order_by(col(IndexVersion.id))))


def create_version(engine: Engine, embedder: Embedder) -> IndexVersion:
    """A new, empty building version with its backend tables."""
    with Session(engine, expire_on_commit=False) as session:
        version = IndexVersion(
            key=version_key(embedder),
            embedder=embedder.name,
            dims=embedder.dims,
            recipe=RECIPE,
            backend=backend_name(engine),
            state=VersionState.building,
        )
        session.add(version)
        session.flush()
        assert version.id is not None
        backend_for(engine).create_version(session.connection(), version.id, embedder.dims)
        session.commit()
        return version


def activate(engine: Engine, version_id: int) -> None:
    """Make a version the active one; retire (and drop) the versions it replaces."""
    backend = backend_for(engine)
    with Session(engine) as session:
        version = session.get(IndexVersion, version_id)
        if version is None:
            raise LookupError(f"index version {version_id} does not exist")
        now = utcnow()
        replaced = [
            v
            for v in session.exec(
                select(IndexVersion).where(
                    IndexVersion.state == VersionState.active, IndexVersion.id != version_id
                )
            )
        ]
        # Older builds for the same key are superseded too.
        replaced += [
            v
            for v in session.exec(
                select(IndexVersion).where(
                    IndexVersion.state == VersionState.building,
                    col(IndexVersion.id) < version_id,
                    IndexVersion.key == version.key,
                )
            )
        ]
        backend.finish_version(session.connection(), version_id)
        for old in replaced:
            assert old.id is not None
            old.state = VersionState.retired
            old.updated_at = now
            backend.drop_version(session.connection(), old.id)
            session.exec(delete(SearchDoc).where(col(SearchDoc.version_id) == old.id))
            session.add(old)
        version.state = VersionState.active
        version.activated_at = now
        version.updated_at = now
        version.doc_count = _doc_count(session, version_id)
        session.add(version)
        session.commit()


def _doc_count(session: Session, version_id: int) -> int:
    stmt = select(func.count()).select_from(SearchDoc).where(SearchDoc.version_id == version_id)
    return int(session.exec(stmt).one())


def drop_version(engine: Engine, version_id: int) -> None:
    """Retire a version and drop its tables (an abandoned build)."""
    with Session(engine) as session:
        version = session.get(IndexVersion, version_id)
        if version is None:
            return
        backend_for(engine).drop_version(session.connection(), version_id)
        session.exec(delete(SearchDoc).where(col(SearchDoc.version_id) == version_id))
        version.state = VersionState.retired
        version.updated_at = utcnow()
        session.add(version)
        session.commit()


# ---------------------------------------------------------------- syncing listings


@dataclass
class SyncResult:
    indexed: int = 0  # embedded and written
    unchanged: int = 0  # hash matched: nothing to do
    removed: int = 0  # not (or no longer) searchable
    superseded: int = 0  # changed while we embedded; the newer job indexes it


def _load_listings(conn_session: Session, ids: Iterable[int]) -> dict[int, Listing]:
    ids = list(ids)
    if not ids:
        return {}
    rows = conn_session.exec(select(Listing).where(col(Listing.id).in_(ids)))
    return {listing.id: listing for listing in rows if listing.id is not None}


def sync_listings(
    engine: Engine,
    listing_ids: Iterable[int],
    embedders: EmbedderFactory,
    *,
    versions: list[IndexVersion] | None = None,
    force: bool = False,
) -> SyncResult:
    """Bring these listings up to date in every live version (or the given ones)."""
    ids = sorted(set(listing_ids))
    result = SyncResult()
    if not ids:
        return result
    backend = backend_for(engine)
    # 1. read: current listings and what each version holds.
    with Session(engine, expire_on_commit=False) as session:
        targets = versions if versions is not None else live_versions(session)
        if not targets:
            return result
        listings = _load_listings(session, ids)
        version_ids = [v.id for v in targets if v.id is not None]
        held = {
            (d.version_id, d.listing_id): d.content_hash
            for d in session.exec(
                select(SearchDoc).where(
                    col(SearchDoc.version_id).in_(version_ids), col(SearchDoc.listing_id).in_(ids)
                )
            )
        }
    docs = {
        lid: indexed_doc(listing)
        for lid, listing in listings.items()
        if str(listing.status) in INDEXED_STATUSES
    }
    # 2. embed, outside any transaction, once per embedder.
    plan: dict[int, list[IndexedDoc]] = {}
    vectors: dict[tuple[str, int], Vectors] = {}
    for version in targets:
        assert version.id is not None
        todo = [
            d
            for d in docs.values()
            if force or held.get((version.id, d.listing_id)) != d.content_hash
        ]
        plan[version.id] = todo
        missing = [d for d in todo if (version.embedder, d.listing_id) not in vectors]
        if missing:
            embedder = embedders(version.embedder)
            rows = embedder.embed_documents(
                [d.title + ". " + d.body if d.body else d.title for d in missing]
            )
            for d, row in zip(missing, rows, strict=True):
                vectors[(version.embedder, d.listing_id)] = row
    # 3. write, re-checking each listing: one that changed meanwhile is left to its newer job.
    now = utcnow()
    written: set[int] = set()
    skipped: set[int] = set()
    removed: set[int] = set()
    with Session(engine) as session:
        conn = session.connection()
        current = {
            lid: (content_hash(lst) if str(lst.status) in INDEXED_STATUSES else None)
            for lid, lst in _load_listings(session, ids).items()
        }
        gone = [lid for lid in ids if current.get(lid) is None]
        for version in targets:
            assert version.id is not None
            fresh = [d for d in plan[version.id] if current.get(d.listing_id) == d.content_hash]
            skipped.update(d.listing_id for d in plan[version.id] if d not in fresh)
            if fresh:
                mat = np.stack([vectors[(version.embedder, d.listing_id)] for d in fresh])
                backend.upsert(conn, version.id, fresh, mat)
                _record_docs(conn, version.id, fresh, now)
                written.update(d.listing_id for d in fresh)
            if fresh or gone:  # readers' caches (vocabulary, vector matrix) follow this stamp
                table = IndexVersion.__table__  # type: ignore[attr-defined]
                conn.execute(table.update().where(table.c.id == version.id).values(updated_at=now))
            if gone:
                removed.update(lid for lid in gone if (version.id, lid) in held)
                backend.delete(conn, version.id, gone)
                session.exec(
                    delete(SearchDoc).where(
                        col(SearchDoc.version_id) == version.id,
                        col(SearchDoc.listing_id).in_(gone),
                    )
                )
        session.commit()
    result.indexed = len(written)
    result.superseded = len(skipped - written)
    result.removed = len(removed)
    result.unchanged = len(docs) - len(written | skipped)
    return result


def _record_docs(conn: Connection, version_id: int, docs: list[IndexedDoc], now: object) -> None:
    table = SearchDoc.__table__  # type: ignore[attr-defined]
    ids = [d.listing_id for d in docs]
    conn.execute(
        table.delete().where(table.c.version_id == version_id, table.c.listing_id.in_(ids))
    )
    conn.execute(
        table.insert(),
        [
            {
                "version_id": version_id,
                "listing_id": d.listing_id,
                "content_hash": d.content_hash,
                "status": d.status,
                "indexed_at": now,
            }
            for d in docs
        ],
    )


# ---------------------------------------------------------------- rebuild


@dataclass
class RebuildResult:
    version_id: int
    key: str
    docs: int
    seconds: float


def searchable_ids(engine: Engine) -> list[int]:
    with Session(engine) as session:
        stmt = (
            select(Listing.id)
            .where(col(Listing.status).in_(INDEXED_STATUSES))
            .order_by(col(Listing.id))
        )
        return [int(i) for i in session.exec(stmt) if i is not None]


def build_version(
    engine: Engine,
    version: IndexVersion,
    embedders: EmbedderFactory,
    *,
    chunk: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Backfill a building version with every searchable listing; returns docs written."""
    ids = searchable_ids(engine)
    done = 0
    if progress:
        progress(0, len(ids))
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        sync_listings(engine, part, embedders, versions=[version])
        done += len(part)
        with engine.begin() as conn:
            table = IndexVersion.__table__  # type: ignore[attr-defined]
            conn.execute(table.update().where(table.c.id == version.id).values(updated_at=utcnow()))
        if progress:
            progress(done, len(ids))
    return done


def rebuild(
    engine: Engine,
    embedders: EmbedderFactory,
    embedder_name: str,
    *,
    chunk: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> RebuildResult:
    """Build a fresh version for this embedder from every searchable listing and switch to it."""
    started = time.perf_counter()
    embedder = embedders(embedder_name)
    version = create_version(engine, embedder)
    assert version.id is not None
    try:
        docs = build_version(engine, version, embedders, chunk=chunk, progress=progress)
    except BaseException:
        drop_version(engine, version.id)
        raise
    activate(engine, version.id)
    return RebuildResult(version.id, version.key, docs, time.perf_counter() - started)
