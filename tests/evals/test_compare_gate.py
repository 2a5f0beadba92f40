"""Compare two runs and gate a candidate against a baseline (a run, a label or a file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.evals.conftest import SMALL, make_dataset
from trova.config import Settings
from trova.evals import datasets, runner, store
from trova.evals.compare import bootstrap_ci, compare
from trova.evals.gate import gate


def _run(
    engine: Engine, settings: Settings, ref: str, provider: str, label: str | None = None
) -> str:
    with Session(engine) as session:
        version = datasets.resolve(session, ref)
    run = runner.run_sync(
        engine, settings, version, runner.RunOptions(provider=provider, label=label)
    )
    return run.id


@pytest.fixture
def runs(sqlite_engine: Engine, sqlite_settings: Settings, small_dataset: Path) -> dict[str, str]:
    datasets.import_path(sqlite_engine, small_dataset, "small")
    return {
        "good": _run(sqlite_engine, sqlite_settings, "small", "fake", label="production"),
        "good2": _run(sqlite_engine, sqlite_settings, "small", "fake"),
        "empty": _run(sqlite_engine, sqlite_settings, "small", "fake:empty"),
    }


def _load(engine: Engine, ref: str) -> store.RunData:
    with Session(engine) as session:
        return store.load(session, ref)


def test_compare_shows_deltas_with_intervals_and_flipped_cases(
    sqlite_engine: Engine, runs: dict[str, str]
) -> None:
    result = compare(_load(sqlite_engine, runs["good"]), _load(sqlite_engine, runs["empty"]))
    deltas = {d.metric: d for d in result.deltas}
    assert deltas["validity"].delta == -1.0 and deltas["validity"].significant
    assert deltas["validity"].better is False
    assert deltas["empty_field_rate"].delta == 1.0 and deltas["empty_field_rate"].better is False
    # every case the good run had right is now wrong; nothing flipped the other way
    assert result.regressions["validity"] == sorted(SMALL)
    assert result.fixes == {} and result.shared_cases == len(SMALL)
    same = compare(_load(sqlite_engine, runs["good"]), _load(sqlite_engine, runs["good2"]))
    assert all(d.delta == 0 for d in same.deltas if d.delta is not None)
    assert not same.regressions and not same.fixes


def test_bootstrap_is_seeded_and_brackets_the_mean() -> None:
    pairs = [(0.0, 1.0)] * 30 + [(1.0, 1.0)] * 30
    first = bootstrap_ci(pairs, seed=3)
    assert first == bootstrap_ci(pairs, seed=3)
    assert first is not None and first[0] < 0.5 < first[1] and first[0] > 0


def test_gate_passes_when_nothing_drops_and_fails_with_a_reason(
    sqlite_engine: Engine, runs: dict[str, str]
) -> None:
    baseline = _load(sqlite_engine, "production")  # a label
    ok = gate(_load(sqlite_engine, runs["good2"]), baseline, max_drop=0.02)
    assert ok.passed and {c.metric for c in ok.checks} >= {
        "category_accuracy",
        "overall",
        "validity",
    }
    candidate = _load(sqlite_engine, runs["empty"])
    bad = gate(candidate, baseline, max_drop=0.02)
    assert not bad.passed
    text = bad.text(candidate, baseline)
    assert "FAIL" in text and "validity" in text and "right -> wrong" in text
    assert len(text.splitlines()) < 30  # one screen


def test_gate_against_a_committed_baseline_file(
    sqlite_engine: Engine, sqlite_settings: Settings, runs: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "baselines" / "small-fake.json"
    store.write_baseline(_load(sqlite_engine, runs["good"]), path, reason="first baseline")
    doc = json.loads(path.read_text())
    assert doc["reason"] == "first baseline" and set(doc["cases"]) == set(SMALL)
    from_file = _load(sqlite_engine, str(path))
    assert gate(_load(sqlite_engine, runs["good2"]), from_file).passed
    failing = gate(_load(sqlite_engine, runs["empty"]), from_file)
    assert not failing.passed and failing.regressed_cases["validity"] == sorted(SMALL)
    # a changed dataset needs a deliberately rewritten baseline
    datasets.import_path(sqlite_engine, make_dataset(tmp_path / "v2", SMALL[:3]), "small")
    newer = _load(sqlite_engine, _run(sqlite_engine, sqlite_settings, "small", "fake"))
    moved = gate(newer, from_file)
    assert not moved.passed and "dataset version" in moved.problems[0]
    assert gate(newer, from_file, allow_dataset_change=True).problems == []


def test_bad_baseline_files_and_unknown_runs_are_named(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    bogus = tmp_path / "x.json"
    bogus.write_text('{"hello": 1}')
    with pytest.raises(store.RunNotFound, match="not a Trova eval baseline"):
        _load(sqlite_engine, str(bogus))
    with pytest.raises(store.RunNotFound, match="No baseline file"):
        _load(sqlite_engine, str(tmp_path / "missing.json"))
    with pytest.raises(store.RunNotFound, match="No eval run or label 'nope'"):
        _load(sqlite_engine, "nope")
