"""The monitoring dashboard's numbers: series per hour/day, totals and a breakdown, filtered.

Reads the hourly rollup before the refresher's watermark and ai_calls after it, so a chart is
complete up to now while a 7-day view at a million calls touches a few thousand rollup rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection, Engine

from trova.db._time import utcnow
from trova.ops import _sql
from trova.ops.feedback import thumbs_source
from trova.ops.models import DIMENSIONS, FIELDS, rollup_hourly
from trova.ops.rollups import get_mark, live_rows

RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "6h": timedelta(hours=6),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
HOURLY_UP_TO = timedelta(days=3)  # longer ranges chart one point per day


@dataclass(frozen=True)
class Filters:
    """Time range (UTC, whole hours) and the dimensions a chart can be cut by."""

    start: datetime
    end: datetime
    provider: str | None = None
    model: str | None = None
    prompt: str | None = None  # "name@version"
    variant: str | None = None  # "experiment:variant"

    @classmethod
    def build(
        cls,
        range_key: str = "24h",
        *,
        provider: str | None = None,
        model: str | None = None,
        prompt: str | None = None,
        variant: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        now: datetime | None = None,
    ) -> Filters:
        now = now or utcnow()
        if start is None:
            end = now
            start = now - RANGES.get(range_key, RANGES["24h"])
        end = end or now
        if start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        if end.tzinfo is None:
            end = end.replace(tzinfo=UTC)
        return cls(
            start=_sql.floor_hour(start),
            end=end,
            provider=provider or None,
            model=model or None,
            prompt=prompt or None,
            variant=variant or None,
        )

    def conditions(self, source: Any) -> list[ColumnElement[bool]]:
        """WHERE clauses over `source` (the rollup table, or dimension-labelled ai_calls)."""
        c = source.c if hasattr(source, "c") else source
        out: list[ColumnElement[bool]] = []
        if self.provider:
            out.append(c["provider"] == self.provider)
        if self.model:
            out.append(c["model"] == self.model)
        if self.prompt:
            name, _, version = self.prompt.partition("@")
            out += [c["prompt_name"] == name, c["prompt_version"] == version]
        if self.variant:
            experiment, _, variant = self.variant.partition(":")
            out += [c["experiment"] == experiment, c["variant"] == variant]
        return out

    def call_conditions(self) -> list[ColumnElement[bool]]:
        """The same filters over raw ai_calls."""
        dims = {d.name: d for d in _sql.dimension_columns()}
        return self.conditions(_Labelled(dims))


class _Labelled:
    """Lets Filters.conditions address ai_calls' dimension expressions by name."""

    def __init__(self, dims: dict[str, Any]) -> None:
        self.c = {name: expr.element for name, expr in dims.items()}


@dataclass
class Dashboard:
    filters: Filters
    bucket: str  # hour | day
    labels: list[str]
    series: dict[str, list[Any]]
    totals: dict[str, Any]
    breakdown: list[dict[str, Any]]
    options: dict[str, list[str]]
    has_thumbs: bool
    rolled_until: datetime | None
    field_names: tuple[str, ...] = field(default=FIELDS)

    def chart_data(self) -> dict[str, Any]:
        """What the page's charts script reads (JSON-safe)."""
        return {
            "bucket": self.bucket,
            "labels": self.labels,
            "series": self.series,
            "acceptance": {f: self.totals["acceptance"][f] for f in FIELDS},
            "has_thumbs": self.has_thumbs,
        }


