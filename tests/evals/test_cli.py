"""`trova eval …` as a person or CI script uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.evals.conftest import SMALL
from trova.cli import app

cli = CliRunner()


def trova(*args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, ["eval", *args])
    return result.exit_code, result.stdout, result.stderr


def test_run_json_has_the_documented_shape(small_dataset: Path) -> None:
    code, out, _ = trova("run", "--dataset", str(small_dataset), "--provider", "fake", "--json")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["run_id"]) == 32 and doc["status"] == "completed"
    for key in ("category_accuracy", "category_top3", "color_accuracy", "validity", "overall"):
        assert isinstance(doc["metrics"][key], float)
    assert doc["dataset"] == "small@v1" and doc["n_done"] == len(SMALL)


def test_datasets_lists_the_shipped_starter_set() -> None:
    code, out, _ = trova("datasets", "--json")
    assert code == 0
    starter = next(d for d in json.loads(out) if d["name"] == "starter")
    assert starter["versions"][0]["version"] == "v1" and starter["versions"][0]["cases"] >= 60


def test_import_export_and_errors(small_dataset: Path, tmp_path: Path) -> None:
    code, out, _ = trova("import", str(small_dataset), "--name", "mine", "--json")
    assert code == 0 and json.loads(out)["created"] is True
    code, out, _ = trova("import", str(small_dataset), "--name", "mine")
    assert code == 0 and "nothing new" in out
    code, out, _ = trova("export", "mine@v1", str(tmp_path / "out"))
    assert code == 0 and (tmp_path / "out" / "manifest.jsonl").is_file()
    code, _, err = trova("import", str(tmp_path / "nothing-here"), "--name", "x")
    assert code == 1 and err.startswith("Error: no such folder")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.jsonl").write_text('{"id": "a"}\n')
    code, _, err = trova("import", str(tmp_path / "broken"), "--name", "x")
    assert code == 2 and "line 1" in err and "Traceback" not in err


def test_unknown_provider_or_dataset_is_one_sentence(small_dataset: Path) -> None:
    code, _, err = trova("run", "--dataset", str(small_dataset), "--provider", "gpt-9")
    assert code == 2 and err.startswith("Error: Unknown provider")
    code, _, err = trova("run", "--dataset", "nope@v3", "--provider", "fake")
    assert code == 2 and "No dataset named 'nope'" in err


def test_run_compare_gate_report_baseline_workflow(small_dataset: Path, tmp_path: Path) -> None:
    def run(provider: str, *extra: str) -> str:
        code, out, _ = trova(
            "run", "--dataset", str(small_dataset), "--provider", provider, "--json", *extra
        )
        assert code == 0
        return str(json.loads(out)["run_id"])

    prod = run("fake", "--label", "production")
    worse = run("fake:empty")
    code, out, _ = trova("compare", "production", worse, "--json")
    assert code == 0
    doc = json.loads(out)
    assert doc["right_to_wrong"]["validity"] == sorted(SMALL)
    baseline = tmp_path / "baseline.json"
    code, out, _ = trova("baseline", "write", prod, "--out", str(baseline), "--reason", "test")
    assert code == 0 and baseline.is_file()
    code, out, _ = trova("gate", "--candidate", prod, "--baseline", str(baseline))
    assert code == 0 and "PASS" in out
    code, _, err = trova("gate", "--candidate", worse, "--baseline", "production")
    assert code == 1 and "FAIL" in err and "validity" in err
    # run + gate in one command (what CI uses)
    code, out, _ = trova(
        "run",
        "--dataset",
        str(small_dataset),
        "--provider",
        "fake",
        "--gate",
        str(baseline),
        "--max-drop",
        "0.02",
    )
    assert code == 0 and "Eval gate PASS" in out
    code, _, _ = trova(
        "run", "--dataset", str(small_dataset), "--provider", "fake:empty", "--gate", str(baseline)
    )
    assert code == 1
    report = tmp_path / "report.html"
    code, out, _ = trova("report", worse, "--compare", "production", "--out", str(report))
    assert code == 0
    html = report.read_text()
    assert "<svg" in html and html.count("data:image/jpeg;base64,") == len(SMALL)
    assert "Right → wrong" in html and "http" not in html.split("<body>")[0]
    code, out, _ = trova("runs")
    assert code == 0 and prod[:12] in out and "[production]" in out
    code, _, err = trova("show", "no-such-run")
    assert code == 2 and err.startswith("Error: No eval run")


@pytest.mark.parametrize(
    "args", [["report", "latest"], ["gate", "--candidate", "latest", "--baseline", "x.json"]]
)
def test_commands_without_runs_say_so(args: list[str], tmp_path: Path) -> None:
    code, _, err = trova(*args)
    assert code == 2 and err.startswith("Error: No eval runs yet")
