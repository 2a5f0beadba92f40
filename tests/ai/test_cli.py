"""`trova prefill` and `trova prompts`: JSON for scripts, one-line errors, exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.ai.conftest import PHOTOS
from trova.cli import app

runner = CliRunner()


def test_prefill_json_has_the_api_shape(model_cache: object) -> None:
    r = runner.invoke(app, ["prefill", str(PHOTOS / "violin.jpg"), "--provider", "fake", "--json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert {"ai_call_id", "draft", "warning", "status"} <= body.keys()
    assert body["draft"]["category"]


def test_prefill_bad_input_is_one_line_and_nonzero(tmp_path: object) -> None:
    r = runner.invoke(app, ["prefill", "/nonexistent.jpg"])
    assert r.exit_code == 1 and r.stderr.strip().count("\n") == 0 and "no such file" in r.stderr
    r = runner.invoke(app, ["prefill", __file__])
    assert r.exit_code == 2 and "not a photo" in r.stderr and "Traceback" not in r.output
    r = runner.invoke(app, ["prefill", str(PHOTOS / "violin.jpg"), "--provider", "gpt"])
    assert r.exit_code == 2 and "Unknown provider" in r.stderr
    r = runner.invoke(
        app, ["prefill", str(PHOTOS / "violin.jpg"), "--provider", "fake", "--prompt", "x@v1"]
    )
    assert r.exit_code == 2 and "No prompt named" in r.stderr


def test_prefill_provider_failure_exits_nonzero_with_warning() -> None:
    r = runner.invoke(
        app, ["prefill", str(PHOTOS / "violin.jpg"), "--provider", "fake:error", "--json"]
    )
    assert r.exit_code == 1
    assert json.loads(r.stdout)["warning"]


def test_prompts_list_show_promote_diff() -> None:
    r = runner.invoke(app, ["prompts", "list", "--json"])
    rows = json.loads(r.stdout)
    assert any(row["version"] == "v1" for row in rows)
    r = runner.invoke(app, ["prompts", "promote", "extract_listing@v1", "--label", "production"])
    assert r.exit_code == 0 and "-> v1" in r.stdout
    rows = json.loads(runner.invoke(app, ["prompts", "list", "--json"]).stdout)
    assert [row["version"] for row in rows if "production" in row["labels"]] == ["v1"]
    r = runner.invoke(app, ["prompts", "show", "extract_listing@production", "--rendered"])
    assert "bicycles/road" in r.stdout
    r = runner.invoke(app, ["prompts", "diff", "extract_listing@v1", "extract_listing@v2"])
    assert r.stdout.startswith("--- extract_listing@v1")
    r = runner.invoke(app, ["prompts", "show", "extract_listing@v42"])
    assert r.exit_code == 2 and "v42" in r.stderr
