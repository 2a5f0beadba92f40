"""Guardrails: a failing variant is paused, traffic moves to control, and the page says why."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.rollout.conftest import form_values, register, start_experiment, upload
from trova.accounts import service as accounts
from trova.ai.models import AICall
from trova.rollout import experiments, guardrails


def _seller_gets_form(client: TestClient, email: str) -> str:
    """A new seller uploads a photo and gets step 2 (prefilled via htmx when AI is on)."""
    client.post("/api/auth/logout")
    register(client, email)
    listing_id, _ = upload(client)
    page = client.get(f"/sell/{listing_id}/details").text
    if "Reading your photo" in page:
        return client.get(f"/sell/{listing_id}/prefill").text
    return page


@pytest.mark.parametrize(
    ("provider", "thresholds", "reason"),
    [
        ("fake:error", {}, "error rate 100% > 20%"),
        ("fake:empty", {}, "empty-output rate 100% > 30%"),
        ("fake:latency=0.05", {"max_latency_p95_ms": 20}, "p95 latency"),
    ],
)
def test_a_breach_pauses_the_variant_and_sends_traffic_to_control(
    app_client: TestClient,
    engine: Engine,
    provider: str,
    thresholds: dict[str, int],
    reason: str,
) -> None:
    start_experiment(
        engine,
        "guarded",
        "control=off",
        f"bad={provider}",
        weights=[0, 100],
        guardrail_min_calls=3,
        **thresholds,  # type: ignore[arg-type]
    )
    for i in range(3):
        _seller_gets_form(app_client, f"s{i}@example.com")
    with Session(engine) as session:
        assert len(session.exec(select(AICall)).all()) == 3
        bad = experiments.get(session, "guarded").variant("bad")
        assert bad is not None and bad.status == "paused"
        assert bad.paused_reason and reason in bad.paused_reason
        history = experiments.history(session, bad.experiment_id)
        assert history[-1].action == "pause"
        assert history[-1].allocation == {"control": 100.0, "bad": 0.0}

    # the next seller, hashed into `bad`, gets the control: the plain empty form, no AI call
    page = _seller_gets_form(app_client, "next@example.com")
    assert form_values(page)["title"] == ""
    with Session(engine) as session:
        assert len(session.exec(select(AICall)).all()) == 3

    # an admin sees why on the results page and in the API
    with Session(engine) as session:
        accounts.grant_role(session, "next@example.com", "admin")
    html = app_client.get("/ops/experiments/guarded").text
    assert "bad is paused" in html and reason.replace(">", "&gt;") in html
    data = app_client.get("/api/experiments/guarded").json()
    bad_row = next(v for v in data["variants"] if v["name"] == "bad")
    assert bad_row["status"] == "paused" and reason in bad_row["paused_reason"]


def test_no_judgement_below_the_minimum_number_of_calls(
    app_client: TestClient, engine: Engine
) -> None:
    start_experiment(
        engine, "patient", "control=off", "bad=fake:error", weights=[0, 100], guardrail_min_calls=5
    )
    for i in range(4):
        _seller_gets_form(app_client, f"p{i}@example.com")
    with Session(engine, expire_on_commit=False) as session:
        view = experiments.get(session, "patient")
        assert view.variant("bad").status == "active"  # type: ignore[union-attr]
        assert guardrails.check(session, view) == []
