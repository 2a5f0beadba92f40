"""The local model through the eval runner, and the committed baseline the CI gate uses."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.evals.conftest import BASELINE, STARTER, make_dataset
from trova.config import Settings
from trova.evals import datasets, runner, store
from trova.evals.gate import gate
from trova.evals.manifest import case_hash, read_manifest, version_hash


def test_the_committed_baseline_matches_the_shipped_starter_dataset() -> None:
    """Editing the starter manifest without rewriting the baseline would break the CI gate."""
    doc = json.loads(BASELINE.read_text("utf-8"))
    cases = read_manifest(STARTER)
    current = version_hash(
        {spec.id: case_hash(spec, hashlib.sha256(img).hexdigest()) for spec, img in cases}
    )
    assert doc["lineage"]["dataset_version_id"] == current, (
        "evals/datasets/starter changed: rewrite the baseline with `trova eval baseline write`"
    )
    assert doc["lineage"]["provider"] == "local" and doc["reason"]
    assert set(doc["cases"]) == {spec.id for spec, _ in cases}
    assert doc["critical_fields"] == ["category", "title"]


def test_local_model_recognizes_clear_starter_photos(
    sqlite_engine: Engine, sqlite_settings: Settings, tmp_path: Path
) -> None:
    keys = ["basketball", "electric-guitar-black", "kids-tricycle", "trumpet"]
    version, _ = datasets.import_path(sqlite_engine, make_dataset(tmp_path / "d", keys), "clear")
    run = runner.run_sync(
        sqlite_engine, sqlite_settings, version, runner.RunOptions(provider="local", concurrency=2)
    )
    assert run.status == "completed" and run.model and run.model.startswith("efficientnet")
    assert run.metrics and run.metrics["validity"] == 1.0
    assert run.metrics["category_accuracy"] >= 0.75 and run.metrics["category_top3"] == 1.0
    with Session(sqlite_engine) as session:
        data = store.run_data(session, run)
        by_key = {r.case_key: r for r in store.results(session, run.id)}
    assert (
        by_key["trumpet"].draft
        and by_key["trumpet"].draft["category"] == "musical-instruments/wind"
    )
    # the same cases from the committed baseline: the gate sees no regression
    baseline = store.read_baseline(BASELINE)
    baseline.correct = {k: v for k, v in baseline.correct.items() if k in keys}
    result = gate(data, baseline, metrics=["validity"], allow_dataset_change=True)
    assert result.passed and not result.regressed_cases.get("category")
