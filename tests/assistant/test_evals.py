"""Agent evals: the scenario files pass offline, and the assertions catch bad agents."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from sqlmodel import Session, select

from trova.assistant import evals
from trova.assistant.models import AgentEvalRun, AgentTrace
from trova.config import Settings
from trova.db.engine import make_engine


@pytest.fixture
def store(sqlite_url: str, tmp_path: Path) -> tuple[Settings, object]:
    settings = Settings(data_dir=tmp_path / "data", database_url=sqlite_url, secret_key="t")
    return settings, make_engine(sqlite_url)


def run(scenarios: list[evals.Scenario], store: tuple[Settings, object]) -> evals.EvalReport:
    settings, engine = store
    return asyncio.run(
        evals.run_eval(scenarios, settings=settings, store_engine=engine)  # type: ignore[arg-type]
    )


def scenario(tmp_path: Path, data: dict[str, object]) -> list[evals.Scenario]:
    file = tmp_path / "case.yaml"
    file.write_text(yaml.safe_dump(data))
    return evals.load_scenarios(file)


def test_every_scenario_file_passes_offline(store: tuple[Settings, object]) -> None:
    scenarios = evals.load_scenarios()
    assert len(scenarios) >= 6
    assert any(s.script for s in scenarios) and any(not s.script for s in scenarios)
    report = run(scenarios, store)
    failures = {r.name: r.failures for r in report.results if not r.passed}
    assert failures == {}
    headline = next(r for r in report.results if r.name == "road-bike-under-200-ask-seller")
    assert [n for n, _ in headline.tool_calls] == [
        "search_listings",
        "get_listing",
        "draft_message",
    ]
    assert headline.pending == 1
    _, engine = store
    with Session(engine) as session:  # type: ignore[arg-type]
        stored = session.exec(select(AgentEvalRun)).one()
        assert (stored.scenarios, stored.passed, stored.failed) == (
            len(scenarios),
            len(scenarios),
            0,
        )
        assert stored.id == report.run_id
        traces = session.exec(select(AgentTrace).where(AgentTrace.surface == "eval")).all()
        assert len(traces) == sum(len(r.trace_ids) for r in report.results)


def test_assertions_catch_a_misbehaving_agent(
    store: tuple[Settings, object], tmp_path: Path
) -> None:
    bad = scenario(
        tmp_path,
        {
            "name": "bad-agent",
            "user": "a road bike under 200, ask the seller",
            "script": [
                {"call": "search_listings", "args": {"query": "road bike"}},
                {
                    "call": "search_listings",
                    "args": {"query": "bike", "filters": {"max_price": 900}},
                },
                {"answer": "Take [#3] or [#999999]."},
            ],
            "expect": {
                "must_call": ["draft_message"],
                "must_not_call": ["search_listings"],
                "args": [{"tool": "search_listings", "path": "filters.max_price", "lte": 200}],
                "cited_max_price": 200,
                "min_pending": 1,
                "max_rounds": 2,
                "answer_contains": ["confirm"],
            },
        },
    )
    [result] = run(bad, store).results
    assert not result.passed
    text = "\n".join(result.failures)
    for expected in (
        "expected a call to draft_message",
        "search_listings must not be called",
        "the argument is missing",
        "expected ≤ 200",
        "cites listings that do not exist: [999999]",
        "costs more than €200",  # listing 3 is the €1,250 carbon bike
        "at least 1 drafted message",
        "at most 2 allowed",
        "should mention 'confirm'",
    ):
        assert expected in text, expected


def test_bad_scenario_files_are_reported_with_their_name(tmp_path: Path) -> None:
    with pytest.raises(evals.ScenarioError, match=r"case\.yaml"):
        scenario(tmp_path, {"name": "x", "user": "hi", "expect": {"must_call": ["send_mail"]}})
    with pytest.raises(evals.ScenarioError, match=r"case\.yaml"):
        scenario(tmp_path, {"name": "x"})
    with pytest.raises(evals.ScenarioError, match="No scenarios"):
        evals.load_scenarios(only="nothing-like-this")


def test_scenario_provider_must_be_usable(store: tuple[Settings, object]) -> None:
    from trova.ai.providers import ProviderConfigError

    settings, engine = store
    with pytest.raises(ProviderConfigError):
        asyncio.run(
            evals.run_eval(
                evals.load_scenarios()[:1],
                settings=settings,
                store_engine=engine,  # type: ignore[arg-type]
                provider="anthropic:claude-haiku-4-5",
            )
        )
