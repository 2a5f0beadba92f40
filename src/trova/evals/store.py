"""Run store: find runs (id, prefix, label, `latest`), their results, their metrics; and the
committed baseline files the CI gate compares against."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from trova.db._time import utcnow
from trova.evals import metrics as m
from trova.evals.models import EvalCase, EvalResult, EvalRun

BASELINE_FORMAT = "trova-eval-baseline/1"


class RunNotFound(LookupError):
    pass


@dataclass
class RunData:
    """A run as compare/gate/report need it: lineage, metrics, per-case scores.

    `case_scores` maps case key -> the field scores (averaged over trials when there were
    several); `correct` maps case key -> {field: 1.0/0.0 (or a trial fraction)}.
    """

    ref: str  # run id, or the baseline file path
    lineage: dict[str, Any]
    metrics: dict[str, Any]
    spread: dict[str, Any] = field(default_factory=dict)
    correct: dict[str, dict[str, float]] = field(default_factory=dict)
    case_scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    critical: list[str] = field(default_factory=list)
    status: str = "completed"

    @property
    def dataset_version(self) -> str:
        return str(self.lineage.get("dataset_version_id", ""))


def get_run(session: Session, ref: str) -> EvalRun:
    """A run by id, unique id prefix (6+), label (newest completed run with it) or `latest`."""
    ref = ref.strip()
    if ref == "latest":
        run = session.exec(select(EvalRun).order_by(col(EvalRun.created_at).desc())).first()
        if run is None:
            raise RunNotFound("No eval runs yet: start one with `trova eval run`.")
        return run
    run = session.get(EvalRun, ref)
    if run is not None:
        return run
    labelled = session.exec(
        select(EvalRun)
        .where(EvalRun.label == ref, EvalRun.status == "completed")
        .order_by(col(EvalRun.created_at).desc())
    ).first()
    if labelled is not None:
        return labelled
    if len(ref) >= 6:
        found = session.exec(select(EvalRun).where(col(EvalRun.id).startswith(ref))).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise RunNotFound(f"Run prefix {ref!r} is ambiguous ({len(found)} runs); type more.")
    raise RunNotFound(
        f"No eval run or label {ref!r}; list runs with `trova eval runs` "
        "(a run id, a unique prefix, a label or `latest`)."
    )


def list_runs(session: Session, limit: int = 20) -> list[EvalRun]:
    return list(
        session.exec(select(EvalRun).order_by(col(EvalRun.created_at).desc()).limit(limit)).all()
    )


def results(session: Session, run_id: str) -> list[EvalResult]:
    return list(
        session.exec(
            select(EvalResult)
            .where(EvalResult.run_id == run_id)
            .order_by(col(EvalResult.case_key), col(EvalResult.trial))
        ).all()
    )


def cases_meta(session: Session, version_id: str) -> dict[str, EvalCase]:
    rows = session.exec(select(EvalCase).where(EvalCase.version_id == version_id)).all()
    return {row.key: row for row in rows}


def compute_metrics(session: Session, run: EvalRun) -> tuple[dict[str, Any], dict[str, Any]]:
    """Metrics from the stored results (per trial, then mean and spread over trials)."""
    meta = cases_meta(session, run.dataset_version_id)
    by_trial: dict[int, list[dict[str, Any]]] = {}
    for r in results(session, run.id):
        case = meta.get(r.case_key)
        by_trial.setdefault(r.trial, []).append(
            {
                "scores": r.scores,
                "latency_ms": r.latency_ms,
                "cost_usd": r.cost_usd,
                "tags": case.tags if case else [],
            }
        )
    if not by_trial:
        return {"n_cases": 0}, {}
    per_trial = [m.aggregate(rows) for _, rows in sorted(by_trial.items())]
    return m.combine_trials(per_trial)


def lineage(run: EvalRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "label": run.label,
        "status": run.status,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "dataset": run.dataset_name,
        "dataset_version": f"v{run.dataset_version_number}",
        "dataset_version_id": run.dataset_version_id,
        "provider": run.provider_spec,
        "model": run.model,
        "prompt": f"{run.prompt_name}@{run.prompt_version}",
        "prompt_hash": run.prompt_hash,
        "code_version": run.code_version,
        "settings": run.settings,
        "concurrency": run.concurrency,
        "trials": run.trials,
        "n_cases": run.n_cases,
        "n_done": run.n_done,
        "wall_s": run.wall_s,
        "cost_usd": run.cost_usd,
    }


def run_data(session: Session, run: EvalRun) -> RunData:
    meta = cases_meta(session, run.dataset_version_id)
    per_case: dict[str, list[dict[str, Any]]] = {}
    for r in results(session, run.id):
        per_case.setdefault(r.case_key, []).append(r.scores)
    correct: dict[str, dict[str, float]] = {}
    case_scores: dict[str, dict[str, Any]] = {}
    for key, trials in per_case.items():
        correct[key] = {}
        for f in m.FLIP_FIELDS:
            values = [m.correct(s, f) for s in trials]
            known = [float(v) for v in values if v is not None]
            if known:
                correct[key][f] = round(sum(known) / len(known), 4)
        case_scores[key] = {
            name: _mean([get(s) for s in trials]) for name, get in m.CASE_METRICS.items()
        }
    return RunData(
        ref=run.id,
        lineage=lineage(run),
        metrics=run.metrics or compute_metrics(session, run)[0],
        spread=run.spread or {},
        correct=correct,
        case_scores=case_scores,
        critical=m.critical_fields(c.criticality for c in meta.values()),
        status=run.status,
    )


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return round(sum(known) / len(known), 4) if known else None


def is_baseline_file(ref: str) -> bool:
    return ref.endswith(".json") or Path(ref).is_file()


def write_baseline(data: RunData, path: Path, reason: str | None = None) -> dict[str, Any]:
    """Freeze a run's metrics and per-case correctness into a JSON file to commit."""
    if data.status != "completed":
        raise ValueError(f"Run {data.ref} is {data.status}; a baseline needs a completed run.")
    doc = {
        "format": BASELINE_FORMAT,
        "written_at": utcnow().isoformat(),
        "reason": reason,
        "lineage": {
            k: v for k, v in data.lineage.items() if k not in ("finished_at", "n_done", "label")
        },
        "critical_fields": data.critical,
        "metrics": data.metrics,
        "cases": {
            key: {f: v for f, v in sorted(fields.items())}
            for key, fields in sorted(data.correct.items())
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1, sort_keys=False) + "\n", "utf-8")
    return doc


def read_baseline(path: Path) -> RunData:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise RunNotFound(f"No baseline file at {path}.") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RunNotFound(f"Cannot read baseline {path}: {exc}.") from None
    if not isinstance(doc, dict) or doc.get("format") != BASELINE_FORMAT:
        raise RunNotFound(f"{path} is not a Trova eval baseline (format {BASELINE_FORMAT}).")
    return RunData(
        ref=str(path),
        lineage=doc.get("lineage", {}),
        metrics=doc.get("metrics", {}),
        correct=doc.get("cases", {}),
        critical=doc.get("critical_fields", []),
    )


def load(session: Session, ref: str) -> RunData:
    """A run (id, prefix, label, latest) or a baseline file, as RunData."""
    if is_baseline_file(ref):
        return read_baseline(Path(ref))
    return run_data(session, get_run(session, ref))
