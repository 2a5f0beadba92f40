"""Eval runs through the real prefill pipeline: results, lineage, isolation, Ctrl-C, trials."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests.evals.conftest import SMALL
from trova.ai.models import AICall
from trova.ai.registry import resolve
from trova.config import Settings
from trova.evals import datasets, runner, store
from trova.evals.models import EvalResult, EvalRun


def _run(engine: Engine, settings: Settings, folder: Path, **options: object) -> EvalRun:
    version, _ = datasets.import_path(engine, folder, "small")
    return runner.run_sync(engine, settings, version, runner.RunOptions(**options))  # type: ignore[arg-type]


def test_a_run_stores_every_result_with_lineage(
    eval_engine: Engine, eval_settings: Settings, small_dataset: Path
) -> None:
    run = _run(eval_engine, eval_settings, small_dataset, provider="fake", concurrency=3)
    assert run.status == "completed" and run.n_done == len(SMALL)
    prompt = resolve(eval_settings.prefill_prompt)
    assert (run.prompt_name, run.prompt_version, run.prompt_hash) == (
        prompt.name,
        prompt.version,
        prompt.content_hash,
    )
    assert run.model == "fake-1" and run.provider_spec == "fake"
    assert run.settings["database"] == "sandbox" and run.settings["prefill_retries"] == 2
    with Session(eval_engine) as session:
        rows = store.results(session, run.id)
        version = datasets.resolve(session, "small")
    assert run.dataset_version_id == version.version_id
    assert sorted(r.case_key for r in rows) == sorted(SMALL)
    assert all(r.status == "ok" and r.draft and r.raw_output for r in rows)
    assert set(runner.summary(run)["metrics"]) >= {
        "category_accuracy",
        "category_top3",
        "color_accuracy",
        "validity",
        "overall",
    }
    assert run.metrics and run.metrics["validity"] == 1.0 and run.metrics["n_cases"] == len(SMALL)


def test_sandbox_runs_leave_production_ai_calls_alone(
    sqlite_engine: Engine, sqlite_settings: Settings, small_dataset: Path
) -> None:
    _run(sqlite_engine, sqlite_settings, small_dataset, provider="fake")
    with Session(sqlite_engine) as session:
        assert session.exec(select(func.count()).select_from(AICall)).one() == 0


def test_live_runs_mark_their_ai_calls_as_eval_traffic(
    sqlite_engine: Engine, sqlite_settings: Settings, small_dataset: Path
) -> None:
    run = _run(sqlite_engine, sqlite_settings, small_dataset, provider="fake", live=True)
    with Session(sqlite_engine) as session:
        calls = session.exec(select(AICall)).all()
        linked = {r.ai_call_id for r in store.results(session, run.id)}
    assert len(calls) == len(SMALL) and {c.surface for c in calls} == {"eval"}
    assert linked == {c.id for c in calls}


def test_provider_failures_are_scored_as_wrong_not_dropped(
    sqlite_engine: Engine, sqlite_settings: Settings, small_dataset: Path
) -> None:
    run = _run(sqlite_engine, sqlite_settings, small_dataset, provider="fake:error", retries=1)
    assert run.status == "completed" and run.n_done == len(SMALL)
    assert run.metrics and run.metrics["validity"] == 0.0 and run.metrics["overall"] == 0.0
    with Session(sqlite_engine) as session:
        rows = store.results(session, run.id)
    assert {r.status for r in rows} == {"error"} and all(r.attempts == 2 for r in rows)
    assert "503" in (rows[0].error or "")


def test_trials_report_mean_and_spread(
    sqlite_engine: Engine, sqlite_settings: Settings, small_dataset: Path
) -> None:
    run = _run(sqlite_engine, sqlite_settings, small_dataset, provider="fake", trials=3)
    assert run.n_done == 3 * len(SMALL) and run.metrics and run.metrics["trials"] == 3
    # the fake provider is deterministic: no spread
    assert run.spread and run.spread["category_accuracy"]["std"] == 0.0


def test_ctrl_c_keeps_finished_results_and_marks_the_run_interrupted(
    sqlite_engine: Engine, sqlite_settings: Settings, small_dataset: Path
) -> None:
    version, _ = datasets.import_path(sqlite_engine, small_dataset, "small")
    options = runner.RunOptions(provider="fake:latency=0.2", concurrency=1, trials=5)
    prepared = runner.prepare(sqlite_engine, sqlite_settings, version, options)

    async def stop_midway() -> None:
        seen: list[int] = []
        task = asyncio.ensure_future(
            runner.execute(sqlite_engine, prepared, lambda done, _total: seen.append(done))
        )
        while len(seen) < 3:
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(stop_midway())
    with Session(sqlite_engine) as session:
        run = session.get(EvalRun, prepared.run_id)
        stored = session.exec(
            select(func.count()).where(EvalResult.run_id == prepared.run_id)
        ).one()
    assert run is not None and run.status == "interrupted"
    assert 3 <= stored < prepared.total and run.n_done == stored
    assert run.metrics and run.metrics["n_cases"] >= 1 and run.finished_at is not None


def test_bad_options_fail_before_anything_runs(
    sqlite_engine: Engine, sqlite_settings: Settings, small_dataset: Path
) -> None:
    version, _ = datasets.import_path(sqlite_engine, small_dataset, "small")
    with pytest.raises(runner.EvalError, match="Unknown provider 'gpt'"):
        runner.prepare(sqlite_engine, sqlite_settings, version, runner.RunOptions(provider="gpt"))
    with pytest.raises(runner.EvalError, match="No version or label 'v99'"):
        runner.prepare(
            sqlite_engine,
            sqlite_settings,
            version,
            runner.RunOptions(provider="fake", prompt="extract_listing@v99"),
        )
    with Session(sqlite_engine) as session:
        assert session.exec(select(func.count()).select_from(EvalRun)).one() == 0
