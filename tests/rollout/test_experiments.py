"""Experiment rules: variants, weights, lifecycle, ramps and pauses with their history."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from trova.rollout import experiments
from trova.rollout.experiments import ExperimentError, VariantSpec


def test_variant_spec_parses_provider_and_prompt() -> None:
    assert VariantSpec.parse("control=off") == VariantSpec("control", "off")
    assert VariantSpec.parse("v2=openai:gpt-4o-mini+extract_listing@v2") == VariantSpec(
        "v2", "openai:gpt-4o-mini", "extract_listing@v2"
    )
    assert VariantSpec.parse("l=local -> fake+extract_listing@production").prompt == (
        "extract_listing@production"
    )
    url = "vl=openai-compatible:qwen@http://localhost:8000/v1"
    assert VariantSpec.parse(url).provider == "openai-compatible:qwen@http://localhost:8000/v1"
    with pytest.raises(ExperimentError, match="NAME=PROVIDER"):
        VariantSpec.parse("just-a-name")


@pytest.mark.parametrize(
    ("variants", "kwargs", "message"),
    [
        ([VariantSpec("a", "off")], {}, "at least two variants"),
        ([VariantSpec("a", "off"), VariantSpec("a", "fake")], {}, "different"),
        ([VariantSpec("a", "off"), VariantSpec("b", "gpt4")], {}, "Unknown provider 'gpt4'"),
        (
            [VariantSpec("a", "off", weight=60), VariantSpec("b", "fake", weight=60)],
            {},
            "add up to 100",
        ),
        ([VariantSpec("a", "off"), VariantSpec("b", "fake", "extract_listing@v9")], {}, "v9"),
        ([VariantSpec("a", "off"), VariantSpec("b", "fake")], {"control": "c"}, "control"),
        ([VariantSpec("A b", "off"), VariantSpec("b", "fake")], {}, "Bad variant name"),
    ],
)
def test_create_refuses_bad_experiments_with_a_sentence(
    engine: Engine, variants: list[VariantSpec], kwargs: dict[str, str], message: str
) -> None:
    with Session(engine) as session, pytest.raises(ExperimentError, match=message):
        experiments.create(session, "bad", variants, **kwargs)  # type: ignore[arg-type]


def test_lifecycle_and_ramp_history(engine: Engine) -> None:
    with Session(engine, expire_on_commit=False) as session:
        view = experiments.create(
            session,
            "prompt-v2",
            [
                VariantSpec("control", "off"),
                VariantSpec("v1", "fake", "extract_listing@v1"),
                VariantSpec("v2", "fake", "extract_listing@v2"),
            ],
        )
        assert [v.weight for v in view.variants] == [33.34, 33.33, 33.33]
        assert view.control.name == "control"
        with pytest.raises(ExperimentError, match="exists already"):
            experiments.create(
                session, "prompt-v2", [VariantSpec("a", "off"), VariantSpec("b", "fake")]
            )
        with pytest.raises(ExperimentError, match="not running"):
            experiments.stop(session, "prompt-v2")
        experiments.start(session, "prompt-v2")
        # the control takes what the named variants leave
        view = experiments.ramp(session, "prompt-v2", {"v1": 10, "v2": 10})
        assert {v.name: v.weight for v in view.variants} == {
            "control": 80,
            "v1": 10,
            "v2": 10,
        }
        with pytest.raises(ExperimentError, match="add up to 100"):
            experiments.ramp(session, "prompt-v2", {"v1": 90, "v2": 90})
        with pytest.raises(ExperimentError, match="No variant 'v3'"):
            experiments.ramp(session, "prompt-v2", {"v3": 10})
        experiments.pause_variant(session, "prompt-v2", "v2", "guardrail: test")
        with pytest.raises(ExperimentError, match="control cannot be paused"):
            experiments.pause_variant(session, "prompt-v2", "control", "no")
        view = experiments.get(session, "prompt-v2")
        assert experiments.effective_allocation(view.variants) == {
            "control": 90,
            "v1": 10,
            "v2": 0,
        }
        experiments.ramp(session, "prompt-v2", {"v2": 5})  # resumes v2
        view = experiments.stop(session, "prompt-v2", reason="done")
        with pytest.raises(ExperimentError, match="create a new one"):
            experiments.start(session, "prompt-v2")
        history = experiments.history(session, view.experiment.id or 0)
        assert [h.action for h in history] == ["start", "ramp", "pause", "resume", "stop"]
        assert history[2].reason == "v2: guardrail: test"
        assert history[3].allocation == {"control": 85, "v1": 10, "v2": 5}
