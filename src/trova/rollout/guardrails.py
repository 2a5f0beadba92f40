"""Guardrails: pause a variant whose AI calls break the experiment's thresholds.

Per non-control variant, over a sliding window of its AI calls (ai_calls rows tagged with the
experiment and variant, since the later of window start and the variant's last resume): error
rate (error + timeout), empty-output rate (invalid), and p95 latency. Nothing is judged before
`guardrail_min_calls` calls. A breach pauses the variant — its traffic goes to the control — and
records the reason on the variant and in the ramp history. Simulated traffic counts: a failing
provider fails whoever asks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, case, func
from sqlmodel import Session, col, select

from trova.ai.models import AICall, CallStatus
from trova.db._time import utcnow
from trova.rollout import experiments
from trova.rollout.models import OFF, ExperimentStatus, Variant, VariantStatus


@dataclass(frozen=True)
class WindowStats:
    calls: int
    errors: int
    empty: int
    latency_p95_ms: int | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def empty_rate(self) -> float:
        return self.empty / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Breach:
    experiment: str
    variant: str
    reason: str


def window_stats(
    session: Session, experiment: str, variant: Variant, *, since: datetime
) -> WindowStats:
    where = (
        AICall.experiment == experiment,
        AICall.variant == variant.name,
        col(AICall.created_at) >= since,
    )
    failed = (CallStatus.error.value, CallStatus.timeout.value)
    calls, errors, empty = session.exec(
        select(
            func.count(),
            func.coalesce(
                func.sum(case((col(AICall.status).in_(failed), 1), else_=0).cast(Integer)), 0
            ),
            func.coalesce(
                func.sum(
                    case((col(AICall.status) == CallStatus.invalid.value, 1), else_=0).cast(Integer)
                ),
                0,
            ),
        ).where(*where)
    ).one()
    p95 = None
    if calls:
        # nearest-rank p95: the k-th largest latency with k = ceil(5 % of n)
        k = max(1, math.ceil(calls * 0.05))
        p95 = session.exec(
            select(AICall.latency_ms)
            .where(*where)
            .order_by(col(AICall.latency_ms).desc())
            .offset(k - 1)
            .limit(1)
        ).first()
    return WindowStats(int(calls), int(errors), int(empty), p95)


def _since(variant: Variant, window_s: int, now: datetime) -> datetime:
    start = now - timedelta(seconds=window_s)
    if variant.resumed_at is not None and variant.resumed_at > start:
        return variant.resumed_at
    return start


def judge(view: experiments.ExperimentView, stats: WindowStats) -> str | None:
    """The reason this window breaks a threshold, or None."""
    e = view.experiment
    if stats.calls < e.guardrail_min_calls:
        return None
    window = f"over the last {stats.calls} calls ({_duration(e.guardrail_window_s)} window)"
    if e.max_error_rate is not None and stats.error_rate > e.max_error_rate:
        return f"error rate {stats.error_rate:.0%} > {e.max_error_rate:.0%} {window}"
    if e.max_empty_rate is not None and stats.empty_rate > e.max_empty_rate:
        return f"empty-output rate {stats.empty_rate:.0%} > {e.max_empty_rate:.0%} {window}"
    if (
        e.max_latency_p95_ms is not None
        and stats.latency_p95_ms is not None
        and stats.latency_p95_ms > e.max_latency_p95_ms
    ):
        return f"p95 latency {stats.latency_p95_ms:,} ms > {e.max_latency_p95_ms:,} ms {window}"
    return None


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def check(
    session: Session,
    view: experiments.ExperimentView,
    *,
    only: str | None = None,
    now: datetime | None = None,
) -> list[Breach]:
    """Judge the running experiment's active AI variants; pause each one that breaks a rule."""
    if view.experiment.status != ExperimentStatus.running.value:
        return []
    now = now or utcnow()
    breaches = []
    for variant in view.variants:
        if (
            variant.is_control
            or variant.provider == OFF
            or variant.status != VariantStatus.active.value
            or (only is not None and variant.name != only)
        ):
            continue
        stats = window_stats(
            session,
            view.experiment.name,
            variant,
            since=_since(variant, view.experiment.guardrail_window_s, now),
        )
        reason = judge(view, stats)
        if reason:
            experiments.pause_variant(
                session, view.experiment.name, variant.name, f"guardrail: {reason}", now=now
            )
            breaches.append(Breach(view.experiment.name, variant.name, reason))
    return breaches


def check_running(session: Session, *, now: datetime | None = None) -> list[Breach]:
    """Every running experiment (the background worker calls this)."""
    out: list[Breach] = []
    for surface in experiments.SURFACES:
        view = experiments.running(session, surface)
        if view is not None:
            out.extend(check(session, view, now=now))
    return out
