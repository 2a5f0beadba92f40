"""Results of an experiment: per-variant business metrics, AI health, feedback, and tests.

The unit of analysis is the *flow* (one pass through the create form) from its exposure on:
a flow is published if it publishes within the abandonment timeout of its create_started,
abandoned if that timeout has passed without a publish, and in progress otherwise (left out
of rates, so young flows never count as failures). Flows whose own variant was paused and
that were served the control ("rerouted") belong to neither arm and are left out.

Simulated flows (from `trova simulate`) are left out unless asked for.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from trova.ai.models import AICall, CallStatus
from trova.ai.providers import parse_chain
from trova.ai.registry import PromptNotFound, resolve
from trova.db._time import utcnow
from trova.rollout import experiments, stats
from trova.rollout._verdict import summary, variant_verdict
from trova.rollout.experiments import ExperimentView, describe_variant
from trova.rollout.feedback import FIELDS
from trova.rollout.models import (
    OFF,
    Event,
    EventType,
    Exposure,
    Feedback,
    FieldFeedback,
    Variant,
)
from trova.rollout.srm import check as srm_check

MIN_BASELINE_FLOWS = 30  # below this, the sample size uses the prior baseline
PRIOR_PUBLISH_RATE = 0.85  # the seed's figure: 15 % of sellers abandon the form


class Population(StrEnum):
    real = "real"
    simulated = "simulated"
    all = "all"


@dataclass
class FlowRow:
    flow_id: str
    variant: str
    rerouted: bool
    started: datetime
    published: datetime | None = None
    edited_fields: set[str] = field(default_factory=set)
    ai_call_id: str | None = None


def _sim_filter(population: Population, column: Any) -> list[Any]:
    if population == Population.real:
        return [column == False]  # noqa: E712
    if population == Population.simulated:
        return [column == True]  # noqa: E712
    return []


def _flows(session: Session, experiment_id: int, population: Population) -> dict[str, FlowRow]:
    exposures = session.exec(
        select(Event.flow_id, Event.variant, Event.at, Event.props)
        .where(
            Event.type == EventType.exposure.value,
            Event.experiment_id == experiment_id,
            *_sim_filter(population, Event.simulated),
        )
        .order_by(col(Event.id))
    ).all()
    flows: dict[str, FlowRow] = {}
    for flow_id, variant, at, props in exposures:
        if flow_id and flow_id not in flows and variant:
            rerouted = bool((props or {}).get("rerouted"))
            flows[flow_id] = FlowRow(flow_id, variant, rerouted, at)
    if not flows:
        return flows
    exposed = (
        select(Event.flow_id)
        .where(Event.type == EventType.exposure.value, Event.experiment_id == experiment_id)
        .scalar_subquery()
    )
    wanted = [
        EventType.create_started.value,
        EventType.published.value,
        EventType.field_edited.value,
        EventType.prefill_shown.value,
    ]
    rows = session.execute(
        sa_select(
            col(Event.flow_id),
            col(Event.type),
            col(Event.at),
            col(Event.field),
            col(Event.ai_call_id),
        ).where(col(Event.flow_id).in_(exposed), col(Event.type).in_(wanted))
    ).all()
    for flow_id, type_, at, field_name, ai_call_id in rows:
        flow = flows.get(flow_id or "")
        if flow is None:
            continue
        if type_ == EventType.create_started.value:
            flow.started = min(flow.started, at)
        elif type_ == EventType.published.value:
            flow.published = at if flow.published is None else min(flow.published, at)
        elif type_ == EventType.field_edited.value and field_name:
            flow.edited_fields.add(field_name)
        elif type_ == EventType.prefill_shown.value and ai_call_id and not flow.ai_call_id:
            flow.ai_call_id = ai_call_id
    return flows


def _rate(x: int, n: int, alpha: float) -> dict[str, Any]:
    ci = stats.wilson_interval(x, n, alpha)
    return {"value": x / n if n else None, "ci_low": ci.low, "ci_high": ci.high, "n": n}


def _time_stats(times: list[float], alpha: float) -> dict[str, Any]:
    if not times:
        return {"n": 0, "median_s": None, "mean_s": None, "ci_low_s": None, "ci_high_s": None}
    ci = stats.mean_interval(times, alpha)
    return {
        "n": len(times),
        "median_s": stats.quantile(times, 0.5),
        "mean_s": stats.mean(times),
        "ci_low_s": ci.low,
        "ci_high_s": ci.high,
        "p25_s": stats.quantile(times, 0.25),
        "p75_s": stats.quantile(times, 0.75),
    }


def _ai_stats(calls: list[AICall], published: int) -> dict[str, Any]:
    if not calls:
        return {"calls": 0}
    failed = sum(c.status in (CallStatus.error, CallStatus.timeout) for c in calls)
    empty = sum(c.status == CallStatus.invalid for c in calls)
    latencies = [float(c.latency_ms) for c in calls]
    cost = math.fsum(c.cost_usd for c in calls)
    prompts = Counter(
        f"{c.prompt_name}@{c.prompt_version} ({c.prompt_hash})" for c in calls if c.prompt_name
    )
    return {
        "calls": len(calls),
        "error_rate": failed / len(calls),
        "empty_rate": empty / len(calls),
        "latency_p50_ms": stats.quantile(latencies, 0.5),
        "latency_p95_ms": stats.quantile(latencies, 0.95),
        "cost_usd": round(cost, 6),
        "cost_per_published_usd": round(cost / published, 6) if published else None,
        "prompts": sorted(prompts),
        "providers": sorted({c.provider_spec for c in calls}),
    }


def _field_stats(rows: list[FieldFeedback]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in FIELDS:
        counts = Counter(r.outcome for r in rows if r.field == name)
        judged = counts["accepted"] + counts["edited"] + counts["cleared"]
        out[name] = {
            "accepted": counts["accepted"],
            "edited": counts["edited"],
            "cleared": counts["cleared"],
            "added": counts["added"],
            "acceptance_rate": counts["accepted"] / judged if judged else None,
        }
    judged_all = [r for r in rows if r.outcome != "added"]
    accepted = sum(r.outcome == "accepted" for r in judged_all)
    out["all"] = {"acceptance_rate": accepted / len(judged_all) if judged_all else None}
    return out


def _eval_score(session: Session, variant: Variant, hashes: set[str]) -> dict[str, Any] | None:
    """The latest completed offline eval (issue C) of this variant's provider and prompt."""
    if variant.provider == OFF:
        return None
    try:
        from trova.evals.models import EvalRun
    except ImportError:  # pragma: no cover - the evals room ships with Trova
        return None
    if not hashes and variant.prompt:
        with suppress(PromptNotFound):
            hashes = {resolve(variant.prompt, session).content_hash}
    if not hashes:
        return None
    run = session.exec(
        select(EvalRun)
        .where(
            col(EvalRun.prompt_hash).in_(sorted(hashes)),
            EvalRun.provider_spec == parse_chain(variant.provider)[0],
            EvalRun.status == "completed",
        )
        .order_by(col(EvalRun.created_at).desc())
    ).first()
    if run is None or not run.metrics:
        return None
    return {
        "run_id": run.id,
        "label": run.label,
        "dataset": f"{run.dataset_name} v{run.dataset_version_number}",
        "prompt": f"{run.prompt_name}@{run.prompt_version}",
        "overall": run.metrics.get("overall"),
        "category_accuracy": run.metrics.get("category_accuracy"),
    }


