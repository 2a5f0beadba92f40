"""Compare two runs: per-metric deltas with paired-bootstrap confidence intervals, and the cases
that flipped right -> wrong (regressions) or wrong -> right (fixes), field by field.

The bootstrap resamples the *cases both runs share* (paired: the same resampled cases score both
runs), with a fixed seed, so the same two runs always give the same intervals.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from trova.evals import metrics as m
from trova.evals.store import RunData

COMPARED = (
    "category_accuracy",
    "category_top3",
    "category_partial",
    "color_accuracy",
    "brand_accuracy",
    "brand_hallucination",
    "title_relevance",
    "description_relevance",
    "price_in_range",
    "validity",
    "empty_field_rate",
    "overall",
)


@dataclass
class Delta:
    metric: str
    a: float | None
    b: float | None
    delta: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0

    @property
    def significant(self) -> bool:
        return (
            self.ci_low is not None
            and self.ci_high is not None
            and (self.ci_low > 0 or self.ci_high < 0)
        )

    @property
    def better(self) -> bool | None:
        """True when B is better than A (direction-aware), None when unchanged or unknown."""
        if self.delta is None or self.delta == 0:
            return None
        return (self.delta < 0) if self.metric in m.LOWER_IS_BETTER else (self.delta > 0)


@dataclass
class Comparison:
    a: RunData
    b: RunData
    deltas: list[Delta]
    regressions: dict[str, list[str]] = field(default_factory=dict)  # field -> case keys
    fixes: dict[str, list[str]] = field(default_factory=dict)
    shared_cases: int = 0
    warnings: list[str] = field(default_factory=list)
    operational: list[Delta] = field(default_factory=list)  # latency, cost: no CI

    def as_dict(self) -> dict[str, Any]:
        return {
            "a": self.a.lineage,
            "b": self.b.lineage,
            "shared_cases": self.shared_cases,
            "warnings": self.warnings,
            "deltas": [
                {
                    "metric": d.metric,
                    "a": d.a,
                    "b": d.b,
                    "delta": d.delta,
                    "ci95": [d.ci_low, d.ci_high] if d.ci_low is not None else None,
                    "significant": d.significant,
                    "n": d.n,
                }
                for d in self.deltas
            ],
            "operational": [
                {"metric": d.metric, "a": d.a, "b": d.b, "delta": d.delta} for d in self.operational
            ],
            "right_to_wrong": self.regressions,
            "wrong_to_right": self.fixes,
        }


def bootstrap_ci(
    pairs: list[tuple[float, float]], *, samples: int = 2000, seed: int = 0
) -> tuple[float, float] | None:
    """95% CI of mean(b) - mean(a) over paired per-case values."""
    if len(pairs) < 2:
        return None
    rng = random.Random(seed)
    n = len(pairs)
    diffs = [b - a for a, b in pairs]
    stats = []
    for _ in range(samples):
        total = 0.0
        for _ in range(n):
            total += diffs[rng.randrange(n)]
        stats.append(total / n)
    stats.sort()
    lo, hi = stats[int(0.025 * samples)], stats[min(samples - 1, int(0.975 * samples))]
    return round(lo, 4), round(hi, 4)


def _r(value: Any) -> float | None:
    return round(float(value), 4) if isinstance(value, (int, float)) else None


def compare(a: RunData, b: RunData, *, samples: int = 2000, seed: int = 0) -> Comparison:
    warnings = []
    if a.dataset_version and b.dataset_version and a.dataset_version != b.dataset_version:
        warnings.append(
            f"Different dataset versions ({a.lineage.get('dataset_version')} "
            f"{a.dataset_version[:12]} vs {b.lineage.get('dataset_version')} "
            f"{b.dataset_version[:12]}): deltas use the {{shared}} cases only."
        )
    for run in (a, b):
        if run.status != "completed":
            warnings.append(f"Run {run.ref[:12]} is {run.status}: its metrics cover part only.")
    shared = sorted(set(a.case_scores) & set(b.case_scores))
    if warnings:
        warnings = [w.replace("{shared}", str(len(shared))) for w in warnings]
    deltas = []
    for name in COMPARED:
        va, vb = _r(a.metrics.get(name)), _r(b.metrics.get(name))
        delta = round(vb - va, 4) if va is not None and vb is not None else None
        pairs = [
            (float(a.case_scores[k][name]), float(b.case_scores[k][name]))
            for k in shared
            if a.case_scores[k].get(name) is not None and b.case_scores[k].get(name) is not None
        ]
        ci = bootstrap_ci(pairs, samples=samples, seed=seed) if delta is not None else None
        deltas.append(
            Delta(name, va, vb, delta, ci[0] if ci else None, ci[1] if ci else None, len(pairs))
        )
    operational = []
    for name in ("latency_p50_ms", "latency_p95_ms", "cost_per_case_usd"):
        va, vb = _r(a.metrics.get(name)), _r(b.metrics.get(name))
        operational.append(
            Delta(name, va, vb, round(vb - va, 6) if va is not None and vb is not None else None)
        )
    regressions: dict[str, list[str]] = {}
    fixes: dict[str, list[str]] = {}
    for key in sorted(set(a.correct) & set(b.correct)):
        for f in m.FLIP_FIELDS:
            ca, cb = a.correct[key].get(f), b.correct[key].get(f)
            if ca is None or cb is None:
                continue
            if ca >= 0.5 > cb:
                regressions.setdefault(f, []).append(key)
            elif cb >= 0.5 > ca:
                fixes.setdefault(f, []).append(key)
    return Comparison(a, b, deltas, regressions, fixes, len(shared), warnings, operational)
