"""Funnel events of the create flow, and the abandonment they imply.

A *flow* is one pass through the create form: create_started (GET /sell) → photo_uploaded
(a draft listing) → exposure (step 2 under a variant) → prefill_shown → field_edited… →
published. "Abandoned" is computed, never guessed: a flow with no publish within the timeout.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, bindparam, cast, exists, func
from sqlalchemy import select as sa_select
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from trova.db._time import utcnow
from trova.rollout.models import Event, EventType


def new_flow_id() -> str:
    return uuid.uuid4().hex


# Hot-path statements are built once: SQLAlchemy then reuses their compiled form and cache key,
# which is most of the cost of a small query (see bench/bench_rollout.py).
_EVENTS = Event.__table__  # type: ignore[attr-defined]
_INSERT = _EVENTS.insert()
_FLOW_OF_LISTING = (
    sa_select(_EVENTS.c.flow_id, _EVENTS.c.unit_id, _EVENTS.c.simulated)
    .where(
        _EVENTS.c.listing_id == bindparam("listing_id"),
        _EVENTS.c.type == EventType.photo_uploaded.value,
    )
    .order_by(_EVENTS.c.id)
    .limit(1)
)
_FLOW_STARTED = sa_select(func.min(_EVENTS.c.at)).where(
    _EVENTS.c.flow_id == bindparam("flow_id"), _EVENTS.c.type == EventType.create_started.value
)
_EVENT_OF_FLOW = (
    sa_select(_EVENTS.c.id)
    .where(
        _EVENTS.c.flow_id == bindparam("flow_id"),
        _EVENTS.c.type == bindparam("type"),
        _EVENTS.c.field == bindparam("field"),
    )
    .limit(1)
)
_EXPOSURE_OF_FLOW = (
    sa_select(_EVENTS.c.experiment_id, _EVENTS.c.variant)
    .where(_EVENTS.c.flow_id == bindparam("flow_id"), _EVENTS.c.type == EventType.exposure.value)
    .order_by(_EVENTS.c.id)
    .limit(1)
)


def log(
    session: Session,
    type: EventType | str,
    *,
    at: datetime | None = None,
    flow_id: str | None = None,
    unit_id: str | None = None,
    seller_id: int | None = None,
    visitor_id: str | None = None,
    listing_id: int | None = None,
    experiment_id: int | None = None,
    variant: str | None = None,
    ai_call_id: str | None = None,
    field: str | None = None,
    props: dict[str, Any] | None = None,
    simulated: bool = False,
    commit: bool = True,
) -> None:
    """Append one event (a single INSERT; no ORM object kept in the session)."""
    session.execute(
        _INSERT,
        {
            "at": at or utcnow(),
            "type": str(type),
            "flow_id": flow_id,
            "unit_id": unit_id,
            "seller_id": seller_id,
            "visitor_id": visitor_id,
            "listing_id": listing_id,
            "experiment_id": experiment_id,
            "variant": variant,
            "ai_call_id": ai_call_id,
            "field": field[:40] if field else None,
            "props": props,
            "simulated": simulated,
        },
    )
    if commit:
        session.commit()


_COLUMNS = (
    "flow_id",
    "unit_id",
    "seller_id",
    "visitor_id",
    "listing_id",
    "experiment_id",
    "variant",
    "ai_call_id",
    "field",
    "props",
)


def log_many(session: Session, rows: Iterable[dict[str, Any]]) -> int:
    """Bulk-append events (one executemany); each dict holds Event columns."""
    now = utcnow()
    batch = [{"at": now, "simulated": False, **dict.fromkeys(_COLUMNS), **row} for row in rows]
    if batch:
        session.execute(_INSERT, batch)
        session.commit()
    return len(batch)


@dataclass(frozen=True)
class Flow:
    flow_id: str
    unit_id: str | None
    simulated: bool


def flow_of_listing(session: Session, listing_id: int) -> Flow | None:
    """The flow that made this draft listing (from its photo_uploaded event)."""
    row = session.execute(_FLOW_OF_LISTING, {"listing_id": listing_id}).first()
    if row is None or row[0] is None:
        return None
    return Flow(row[0], row[1], bool(row[2]))


def flow_started_at(session: Session, flow_id: str) -> datetime | None:
    started: datetime | None = session.execute(_FLOW_STARTED, {"flow_id": flow_id}).scalar()
    return started


def field_edited_before(session: Session, flow_id: str, field: str) -> bool:
    params = {"flow_id": flow_id, "type": EventType.field_edited.value, "field": field}
    return session.execute(_EVENT_OF_FLOW, params).first() is not None


@dataclass(frozen=True)
class FlowExposure:
    experiment_id: int | None
    variant: str | None


def exposure_of(session: Session, flow_id: str) -> FlowExposure | None:
    row = session.execute(_EXPOSURE_OF_FLOW, {"flow_id": flow_id}).first()
    return FlowExposure(row[0], row[1]) if row else None


def mark_abandoned(session: Session, *, timeout_s: float, now: datetime | None = None) -> int:
    """Write an `abandoned` event for every flow older than the timeout with no publish.

    Idempotent (a flow is marked once); the event is dated start + timeout. Stats compute the
    same rule on the fly, so results never depend on when this last ran.
    """
    now = now or utcnow()
    cutoff = now - timedelta(seconds=timeout_s)
    done = aliased(Event)
    starts = session.execute(
        sa_select(
            col(Event.flow_id),
            func.min(Event.at),
            func.min(Event.unit_id),
            func.min(Event.seller_id),
            func.max(cast(Event.simulated, Integer)),
        )
        .where(
            col(Event.type) == EventType.create_started.value,
            col(Event.flow_id).is_not(None),
            ~exists().where(
                and_(
                    col(done.flow_id) == col(Event.flow_id),
                    col(done.type).in_([EventType.published.value, EventType.abandoned.value]),
                )
            ),
        )
        .group_by(col(Event.flow_id))
        .having(func.min(Event.at) < cutoff)
    ).all()
    rows = [
        {
            "type": EventType.abandoned.value,
            "flow_id": flow_id,
            "at": _aware(started) + timedelta(seconds=timeout_s),
            "unit_id": unit_id,
            "seller_id": seller_id,
            "simulated": bool(simulated),
        }
        for flow_id, started, unit_id, seller_id, simulated in starts
    ]
    return log_many(session, rows)


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)
