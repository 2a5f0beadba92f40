"""The outbox: every listing insert/update/delete enqueues an index job in the same transaction.

Installed once on SQLAlchemy's Session class, so marketplace code needs no search calls:
- `after_flush` sees ORM inserts, updates and deletes of Listing (ids are assigned by then) and
  writes `search_jobs` rows on the flush's own connection, inside its transaction;
- `do_orm_execute` catches bulk `update(Listing)` / `delete(Listing)` statements, which bypass
  the unit of work, and enqueues a job for every row they are about to touch.
A rolled-back change rolls its jobs back with it; a committed one always has its job.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, insert, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from trova.db._time import utcnow
from trova.marketplace.models import Listing
from trova.search.models import IndexJob, JobStatus

_installed = False
_JOBS = IndexJob.__table__  # type: ignore[attr-defined]


def job_rows(listing_ids: dict[int, str]) -> list[dict[str, Any]]:
    now = utcnow()
    return [
        {
            "listing_id": lid,
            "op": op,
            "status": JobStatus.pending.value,
            "attempts": 0,
            "run_after": now,
            "created_at": now,
        }
        for lid, op in sorted(listing_ids.items())
    ]


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    changed: dict[int, str] = {}
    for obj in session.new:
        if isinstance(obj, Listing) and obj.id is not None:
            changed[obj.id] = "upsert"
    for obj in session.dirty:
        if isinstance(obj, Listing) and obj.id is not None and session.is_modified(obj):
            changed[obj.id] = "upsert"
    for obj in session.deleted:
        if isinstance(obj, Listing):
            ident = inspect(obj).identity
            if ident:
                changed[int(ident[0])] = "delete"
    if changed:
        session.connection().execute(insert(_JOBS), job_rows(changed))


def _do_orm_execute(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete):
        return
    if not any(m.class_ is Listing for m in state.all_mappers):
        return
    where = getattr(state.statement, "whereclause", None)
    stmt = select(Listing.id)  # type: ignore[call-overload]
    if where is not None:
        stmt = stmt.where(where)
    ids = [row[0] for row in state.session.connection().execute(stmt)]
    if ids:
        op = "delete" if state.is_delete else "upsert"
        state.session.connection().execute(insert(_JOBS), job_rows(dict.fromkeys(ids, op)))


def install() -> None:
    """Register the listeners (idempotent)."""
    global _installed
    if _installed:
        return
    event.listen(Session, "after_flush", _after_flush)
    event.listen(Session, "do_orm_execute", _do_orm_execute)
    _installed = True
