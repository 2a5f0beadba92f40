"""The create flow under an experiment: assignment, events, feedback — through HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from tests.rollout.conftest import (
    FINAL,
    form_values,
    register,
    start_experiment,
    submit_and_publish,
    upload,
)
from trova.ai.models import AICall
from trova.rollout.models import Event, Exposure, Feedback, FieldFeedback


def _events(engine: Engine, **where: Any) -> list[Event]:
    with Session(engine) as session:
        query = select(Event).order_by(col(Event.id))
        for key, value in where.items():
            query = query.where(getattr(Event, key) == value)
        return list(session.exec(query).all())


def test_off_variant_shows_the_empty_form_without_an_ai_call(
    app_client: TestClient, engine: Engine
) -> None:
    start_experiment(engine, "no-ai", "off=off", "ai=fake", weights=[100, 0])
    register(app_client, "olga@example.com")
    listing_id, token = upload(app_client)
    page = app_client.get(f"/sell/{listing_id}/details")
    assert "Reading your photo" not in page.text, "no AI loading state for the off variant"
    values = form_values(page.text)
    assert values["title"] == "" and values["category"] == ""
    assert "Were these suggestions helpful?" not in page.text
    # the htmx endpoint, if called anyway, makes no AI call either
    app_client.get(f"/sell/{listing_id}/prefill")
    with Session(engine) as session:
        assert session.exec(select(AICall)).all() == []
    submit_and_publish(app_client, listing_id, token, FINAL)
    types = [e.type for e in _events(engine)]
    assert types == ["create_started", "photo_uploaded", "exposure", "published"]
    exposure = _events(engine, type="exposure")[0]
    assert exposure.variant == "off" and exposure.listing_id == listing_id
    with Session(engine) as session:
        assert session.exec(select(FieldFeedback)).all() == []  # nothing suggested, no diff


def test_ai_variant_prefills_with_its_provider_and_prompt_then_records_feedback(
    app_client: TestClient, engine: Engine
) -> None:
    start_experiment(engine, "prompt-v1", "off=off", "v1=fake+extract_listing@v1", weights=[0, 100])
    me = register(app_client, "ana@example.com")
    listing_id, token = upload(app_client)
    vid = app_client.cookies.get("trova_vid")
    assert vid, "a visitor id cookie is set"
    assert "Reading your photo" in app_client.get(f"/sell/{listing_id}/details").text
    fragment = app_client.get(f"/sell/{listing_id}/prefill").text
    shown = form_values(fragment)
    assert shown["title"], "the form is pre-filled"
    assert "Were these suggestions helpful?" in fragment
    assert '<script src="/static/rollout.js">' in fragment
    with Session(engine) as session:
        call = session.exec(select(AICall)).one()
    assert (call.experiment, call.variant, call.provider, call.prompt_version) == (
        "prompt-v1",
        "v1",
        "fake",
        "v1",
    )
    assert call.seller_id == me["id"] and call.visitor_id == vid

    # thumbs, then a comment; the widget answers with its new state
    r = app_client.post(
        "/rollout/feedback",
        data={"ai_call_id": call.id, "rating": "down"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert r.status_code == 200 and 'aria-pressed="true"' in r.text and "Thanks" in r.text
    r = app_client.post(
        "/rollout/feedback",
        data={"ai_call_id": call.id, "feedback_comment": "The price was far too low."},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 200 and "your comment helps" in r.text
    with Session(engine) as session:
        fb = session.exec(select(Feedback)).one()
    assert (fb.rating, fb.comment, fb.seller_id) == (-1, "The price was far too low.", me["id"])

    # client-side field edits: CSRF needed, each field logged once per flow
    edit = {"type": "field_edited", "listing_id": listing_id, "field": "title"}
    assert app_client.post("/rollout/events", json=edit).status_code == 403
    for field in ("title", "title", "brand"):
        r = app_client.post(
            "/rollout/events", json={**edit, "field": field}, headers={"X-CSRF-Token": token}
        )
        assert r.status_code == 204
    bad = app_client.post(
        "/rollout/events", json={**edit, "field": "password"}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422

    # publish: keep category, color, condition; change title and price; clear the description
    final = {
        **shown,
        "title": shown["title"] + " with shade",
        "price": "99",
        "description": "",
        "brand": "Ikea",
    }
    submit_and_publish(app_client, listing_id, token, final)
    types = [e.type for e in _events(engine)]
    assert types == [
        "create_started",
        "photo_uploaded",
        "exposure",
        "prefill_shown",
        "field_edited",
        "field_edited",
        "published",
    ]
    assert {e.visitor_id for e in _events(engine)} == {vid}
    assert len({e.flow_id for e in _events(engine)}) == 1
    published = _events(engine, type="published")[0]
    assert (published.variant, published.ai_call_id) == ("v1", call.id)
    with Session(engine) as session:
        rows = {r.field: r for r in session.exec(select(FieldFeedback)).all()}
    assert rows["category"].outcome == "accepted"
    assert rows["color"].outcome == "accepted"
    assert rows["title"].outcome == "edited"
    assert rows["title"].distance == len(" with shade")
    assert rows["title"].final_value == shown["title"] + " with shade"
    assert rows["description"].outcome == "cleared"
    assert rows["price"].outcome == "edited" and rows["price"].final_value == "99.00"
    assert rows["brand"].outcome == "added"


def test_someone_elses_ai_call_cannot_be_rated(app_client: TestClient, engine: Engine) -> None:
    start_experiment(engine, "mine", "off=off", "ai=fake", weights=[0, 100])
    register(app_client, "owner@example.com")
    listing_id, _ = upload(app_client)
    app_client.get(f"/sell/{listing_id}/prefill")
    with Session(engine) as session:
        call_id = session.exec(select(AICall.id)).one()
    app_client.post("/api/auth/logout")
    register(app_client, "mallory@example.com")
    token = _token(app_client)
    r = app_client.post(
        "/rollout/feedback",
        data={"ai_call_id": call_id, "rating": "up"},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422 and "not yours" in r.text
    r = app_client.post("/api/feedback", json={"ai_call_id": call_id, "rating": "up"})
    assert r.status_code == 404


def _token(client: TestClient) -> str:
    from tests.rollout.conftest import csrf_of

    return csrf_of(client.get("/sell").text)


def test_simulated_requests_are_tagged_and_use_the_virtual_clock(
    app_client: TestClient, engine: Engine
) -> None:
    start_experiment(engine, "sim", "off=off", "ai=fake", weights=[100, 0])
    register(app_client, "sim@example.com")
    sim = {"X-Trova-Simulation": "run1", "X-Trova-Sim-Clock": "1700000000"}
    listing_id, token = upload(app_client, headers=sim)
    app_client.get(f"/sell/{listing_id}/details", headers=sim)
    submit_and_publish(
        app_client,
        listing_id,
        token,
        FINAL,
        headers={**sim, "X-Trova-Sim-Clock": "1700000300"},
    )
    events = _events(engine)
    assert events and all(e.simulated for e in events)
    started = next(e for e in events if e.type == "create_started")
    published = next(e for e in events if e.type == "published")
    assert (published.at - started.at).total_seconds() == 300
    with Session(engine) as session:
        assert session.exec(select(Exposure)).one().simulated


def test_visitor_cookie_is_set_once_and_not_on_static_files(app_client: TestClient) -> None:
    r = app_client.get("/")
    assert "trova_vid=" in r.headers.get("set-cookie", "")
    assert "HttpOnly" in r.headers["set-cookie"]
    again = app_client.get("/")
    assert "trova_vid=" not in again.headers.get("set-cookie", "")
    fresh = TestClient(app_client.app)
    assert "trova_vid" not in fresh.get("/static/rollout.js").headers.get("set-cookie", "")
