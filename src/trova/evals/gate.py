"""The quality gate: does a candidate run keep every critical metric within `max_drop` of the
baseline (a run, a label, or a committed baseline file)? CI runs it on the local model.

Gated metrics: those of the fields marked critical in the dataset (category -> accuracy and
top-3, title -> relevance, …) plus validity and overall. Lower-is-better metrics are not gated.
A candidate on another dataset version than the baseline fails unless allowed: a changed
dataset needs a deliberately rewritten baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trova.evals import metrics as m
from trova.evals.store import RunData


@dataclass
class Check:
    metric: str
    baseline: float | None
    candidate: float | None
    drop: float | None
    passed: bool
    note: str = ""


@dataclass
class GateResult:
    passed: bool
    checks: list[Check]
    max_drop: float
    problems: list[str] = field(default_factory=list)  # reasons other than metric drops
    regressed_cases: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "max_drop": self.max_drop,
            "problems": self.problems,
            "checks": [c.__dict__ for c in self.checks],
            "right_to_wrong": self.regressed_cases,
        }

    def text(self, candidate: RunData, baseline: RunData, max_cases: int = 6) -> str:
        """The one-screen reason."""
        head = "PASS" if self.passed else "FAIL"
        lines = [
            f"Eval gate {head}: candidate {candidate.ref[:12]} "
            f"({candidate.lineage.get('provider')}, {candidate.lineage.get('prompt')}) vs "
            f"baseline {baseline.ref if len(baseline.ref) < 60 else baseline.ref[-60:]}",
            f"dataset {candidate.lineage.get('dataset')}@"
            f"{candidate.lineage.get('dataset_version')} ({candidate.dataset_version[:12]}), "
            f"max drop {self.max_drop:.3f}",
            "",
            f"{'metric':<22}{'baseline':>10}{'candidate':>11}{'change':>9}  ",
        ]
        for c in self.checks:
            base = "—" if c.baseline is None else f"{c.baseline:.3f}"
            cand = "—" if c.candidate is None else f"{c.candidate:.3f}"
            change = (
                ""
                if c.candidate is None or c.baseline is None
                else f"{c.candidate - c.baseline + 0.0:+.3f}"
            )
            mark = "ok" if c.passed else "FAIL"
            lines.append(f"{c.metric:<22}{base:>10}{cand:>11}{change:>9}  {mark} {c.note}".rstrip())
        for problem in self.problems:
            lines.append(f"FAIL: {problem}")
        shown = [(f, keys) for f, keys in self.regressed_cases.items() if keys]
        if shown:
            lines.append("")
            lines.append("right -> wrong:")
            for f, keys in shown:
                more = f" (+{len(keys) - max_cases} more)" if len(keys) > max_cases else ""
                lines.append(f"  {f}: {', '.join(keys[:max_cases])}{more}")
        if not self.passed:
            lines.append("")
            lines.append(
                "If this change is intended, write a new baseline in its own commit with the "
                "reason: trova eval baseline write RUN --out <file> --reason '...'"
            )
        return "\n".join(lines)


def gate(
    candidate: RunData,
    baseline: RunData,
    *,
    max_drop: float = 0.02,
    metrics: list[str] | None = None,
    allow_dataset_change: bool = False,
) -> GateResult:
    problems = []
    if candidate.status != "completed":
        problems.append(f"candidate run is {candidate.status}, not completed")
    if (
        not allow_dataset_change
        and baseline.dataset_version
        and candidate.dataset_version != baseline.dataset_version
    ):
        problems.append(
            f"candidate ran on dataset version {candidate.dataset_version[:12]} but the "
            f"baseline on {baseline.dataset_version[:12]}; rewrite the baseline for the new "
            "dataset (or pass --allow-dataset-change)"
        )
    names = metrics or m.gated_metrics(baseline.critical or candidate.critical)
    checks = []
    for name in names:
        b, c = baseline.metrics.get(name), candidate.metrics.get(name)
        if not isinstance(b, (int, float)):
            checks.append(Check(name, None, _f(c), None, True, "(no baseline value)"))
            continue
        if not isinstance(c, (int, float)):
            checks.append(Check(name, float(b), None, None, False, "(missing in candidate)"))
            continue
        drop = round(float(b) - float(c), 4)
        if name in m.LOWER_IS_BETTER:
            drop = -drop
        checks.append(Check(name, float(b), float(c), drop, drop <= max_drop + 1e-9))
    regressed: dict[str, list[str]] = {}
    for key in sorted(set(candidate.correct) & set(baseline.correct)):
        for f in m.FLIP_FIELDS:
            cb, cc = baseline.correct[key].get(f), candidate.correct[key].get(f)
            if cb is not None and cc is not None and cb >= 0.5 > cc:
                regressed.setdefault(f, []).append(key)
    passed = not problems and all(c.passed for c in checks)
    return GateResult(passed, checks, max_drop, problems, regressed)


def _f(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) else None
