"""`trova experiments …` and `trova simulate`: JSON for scripts, one-line errors, exit codes."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from trova.cli import app

runner = CliRunner()


def _json(args: list[str]) -> object:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_experiment_lifecycle_from_the_command_line() -> None:
    created = _json(
        [
            "experiments",
            "create",
            "prompt-v2",
            "--variant",
            "control=off",
            "--variant",
            "v2=fake+extract_listing@v2",
            "--weights",
            "80,20",
            "--json",
        ]
    )
    assert created["status"] == "draft"  # type: ignore[index]
    assert [(v["name"], v["weight"], v["prompt"]) for v in created["variants"]] == [  # type: ignore[index]
        ("control", 80.0, None),
        ("v2", 20.0, "extract_listing@v2"),
    ]
    assert _json(["experiments", "start", "prompt-v2", "--json"])["status"] == "running"  # type: ignore[index]
    ramped = _json(["experiments", "ramp", "prompt-v2", "v2=50", "--json"])
    assert [v["weight"] for v in ramped["variants"]] == [50.0, 50.0]  # type: ignore[index]
    listed = _json(["experiments", "list", "--json"])
    assert [e["name"] for e in listed] == ["prompt-v2"]  # type: ignore[union-attr]
    shown = _json(["experiments", "show", "prompt-v2", "--json"])
    for variant in shown["variants"]:  # type: ignore[index]
        assert {"publish_rate", "time_to_publish", "p_value"} <= variant.keys()
        assert {"value", "ci_low", "ci_high"} <= variant["publish_rate"].keys()
        assert {"median_s", "mean_s", "n"} <= variant["time_to_publish"].keys()
    assert shown["verdict"].startswith("Not enough data")  # type: ignore[index]
    assert [h["action"] for h in shown["history"]] == ["start", "ramp"]  # type: ignore[index]
    text = runner.invoke(app, ["experiments", "show", "prompt-v2"])
    assert text.exit_code == 0 and "Not enough data" in text.stdout
    assert _json(["experiments", "stop", "prompt-v2", "--json"])["status"] == "stopped"  # type: ignore[index]


def test_mistakes_are_one_line_errors_with_a_nonzero_exit() -> None:
    cases = [
        (["experiments", "create", "x", "--variant", "a=off"], "at least two variants"),
        (["experiments", "create", "x", "-v", "a=off", "-v", "b=gpt"], "Unknown provider 'gpt'"),
        (
            ["experiments", "create", "x", "-v", "a=off", "-v", "b=fake", "--weights", "50"],
            "--weights",
        ),
        (["experiments", "show", "nope"], "No experiment named 'nope'"),
        (["experiments", "ramp", "nope", "a=b"], "Bad weight"),
        (["simulate", "--sellers", "1", "--ai-provider", "gpt"], "Unknown provider"),
    ]
    for args, message in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 2, (args, r.output)
        assert r.stderr.startswith("Error: ") and message in r.stderr, (args, r.stderr)
        assert r.stderr.strip().count("\n") == 0 and "Traceback" not in r.output


def test_simulate_drives_the_real_flow_and_stays_out_of_real_results() -> None:
    r = runner.invoke(app, ["simulate", "--sellers", "16", "--ai-provider", "fake", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["simulation"] is True and out["failed"] == 0, out["errors"]
    assert out["published"] + out["abandoned"] == 16
    data = out["results"]
    assert data["population"] == "simulated"
    assert data["experiment"].startswith("sim-fake-vs-off-")
    by_name = {v["name"]: v for v in data["variants"]}
    assert set(by_name) == {"off", "fake"}
    assert sum(v["flows"] for v in by_name.values()) == 16
    assert sum(v["published"] for v in by_name.values()) == out["published"]
    assert by_name["off"]["ai"]["calls"] == 0
    assert by_name["fake"]["ai"]["calls"] == by_name["fake"]["flows"] > 0
    # synthetic sellers fill the empty form slower than a pre-filled one
    off_t, ai_t = by_name["off"]["time_to_publish"], by_name["fake"]["time_to_publish"]
    assert off_t["median_s"] > 120 and ai_t["n"] > 0
    # the same experiment's real results know nothing of the simulation
    real = _json(["experiments", "show", data["experiment"], "--json"])
    assert [v["flows"] for v in real["variants"]] == [0, 0]  # type: ignore[index]
    # a second run reuses the running experiment
    again = runner.invoke(app, ["simulate", "--sellers", "2", "--ai-provider", "fake", "--json"])
    assert json.loads(again.stdout)["experiment"] == data["experiment"]
