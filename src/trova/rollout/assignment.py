"""Deterministic, sticky assignment of units (sellers or visitors) to experiment variants.

bucket = first 8 bytes of sha256("<salt>:<unit_id>") mod 10,000; the variants own consecutive
bucket ranges in their declared order, sized by weight. The first assignment of a unit is
stored (rollout_exposures, unique per experiment and unit): it is the unit's exposure, logged
once, and it wins over the hash from then on, so ramps never reshuffle units already assigned.
A unit whose variant is paused is served the control (and marked `rerouted`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert
from sqlmodel import Session, select

from trova.ai.providers import parse_chain
from trova.db._time import utcnow
from trova.rollout import experiments
from trova.rollout.models import OFF, SURFACE_PREFILL, Exposure, Variant, VariantStatus

BUCKETS = 10_000


def bucket(salt: str, unit_id: str) -> int:
    """A stable bucket in [0, 10000) for a unit in an experiment."""
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def pick(bucket_no: int, weights: Sequence[tuple[str, float]]) -> str:
    """The variant whose range holds the bucket (weights in percent, in declared order)."""
    edge = 0.0
    for name, weight in weights:
        edge += weight * BUCKETS / 100
        if bucket_no < round(edge):
            return name
    return weights[-1][0]


@dataclass(frozen=True)
class Assignment:
    experiment: str
    experiment_id: int
    variant: str  # the variant served
    provider: str  # "off" or a provider chain
    prompt: str | None
    rerouted: bool = False  # the unit's own variant is paused; it is served the control
    first: bool = False  # this call made the unit's exposure

    @property
    def off(self) -> bool:
        return self.provider == OFF

    @property
    def providers(self) -> list[str] | None:
        return None if self.off else parse_chain(self.provider)


_INSERT_IGNORE: dict[str, Any] = {}


def _insert_ignore(session: Session, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on (experiment_id, unit_id); True if it inserted."""
    dialect = session.get_bind().dialect.name
    stmt = _INSERT_IGNORE.get(dialect)
    if stmt is None:
        table = Exposure.__table__  # type: ignore[attr-defined]
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            stmt = pg_insert(table).on_conflict_do_nothing(
                constraint="uq_rollout_exposures_experiment_unit"
            )
        elif dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing(
                index_elements=["experiment_id", "unit_id"]
            )
        else:  # pragma: no cover - Trova runs on SQLite and PostgreSQL
            stmt = insert(table)
        _INSERT_IGNORE[dialect] = stmt
    result = session.execute(stmt, values)
    return bool(getattr(result, "rowcount", 0))


_STORED = select(Exposure.variant).where(
    Exposure.experiment_id == bindparam("experiment_id"), Exposure.unit_id == bindparam("unit_id")
)


def assign(
    session: Session,
    view: experiments.ExperimentView,
    unit_id: str,
    *,
    seller_id: int | None = None,
    visitor_id: str | None = None,
    simulated: bool = False,
    now: datetime | None = None,
) -> Assignment:
    """The unit's variant in a running experiment; logs its exposure the first time."""
    experiment = view.experiment
    assert experiment.id is not None
    by_name = {v.name: v for v in view.variants}
    control = view.control
    key = {"experiment_id": experiment.id, "unit_id": unit_id}
    stored = session.exec(_STORED, params=key).first()
    first = False
    if stored is None:
        hashed = pick(bucket(experiment.salt, unit_id), [(v.name, v.weight) for v in view.variants])
        served = control.name if _paused(by_name[hashed]) else hashed
        first = _insert_ignore(
            session,
            {
                "experiment_id": experiment.id,
                "unit_id": unit_id,
                "variant": served,
                "hashed_variant": hashed,
                "at": now or utcnow(),
                "seller_id": seller_id,
                "visitor_id": visitor_id,
                "simulated": simulated,
            },
        )
        session.commit()
        # when a concurrent request assigned the unit first, theirs stands
        stored = served if first else session.exec(_STORED, params=key).one()
    own = by_name.get(stored, control)
    served_variant = control if _paused(own) else own
    return Assignment(
        experiment=experiment.name,
        experiment_id=experiment.id,
        variant=served_variant.name,
        provider=served_variant.provider,
        prompt=served_variant.prompt,
        rerouted=served_variant is not own,
        first=first,
    )


def _paused(variant: Variant) -> bool:
    return variant.status == VariantStatus.paused.value and not variant.is_control


def assign_prefill(
    session: Session,
    unit_id: str,
    *,
    seller_id: int | None = None,
    visitor_id: str | None = None,
    simulated: bool = False,
    now: datetime | None = None,
) -> Assignment | None:
    """Which prefill variant this unit gets, or None when no experiment runs on prefill."""
    view = experiments.running(session, SURFACE_PREFILL)
    if view is None:
        return None
    return assign(
        session,
        view,
        unit_id,
        seller_id=seller_id,
        visitor_id=visitor_id,
        simulated=simulated,
        now=now,
    )
