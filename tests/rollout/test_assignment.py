"""Sticky, deterministic assignment; splits within tolerance; ramps never reshuffle."""

from __future__ import annotations

import pytest
from scipy import stats as sp
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.rollout.conftest import start_experiment
from trova.rollout import assign_prefill, experiments
from trova.rollout.assignment import bucket, pick
from trova.rollout.models import Exposure


def test_bucket_is_a_pure_function_of_salt_and_unit() -> None:
    assert bucket("exp-a", "seller:1") == bucket("exp-a", "seller:1")
    assert 0 <= bucket("exp-a", "seller:1") < 10_000
    # another experiment (salt) reshuffles: about half of 2000 units land on the other side
    same = sum(
        (bucket("exp-a", f"seller:{i}") < 5000) == (bucket("exp-b", f"seller:{i}") < 5000)
        for i in range(2000)
    )
    assert 850 < same < 1150
    assert pick(0, [("a", 50), ("b", 50)]) == "a"
    assert pick(4999, [("a", 50), ("b", 50)]) == "a"
    assert pick(5000, [("a", 50), ("b", 50)]) == "b"
    assert pick(9999, [("a", 0), ("b", 100)]) == "b"
    assert pick(0, [("a", 0), ("b", 100)]) == "b"


def test_hashing_splits_units_as_allocated() -> None:
    n = 20_000
    in_b = sum(pick(bucket("split", f"u{i}"), [("a", 30), ("b", 70)]) == "b" for i in range(n))
    # a binomial test: the split is what the weights say (a broken hash fails this)
    assert sp.binomtest(in_b, n, 0.7).pvalue > 0.001, in_b / n


def test_assignment_is_sticky_across_ramps_and_logs_one_exposure(db_url: str) -> None:
    from trova.db.engine import make_engine

    engine: Engine = make_engine(db_url)
    view = start_experiment(engine, "sticky", "off=off", "ai=fake")
    with Session(engine, expire_on_commit=False) as session:
        first = {
            f"seller:{i}": assign_prefill(session, f"seller:{i}", seller_id=None)
            for i in range(600)
        }
        assert all(a is not None for a in first.values())
        before = {u: a.variant for u, a in first.items() if a}
        share = sum(v == "ai" for v in before.values()) / len(before)
        assert 0.4 < share < 0.6
        # deterministic: asking again gives the same variant, and no second exposure row
        again = {u: assign_prefill(session, u) for u in before}
        assert {u: a.variant for u, a in again.items() if a} == before
        assert not any(a.first for a in again.values() if a)
        count = session.exec(select(func.count()).select_from(Exposure)).one()
        assert count == 600

        experiments.ramp(session, "sticky", {"ai": 90})
        after = {u: assign_prefill(session, u) for u in before}
        assert {u: a.variant for u, a in after.items() if a} == before, "ramp reshuffled units"
        new = [assign_prefill(session, f"seller:new-{i}") for i in range(600)]
        new_share = sum(a.variant == "ai" for a in new if a) / len(new)
        assert sp.binomtest(round(new_share * 600), 600, 0.9).pvalue > 0.001, new_share
        history = experiments.history(session, view.experiment.id or 0)
        assert [h.action for h in history] == ["start", "ramp"]
        assert history[-1].allocation == {"off": 10.0, "ai": 90.0}
    engine.dispose()


def test_a_paused_variant_sends_its_units_to_control(engine: Engine) -> None:
    start_experiment(engine, "pause-me", "off=off", "ai=fake", weights=[0, 100])
    with Session(engine, expire_on_commit=False) as session:
        before = assign_prefill(session, "seller:1")
        assert before is not None and before.variant == "ai" and not before.off
        experiments.pause_variant(session, "pause-me", "ai", "manual test")
        again = assign_prefill(session, "seller:1")
        assert again is not None and again.variant == "off" and again.off and again.rerouted
        newcomer = assign_prefill(session, "seller:2")
        assert newcomer is not None and newcomer.variant == "off" and not newcomer.rerouted
        stored = session.exec(select(Exposure).where(Exposure.unit_id == "seller:2")).one()
        assert (stored.variant, stored.hashed_variant) == ("off", "ai")
        # resuming by ramp: the first unit is back on its own variant
        experiments.ramp(session, "pause-me", {"ai": 100})
        back = assign_prefill(session, "seller:1")
        assert back is not None and back.variant == "ai" and not back.rerouted


def test_no_running_experiment_means_default_prefill(engine: Engine) -> None:
    with Session(engine) as session:
        assert assign_prefill(session, "seller:1") is None
    start_experiment(engine, "short", "off=off", "ai=fake")
    with Session(engine, expire_on_commit=False) as session:
        assert assign_prefill(session, "seller:1") is not None
        experiments.stop(session, "short")
        assert assign_prefill(session, "seller:1") is None


def test_one_running_experiment_per_surface(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    from trova.db.engine import make_engine
    from trova.rollout.models import Experiment

    engine = make_engine(db_url)
    start_experiment(engine, "first", "off=off", "ai=fake")
    with Session(engine) as session:
        experiments.create(
            session,
            "second",
            [experiments.VariantSpec("off", "off"), experiments.VariantSpec("ai", "fake")],
        )
        with pytest.raises(experiments.ExperimentError, match="'first' is already running"):
            experiments.start(session, "second")
        # the database refuses it too (two app processes racing)
        second = session.exec(select(Experiment).where(Experiment.name == "second")).one()
        second.status = "running"
        session.add(second)
        with pytest.raises(IntegrityError):
            session.commit()
    engine.dispose()