def build(engine: Engine, filters: Filters) -> Dashboard:
    """Every chart of the dashboard for `filters`."""
    thumbs = thumbs_source(engine)
    with engine.connect() as conn:
        mark = get_mark(conn, "rollup_until")
        boundary = _sql.floor_hour(mark) if mark else filters.start
        boundary = min(max(boundary, filters.start), filters.end)
        by_bucket: dict[datetime, dict[str, float]] = {}
        by_dims: dict[tuple[str, ...], dict[str, float]] = {}
        if boundary > filters.start:
            _read_rollup(conn, filters, boundary, by_bucket, by_dims)
        if boundary < filters.end:
            for row in live_rows(
                conn,
                boundary,
                filters.end,
                thumbs,
                where=filters.call_conditions(),
                group_by_dims=True,
            ):
                _sql.add_into(by_bucket.setdefault(row["bucket"], _sql.empty_measures()), row)
                key = tuple(row[d] for d in DIMENSIONS)
                _sql.add_into(by_dims.setdefault(key, _sql.empty_measures()), row)
        options = filter_options(conn)
    hourly = filters.end - filters.start <= HOURLY_UP_TO
    points = _points(filters, hourly)
    merged: dict[datetime, dict[str, float]] = {p: _sql.empty_measures() for p in points}
    for bucket, m in by_bucket.items():
        bucket = bucket if bucket.tzinfo else bucket.replace(tzinfo=UTC)
        point = bucket if hourly else bucket.replace(hour=0)
        _sql.add_into(merged.setdefault(point, _sql.empty_measures()), m)
    ordered = sorted(merged)
    summaries = [_sql.summarize(merged[p]) for p in ordered]
    total = _sql.empty_measures()
    for m in merged.values():
        _sql.add_into(total, m)
    series = {
        "volume": [s["n"] for s in summaries],
        "error_rate": [s["error_rate"] for s in summaries],
        "timeout_rate": [s["timeout_rate"] for s in summaries],
        "invalid_rate": [s["invalid_rate"] for s in summaries],
        "p50_ms": [_round(s["p50_ms"]) for s in summaries],
        "p95_ms": [_round(s["p95_ms"]) for s in summaries],
        "tokens_in": [s["tokens_in"] for s in summaries],
        "tokens_out": [s["tokens_out"] for s in summaries],
        "cost_usd": [round(s["cost_usd"], 6) for s in summaries],
        "acceptance": [_overall_acceptance(merged[p]) for p in ordered],
        "thumbs_up_share": [s["thumbs_up_share"] for s in summaries],
    }
    breakdown = []
    for key, m in sorted(by_dims.items(), key=lambda kv: -kv[1]["n"]):
        row = dict(zip(DIMENSIONS, key, strict=True))
        row.update(_sql.summarize(m))
        row["acceptance_overall"] = _overall_acceptance(m)
        breakdown.append(row)
    fmt = "%Y-%m-%dT%H:00Z" if hourly else "%Y-%m-%d"
    return Dashboard(
        filters=filters,
        bucket="hour" if hourly else "day",
        labels=[p.strftime(fmt) for p in ordered],
        series=series,
        totals={**_sql.summarize(total), "acceptance_overall": _overall_acceptance(total)},
        breakdown=breakdown,
        options=options,
        has_thumbs=thumbs is not None,
        rolled_until=mark,
    )


def _read_rollup(
    conn: Connection,
    filters: Filters,
    until: datetime,
    by_bucket: dict[datetime, dict[str, float]],
    by_dims: dict[tuple[str, ...], dict[str, float]],
) -> None:
    r = rollup_hourly.c
    sums = _sql.rollup_sums()
    where = [r.bucket >= filters.start, r.bucket < until, *filters.conditions(rollup_hourly)]
    for row in conn.execute(select(r.bucket, *sums).where(*where).group_by(r.bucket)):
        m = dict(row._mapping)
        _sql.add_into(by_bucket.setdefault(m["bucket"], _sql.empty_measures()), m)
    dims = [r[d] for d in DIMENSIONS]
    for row in conn.execute(select(*dims, *sums).where(*where).group_by(*dims)):
        m = dict(row._mapping)
        key = tuple(m[d] for d in DIMENSIONS)
        _sql.add_into(by_dims.setdefault(key, _sql.empty_measures()), m)


def filter_options(conn: Connection) -> dict[str, list[str]]:
    """Values the filter dropdowns offer (what the last 90 days of rollups have seen)."""
    r = rollup_hourly.c
    since = utcnow() - timedelta(days=90)
    rows = conn.execute(select(*(r[d] for d in DIMENSIONS)).where(r.bucket >= since).distinct())
    providers, models, prompts, variants = set(), set(), set(), set()
    for row in rows:
        m = row._mapping
        providers.add(m["provider"])
        models.add(m["model"])
        if m["prompt_name"]:
            prompts.add(f"{m['prompt_name']}@{m['prompt_version']}")
        if m["experiment"]:
            variants.add(f"{m['experiment']}:{m['variant']}")
    return {
        "provider": sorted(providers),
        "model": sorted(models),
        "prompt": sorted(prompts),
        "variant": sorted(variants),
    }


def _points(filters: Filters, hourly: bool) -> list[datetime]:
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    point = filters.start if hourly else filters.start.replace(hour=0)
    out = []
    while point < filters.end:
        out.append(point)
        point += step
    return out


def _overall_acceptance(m: dict[str, float]) -> float | None:
    suggested = sum(m.get(f"sug_{f}") or 0 for f in FIELDS)
    accepted = sum(m.get(f"acc_{f}") or 0 for f in FIELDS)
    return accepted / suggested if suggested else None


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