def _histogram(times_by_variant: dict[str, list[float]], bins: int = 12) -> dict[str, Any]:
    """Shared bins (minutes) for the time-to-publish chart."""
    every = [t for ts in times_by_variant.values() for t in ts]
    if not every:
        return {"edges_min": [], "counts": {}}
    top = stats.quantile(every, 0.95) / 60 or 1.0
    raw = top / bins
    magnitude = 10 ** math.floor(math.log10(raw))
    width = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    edges = [round(i * width, 4) for i in range(bins + 1)]
    counts = {}
    for name, ts in times_by_variant.items():
        row = [0] * bins
        for t in ts:
            row[min(bins - 1, int((t / 60) // width))] += 1
        counts[name] = row
    return {"edges_min": edges, "counts": counts}


def compute(
    session: Session,
    view: ExperimentView,
    *,
    abandon_timeout_s: float,
    population: Population = Population.real,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything `show --json`, the API and the results page print."""
    now = now or utcnow()
    e = view.experiment
    assert e.id is not None
    alpha = e.alpha
    timeout = timedelta(seconds=abandon_timeout_s)
    flows = _flows(session, e.id, population)
    rerouted = sum(f.rerouted for f in flows.values())
    clean = [f for f in flows.values() if not f.rerouted]

    call_ids = [f.ai_call_id for f in clean if f.ai_call_id]
    calls = {
        c.id: c
        for chunk in _chunks(call_ids)
        for c in session.exec(select(AICall).where(col(AICall.id).in_(chunk))).all()
    }
    thumbs: dict[str, int] = {}
    field_rows: dict[str, list[FieldFeedback]] = defaultdict(list)
    for chunk in _chunks(call_ids):
        for fb in session.exec(select(Feedback).where(col(Feedback.ai_call_id).in_(chunk))).all():
            thumbs[fb.ai_call_id] = fb.rating
        for row in session.exec(
            select(FieldFeedback).where(col(FieldFeedback.ai_call_id).in_(chunk))
        ).all():
            field_rows[row.ai_call_id].append(row)

    per_variant: dict[str, dict[str, Any]] = {}
    samples: dict[str, dict[str, Any]] = {}
    for v in view.variants:
        mine = [f for f in clean if f.variant == v.name]
        published = [
            f for f in mine if f.published is not None and f.published - f.started <= timeout
        ]
        decided = [f for f in mine if f in published or now - f.started > timeout]
        times = [(f.published - f.started).total_seconds() for f in published if f.published]
        my_calls = [calls[f.ai_call_id] for f in mine if f.ai_call_id in calls]
        ups = sum(1 for c in my_calls if thumbs.get(c.id) == 1)
        downs = sum(1 for c in my_calls if thumbs.get(c.id) == -1)
        per_variant[v.name] = {
            "name": v.name,
            "description": describe_variant(v),
            "provider": v.provider,
            "prompt": v.prompt,
            "control": v.is_control,
            "weight": v.weight,
            "status": v.status,
            "paused_reason": v.paused_reason,
            "flows": len(mine),
            "decided": len(decided),
            "in_progress": len(mine) - len(decided),
            "published": len(published),
            "abandoned": len(decided) - len(published),
            "publish_rate": _rate(len(published), len(decided), alpha),
            "abandonment_rate": _rate(len(decided) - len(published), len(decided), alpha),
            "time_to_publish": _time_stats(times, alpha),
            "fields_edited_mean": (
                stats.mean([len(f.edited_fields) for f in published]) if published else None
            ),
            "fields": _field_stats([r for c in my_calls for r in field_rows.get(c.id, [])]),
            "thumbs": {
                "up": ups,
                "down": downs,
                "up_share": ups / (ups + downs) if ups + downs else None,
            },
            "ai": _ai_stats(my_calls, len(published)) if v.provider != OFF else {"calls": 0},
            "eval": _eval_score(session, v, {c.prompt_hash for c in my_calls if c.prompt_hash}),
            "p_value": None,
        }
        samples[v.name] = {"x": len(published), "n": len(decided), "times": times}

    control = view.control.name
    base = samples[control]
    baseline = base["x"] / base["n"] if base["n"] >= MIN_BASELINE_FLOWS else PRIOR_PUBLISH_RATE
    required = stats.sample_size_two_proportions(baseline, e.min_effect, alpha, e.power)
    for v in view.variants:
        if v.is_control:
            continue
        s = samples[v.name]
        comparison: dict[str, Any] = {"publish_rate": None, "time_to_publish": None}
        if s["n"] and base["n"]:
            z = stats.two_proportion_ztest(s["x"], s["n"], base["x"], base["n"], alpha)
            comparison["publish_rate"] = {
                "diff": z.diff,
                "ci_low": z.ci.low,
                "ci_high": z.ci.high,
                "z": z.z,
                "p_value": z.p_value,
            }
            per_variant[v.name]["p_value"] = z.p_value
        if len(s["times"]) >= 2 and len(base["times"]) >= 2:
            w = stats.welch_ttest(s["times"], base["times"], alpha)
            mw = stats.mann_whitney(s["times"], base["times"])
            comparison["time_to_publish"] = {
                "diff_mean_s": w.diff,
                "ci_low_s": w.ci.low,
                "ci_high_s": w.ci.high,
                "t": w.t,
                "df": w.df,
                "p_value": w.p_value,
                "mann_whitney_u": mw.u,
                "mann_whitney_p": mw.p_value,
            }
        enough = min(s["n"], base["n"]) >= required
        comparison["enough_data"] = enough
        comparison["verdict"] = variant_verdict(
            v.name, control, comparison, s["n"], base["n"], required, alpha
        )
        per_variant[v.name]["vs_control"] = comparison
        tp = comparison["time_to_publish"]
        per_variant[v.name]["time_to_publish"]["p_value"] = tp["p_value"] if tp else None

    ramps = experiments.history(session, e.id)
    srm = srm_check(session, e.id, ramps, _sim_filter(population, Exposure.simulated))
    enough_all = all(samples[name]["n"] >= required for name in samples)
    return {
        "experiment": e.name,
        "description": e.description,
        "surface": e.surface,
        "status": e.status,
        "started_at": e.started_at.isoformat() if e.started_at else None,
        "stopped_at": e.stopped_at.isoformat() if e.stopped_at else None,
        "population": population.value,
        "abandon_timeout_s": abandon_timeout_s,
        "alpha": alpha,
        "power": e.power,
        "min_effect": e.min_effect,
        "baseline_publish_rate": baseline,
        "required_per_arm": required,
        "enough_data": enough_all,
        "rerouted_flows": rerouted,
        "srm": srm,
        "guardrails": {
            "max_error_rate": e.max_error_rate,
            "max_empty_rate": e.max_empty_rate,
            "max_latency_p95_ms": e.max_latency_p95_ms,
            "window_s": e.guardrail_window_s,
            "min_calls": e.guardrail_min_calls,
        },
        "variants": [per_variant[v.name] for v in view.variants],
        "histogram": _histogram({name: s["times"] for name, s in samples.items()}),
        "history": [
            {
                "at": r.at.isoformat(),
                "action": r.action,
                "allocation": r.allocation,
                "reason": r.reason,
            }
            for r in ramps
        ],
        "verdict": summary(per_variant, srm, enough_all, required, samples),
    }


def _chunks(ids: list[str], size: int = 500) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def summary_counts(session: Session, experiment_id: int) -> dict[str, int]:
    """Units per variant (all populations), for the list view."""
    rows = session.exec(
        select(Exposure.variant, func.count())
        .where(Exposure.experiment_id == experiment_id)
        .group_by(col(Exposure.variant))
    ).all()
    return {variant: int(count) for variant, count in rows}
