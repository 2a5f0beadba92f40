"""SQL building blocks shared by the rollup refresher, the live tail, alerts and /metrics."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Label,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.sql.selectable import FromClause
from sqlmodel.sql.sqltypes import UTCDateTime

from trova.ai.models import AICall
from trova.ops.feedback import ThumbsSource
from trova.ops.models import FIELDS, HIST_COLUMNS, LATENCY_BUCKETS_MS, CallOutcome, rollup_hourly

calls = AICall.__table__  # type: ignore[attr-defined]
outcomes = CallOutcome.__table__  # type: ignore[attr-defined]

STATUS_COLUMNS = {"ok": "n_ok", "invalid": "n_invalid", "error": "n_error", "timeout": "n_timeout"}
# What the call log alone gives (no outcomes, no thumbs): what /metrics exports.
CALL_MEASURES: tuple[str, ...] = (
    "n",
    "n_ok",
    "n_invalid",
    "n_error",
    "n_timeout",
    "n_fallback",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "latency_sum_ms",
    *HIST_COLUMNS,
)
MEASURES: tuple[str, ...] = (
    *CALL_MEASURES,
    "n_published",
    *(f"sug_{f}" for f in FIELDS),
    *(f"acc_{f}" for f in FIELDS),
    "thumbs_up",
    "thumbs_down",
)


def floor_hour(when: datetime) -> datetime:
    return when.replace(minute=0, second=0, microsecond=0)


def hours_between(start: datetime, end: datetime) -> list[datetime]:
    """Hour starts h with h < end and h + 1 h > start."""
    out, hour = [], floor_hour(start)
    while hour < end:
        out.append(hour)
        hour += timedelta(hours=1)
    return out


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def dimension_columns() -> list[Label[Any]]:
    """The rollup dimensions over ai_calls (NULL → '' so they group and key cleanly)."""
    c = calls.c
    return [
        c.provider.label("provider"),
        c.model.label("model"),
        func.coalesce(c.prompt_name, "").label("prompt_name"),
        func.coalesce(c.prompt_version, "").label("prompt_version"),
        func.coalesce(c.experiment, "").label("experiment"),
        func.coalesce(c.variant, "").label("variant"),
    ]


def measure_columns(thumbs: ThumbsSource | None) -> list[Label[Any]]:
    """Every rollup measure as an aggregate over ai_calls ⟕ outcomes (⟕ thumbs)."""
    c, o = calls.c, outcomes.c
    cols: list[Label[Any]] = [func.count().label("n")]
    for status, name in STATUS_COLUMNS.items():
        cols.append(_count_if(c.status == status).label(name))
    cols += [
        _count_if(c.fallback_from.is_not(None)).label("n_fallback"),
        func.coalesce(func.sum(c.tokens_in), 0).label("tokens_in"),
        func.coalesce(func.sum(c.tokens_out), 0).label("tokens_out"),
        func.coalesce(func.sum(c.cost_usd), 0.0).label("cost_usd"),
        func.coalesce(func.sum(c.latency_ms), 0).label("latency_sum_ms"),
    ]
    for i, name in enumerate(HIST_COLUMNS):
        low = LATENCY_BUCKETS_MS[i - 1] if i else None
        high = LATENCY_BUCKETS_MS[i] if i < len(LATENCY_BUCKETS_MS) else None
        cond = and_(
            c.latency_ms > low if low is not None else true(),
            c.latency_ms <= high if high is not None else true(),
        )
        cols.append(_count_if(cond).label(name))
    cols.append(_count_if(o.ai_call_id.is_not(None)).label("n_published"))
    for f in FIELDS:
        cols.append(
            _count_if(o[f"st_{f}"].in_(("accepted", "edited", "cleared"))).label(f"sug_{f}")
        )
    for f in FIELDS:
        cols.append(_count_if(o[f"st_{f}"] == "accepted").label(f"acc_{f}"))
    if thumbs is None:
        cols += [literal(0, Integer).label(n) for n in ("thumbs_up", "thumbs_down")]
    else:
        cols += [
            func.coalesce(func.sum(thumbs.count(calls.c.id, up=True)), 0).label("thumbs_up"),
            func.coalesce(func.sum(thumbs.count(calls.c.id, up=False)), 0).label("thumbs_down"),
        ]
    return cols


def joined_source() -> FromClause:
    """ai_calls ⟕ ops_call_outcomes: every call, with what its listing kept if published."""
    return calls.outerjoin(outcomes, outcomes.c.ai_call_id == calls.c.id)


# Statements are built once and executed with parameters: building ~60 aggregate columns and
# compiling them costs ~20 ms in Python, far more than SQLite needs to aggregate an hour.
_STATEMENTS: dict[tuple[Any, ...], Any] = {}


def window_statement(thumbs: ThumbsSource | None, *, by_dims: bool, bucket: bool = False) -> Any:
    """SELECT [bucket,] [dims,] measures FROM ai_calls ⟕ outcomes WHERE :start <= t < :end."""
    key = ("window", id(thumbs) if thumbs is not None else 0, by_dims, bucket)
    stmt = _STATEMENTS.get(key)
    if stmt is None:
        dims = dimension_columns() if by_dims else []
        head = [bindparam("bucket", type_=UTCDateTime()).label("bucket")] if bucket else []
        stmt = (
            select(*head, *dims, *measure_columns(thumbs))
            .select_from(joined_source())
            .where(
                calls.c.created_at >= bindparam("start", type_=UTCDateTime()),
                calls.c.created_at < bindparam("end", type_=UTCDateTime()),
            )
        )
        if dims:
            stmt = stmt.group_by(*dims)
        _STATEMENTS[key] = stmt
    return stmt


def rollup_sums() -> list[Label[Any]]:
    """sum(<measure>) over the rollup table, for every measure."""
    key = ("rollup_sums",)
    if key not in _STATEMENTS:
        _STATEMENTS[key] = [func.sum(rollup_hourly.c[name]).label(name) for name in MEASURES]
    cols: list[Label[Any]] = _STATEMENTS[key]
    return cols


# ---------------------------------------------------------------- reading measures


def add_into(total: dict[str, float], row: Mapping[str, Any]) -> None:
    for name in MEASURES:
        # PostgreSQL sums bigints into NUMERIC (Decimal): keep everything float.
        total[name] = total.get(name, 0.0) + float(row.get(name) or 0)


def empty_measures() -> dict[str, float]:
    return dict.fromkeys(MEASURES, 0.0)


def quantile(hist: Sequence[float], q: float) -> float | None:
    """Latency quantile (ms) from histogram counts, interpolated inside the bucket.

    The same estimate as Prometheus' histogram_quantile(); above the last bound it answers
    the last bound.
    """
    total = sum(hist)
    if total <= 0:
        return None
    rank = q * total
    cumulative = 0.0
    for i, count in enumerate(hist):
        if count and cumulative + count >= rank:
            low = LATENCY_BUCKETS_MS[i - 1] if i else 0
            if i >= len(LATENCY_BUCKETS_MS):
                return float(low)
            high = LATENCY_BUCKETS_MS[i]
            return low + (high - low) * (rank - cumulative) / count
        cumulative += count
    return float(LATENCY_BUCKETS_MS[-1])


def hist_of(row: Mapping[str, Any]) -> list[float]:
    return [float(row.get(name) or 0) for name in HIST_COLUMNS]


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def summarize(m: Mapping[str, Any]) -> dict[str, Any]:
    """Rates, percentiles and shares from a measures dict (None where there is no data)."""
    n = float(m.get("n") or 0)
    hist = hist_of(m)
    fields = {}
    for f in FIELDS:
        fields[f] = ratio(m.get(f"acc_{f}") or 0, m.get(f"sug_{f}") or 0)
    thumbs = (m.get("thumbs_up") or 0) + (m.get("thumbs_down") or 0)
    return {
        "n": int(n),
        "error_rate": ratio(m.get("n_error") or 0, n),
        "timeout_rate": ratio(m.get("n_timeout") or 0, n),
        "invalid_rate": ratio(m.get("n_invalid") or 0, n),
        "failure_rate": ratio(n - (m.get("n_ok") or 0), n),
        "fallback_rate": ratio(m.get("n_fallback") or 0, n),
        "p50_ms": quantile(hist, 0.5),
        "p95_ms": quantile(hist, 0.95),
        "mean_ms": ratio(m.get("latency_sum_ms") or 0, n),
        "tokens_in": int(m.get("tokens_in") or 0),
        "tokens_out": int(m.get("tokens_out") or 0),
        "cost_usd": float(m.get("cost_usd") or 0.0),
        "published": int(m.get("n_published") or 0),
        "acceptance": fields,
        "thumbs": int(thumbs),
        "thumbs_up_share": ratio(m.get("thumbs_up") or 0, thumbs),
    }


def finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def rows_as_dicts(rows: Iterable[Any]) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in rows]
