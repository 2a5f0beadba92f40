"""Hourly rollups of ai_calls (+ what sellers published, + thumbs) so dashboards stay fast.

`refresh()` is incremental and idempotent: it recomputes whole hours (DELETE + INSERT … SELECT,
one hour per statement, no dialect-specific date functions), namely
- the hours from the last refresh (minus a grace period for calls saved late) up to now;
- the hours of calls whose listing was published, or that got thumbs, since the last refresh.
Readers combine rollup rows before the watermark's hour with a live query after it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

from trova.db._time import utcnow
from trova.marketplace.models import Listing
from trova.ops import _sql
from trova.ops.diff import (
    CHANGED_STATES,
    SUGGESTED_STATES,
    draft_values,
    listing_values,
    state_of,
)
from trova.ops.feedback import ThumbsSource, thumbs_source
from trova.ops.models import FIELDS, CallOutcome, OpsState, rollup_hourly

# A prefill row is inserted when the call ends, with created_at = when it started: retries and
# fallbacks can make that a couple of minutes late. Hours this close to the watermark are redone.
GRACE = timedelta(minutes=15)
OUTCOME_BATCH = 2000
_listings = Listing.__table__  # type: ignore[attr-defined]
_states = OpsState.__table__  # type: ignore[attr-defined]


@dataclass
class RefreshResult:
    hours: int
    outcomes: int
    rolled_until: datetime


def get_mark(conn: Connection, key: str) -> datetime | None:
    value = conn.execute(select(_states.c.at).where(_states.c.key == key)).scalar()
    if value is not None and value.tzinfo is None:  # SQLite hands back naive UTC
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value


def set_mark(conn: Connection, key: str, at: datetime) -> None:
    if conn.execute(select(_states.c.key).where(_states.c.key == key)).first():
        conn.execute(_states.update().where(_states.c.key == key).values(at=at))
    else:
        conn.execute(_states.insert().values(key=key, at=at))


def lock(conn: Connection) -> None:
    """Serialize refreshers (app workers, a dashboard catching up, the CLI) on PostgreSQL.

    SQLite serializes writers already; on PostgreSQL two refreshes redoing the same hour would
    collide on the primary key. The lock ends with the transaction.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(7316001)"))


def recompute_hour(conn: Connection, hour: datetime, thumbs: ThumbsSource | None) -> None:
    """Replace the rollup rows of one hour with a fresh aggregate of ai_calls."""
    key = ("insert", id(thumbs) if thumbs is not None else 0)
    stmt = _INSERTS.get(key)
    if stmt is None:
        names = ["bucket", *(d.name for d in _sql.dimension_columns()), *_sql.MEASURES]
        query = _sql.window_statement(thumbs, by_dims=True, bucket=True)
        stmt = _INSERTS[key] = insert(rollup_hourly).from_select(names, query)
    params = {"bucket": hour, "start": hour, "end": hour + timedelta(hours=1)}
    conn.execute(delete(rollup_hourly).where(rollup_hourly.c.bucket == hour))
    conn.execute(stmt, params)


_INSERTS: dict[tuple[Any, ...], Any] = {}


def live_rows(
    conn: Connection,
    start: datetime,
    end: datetime,
    thumbs: ThumbsSource | None,
    where: Iterable[Any] = (),
    group_by_dims: bool = False,
) -> list[dict[str, Any]]:
    """Measures straight from ai_calls for [start, end), one row per hour (and dims)."""
    query = _sql.window_statement(thumbs, by_dims=group_by_dims)
    conditions = list(where)
    if conditions:
        query = query.where(*conditions)
    out = []
    for hour in _sql.hours_between(start, end):
        lo, hi = max(hour, start), min(hour + timedelta(hours=1), end)
        for row in conn.execute(query, {"start": lo, "end": hi}):
            data = dict(row._mapping)
            if data["n"]:
                data["bucket"] = hour
                out.append(data)
    return out


# ---------------------------------------------------------------- outcomes


def outcome_states(draft: dict[str, Any] | None, listing: dict[str, Any]) -> dict[str, str | None]:
    """st_<field> for one published listing vs its call's draft (None where both are empty)."""
    from types import SimpleNamespace

    suggested = draft_values(draft)
    published = listing_values(SimpleNamespace(**listing))
    out: dict[str, str | None] = {}
    for name in FIELDS:  # states only: no word diff or similarity (that is for the inspector)
        state = state_of(name, suggested.get(name), published.get(name))
        out[f"st_{name}"] = None if state == "empty" else state
    return out


