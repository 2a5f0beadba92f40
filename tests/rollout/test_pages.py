"""The ops pages: experiment list and results with the time-to-publish chart (admins only)."""

from __future__ import annotations

import json
import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tests.rollout.conftest import FINAL, register, start_experiment, submit_and_publish, upload
from trova.accounts import service as accounts


def _admin(client: TestClient, engine: Engine, email: str = "boss@example.com") -> None:
    register(client, email)
    with Session(engine) as session:
        accounts.grant_role(session, email, "admin")


def test_only_admins_see_experiments(app_client: TestClient, engine: Engine) -> None:
    r = app_client.get("/ops/experiments", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    register(app_client, "seller@example.com")
    assert app_client.get("/ops/experiments").status_code == 403
    assert app_client.get("/api/experiments").status_code == 403
    r = app_client.post("/api/experiments", json={"name": "x", "variants": []})
    assert r.status_code in (403, 422)


def test_results_page_shows_variants_with_intervals_and_the_chart(
    app_client: TestClient, engine: Engine
) -> None:
    start_experiment(engine, "page-test", "off=off", "ai=fake", weights=[100, 0])
    _admin(app_client, engine)
    listing_id, token = upload(app_client)
    app_client.get(f"/sell/{listing_id}/details")
    submit_and_publish(app_client, listing_id, token, FINAL)

    listing = app_client.get("/ops/experiments").text
    assert 'href="/ops/experiments/page-test"' in listing and "running" in listing
    page = app_client.get("/ops/experiments/page-test?population=all").text
    assert "Not enough data" in page
    assert "/static/vendor/chart.umd.min.js" in page and 'id="ttp-chart"' in page
    data = json.loads(unescape(re.search(r"data-histogram='([^']*)'", page).group(1)))  # type: ignore[union-attr]
    assert sum(data["counts"]["off"]) == 1 and data["counts"]["ai"] == [0] * 12
    assert "Includes <strong>simulated</strong>" in page
    assert page.count('<th scope="row">') >= 2  # one row per variant
    assert "100.0%" in page  # the off variant published its only finished flow


def test_experiments_api_round_trip(app_client: TestClient, engine: Engine) -> None:
    _admin(app_client, engine)
    body = {
        "name": "api-made",
        "variants": [
            {"name": "control", "provider": "off", "weight": 90},
            {"name": "v2", "provider": "fake", "prompt": "extract_listing@v2", "weight": 10},
        ],
        "start": True,
    }
    r = app_client.post("/api/experiments", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "running"
    r = app_client.post("/api/experiments", json=body)
    assert r.status_code == 422 and "exists already" in r.json()["detail"]
    r = app_client.post("/api/experiments/api-made/ramp", json={"weights": {"v2": 25}})
    assert [v["weight"] for v in r.json()["variants"]] == [75, 25]
    r = app_client.get("/api/experiments/api-made")
    assert r.status_code == 200 and r.json()["required_per_arm"] > 0
    assert app_client.get("/api/experiments/nope").status_code == 404
    r = app_client.post("/api/experiments/api-made/stop", json={"reason": "enough"})
    assert r.json()["status"] == "stopped"
