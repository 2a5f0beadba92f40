"""`trova assistant …` commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trova.cli import app

runner = CliRunner()


@pytest.fixture(autouse=True)
def _db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TROVA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


def test_agent_eval_offline_passes_and_is_stored() -> None:
    r = runner.invoke(app, ["assistant", "agent", "--json", "--only", "injection"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["failed"] == 0 and report["passed"] == 1 and report["run_id"]
    r = runner.invoke(app, ["assistant", "traces", "--json"])
    assert json.loads(r.stdout)[0]["surface"] == "eval"


def test_failing_scenario_exits_1(tmp_path: Path) -> None:
    file = tmp_path / "fail.yaml"
    file.write_text("name: f\nuser: hi\nexpect: {must_call: [price_stats]}\n")
    r = runner.invoke(app, ["assistant", "agent", "--scenarios", str(file)])
    assert (
        r.exit_code == 1 and "FAIL f" in r.output and "expected a call to price_stats" in r.output
    )


def test_bad_provider_is_one_line_error() -> None:
    r = runner.invoke(app, ["assistant", "agent", "--provider", "openai:gpt-4o-mini"])
    assert r.exit_code == 2 and "Error: No API key for openai" in r.output
    r = runner.invoke(app, ["assistant", "ask", "bikes"])
    assert r.exit_code == 2 and "Error: The assistant needs an LLM" in r.output


def test_tool_rollout_from_the_cli() -> None:
    r = runner.invoke(app, ["assistant", "tool", "price_stats", "--off"])
    assert r.exit_code == 0 and "price_stats: off" in r.output
    r = runner.invoke(app, ["assistant", "tool", "get_listing", "--share", "0.25"])
    assert "25% of visitors" in r.output
    states = {
        s["tool"]: s
        for s in json.loads(runner.invoke(app, ["assistant", "tools", "--json"]).stdout)
    }
    assert (
        states["price_stats"]["enabled"] is False and states["get_listing"]["traffic_share"] == 0.25
    )
    r = runner.invoke(app, ["assistant", "tool", "send_everything", "--on"])
    assert r.exit_code == 2 and "Error: No tool named" in r.output


def test_ask_with_the_scripted_provider() -> None:
    r = runner.invoke(app, ["assistant", "ask", "a guitar", "--provider", "scripted", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["status"] == "ok" and out["tool_calls"][0][0] == "search_listings"