def update_outcomes(
    conn: Connection, since: datetime | None, until: datetime
) -> tuple[int, set[datetime]]:
    """(Re)compute outcomes of listings published in [since, until); returns the call hours."""
    calls = _sql.calls
    lst = _listings
    query = (
        select(
            calls.c.id,
            calls.c.created_at,
            calls.c.draft,
            lst.c.id.label("listing_id"),
            lst.c.published_at,
            lst.c.title,
            lst.c.description,
            lst.c.category,
            lst.c.condition,
            lst.c.brand,
            lst.c.color,
            lst.c.price_cents,
        )
        .select_from(lst.join(calls, calls.c.id == lst.c.ai_call_id))
        .where(lst.c.published_at.is_not(None), lst.c.published_at < until)
    )
    if since is not None:
        query = query.where(lst.c.published_at >= since)
    hours: set[datetime] = set()
    count = 0
    batch: list[dict[str, Any]] = []
    for row in conn.execute(query):
        m = row._mapping
        states = outcome_states(m["draft"], dict(m))
        created = _aware(m["created_at"])
        batch.append(
            {
                "ai_call_id": m["id"],
                "listing_id": m["listing_id"],
                "call_created_at": created,
                "published_at": _aware(m["published_at"]),
                "n_suggested": sum(1 for s in states.values() if s in SUGGESTED_STATES),
                "n_edited": sum(1 for s in states.values() if s in CHANGED_STATES),
                **states,
            }
        )
        hours.add(_sql.floor_hour(created))
        if len(batch) >= OUTCOME_BATCH:
            count += _write_outcomes(conn, batch)
            batch = []
    count += _write_outcomes(conn, batch)
    return count, hours


def _write_outcomes(conn: Connection, batch: list[dict[str, Any]]) -> int:
    if not batch:
        return 0
    table = CallOutcome.__table__  # type: ignore[attr-defined]
    ids = [b["ai_call_id"] for b in batch]
    conn.execute(delete(table).where(table.c.ai_call_id.in_(ids)))
    conn.execute(insert(table), batch)
    return len(batch)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------- refresh


_REFRESHING = threading.RLock()


def refresh(
    engine: Engine,
    now: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshResult:
    """Bring rollups and outcomes up to `now` (first run: backfills everything)."""
    with _REFRESHING:
        return _refresh(engine, now, progress)


def _refresh(
    engine: Engine,
    now: datetime | None,
    progress: Callable[[int, int], None] | None,
) -> RefreshResult:
    now = now or utcnow()
    thumbs = thumbs_source(engine)
    with engine.begin() as conn:
        lock(conn)
        rolled = get_mark(conn, "rollup_until")
        outcomes_mark = get_mark(conn, "outcomes_until")
        since = outcomes_mark - GRACE if outcomes_mark else None
        n_outcomes, dirty = update_outcomes(conn, since, now)
        set_mark(conn, "outcomes_until", now)
        if thumbs is not None and rolled is not None:
            changed = thumbs.calls_since(rolled - GRACE)
            if changed is not None:
                created = select(_sql.calls.c.created_at).where(_sql.calls.c.id.in_(changed))
                dirty |= {_sql.floor_hour(_aware(t)) for (t,) in conn.execute(created)}
        if rolled is None:
            first = conn.execute(select(func.min(_sql.calls.c.created_at))).scalar()
            start = _aware(first) if first is not None else now
        else:
            start = rolled - GRACE
    hours = sorted(set(_sql.hours_between(start, now)) | dirty)
    # One transaction per day of hours: a long backfill does not hold one giant write lock.
    for i in range(0, len(hours), 24):
        with engine.begin() as conn:
            lock(conn)
            for hour in hours[i : i + 24]:
                recompute_hour(conn, hour, thumbs)
        if progress:
            progress(min(i + 24, len(hours)), len(hours))
    with engine.begin() as conn:
        lock(conn)
        set_mark(conn, "rollup_until", now)
    return RefreshResult(hours=len(hours), outcomes=n_outcomes, rolled_until=now)


def rolled_until(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return get_mark(conn, "rollup_until")


def ensure_fresh(engine: Engine, max_age: timedelta) -> datetime:
    """Refresh now if the background refresher is behind (or not running); returns the mark.

    Requests arriving while a refresh runs in this process wait for it instead of starting
    the same work again (a first backfill of a big log takes a while).
    """
    mark = rolled_until(engine)
    if mark is not None and utcnow() - mark <= max_age:
        return mark
    with _REFRESHING:
        mark = rolled_until(engine)
        if mark is None or utcnow() - mark > max_age:
            return refresh(engine).rolled_until
        return mark
