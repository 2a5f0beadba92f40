"""The console's doors: who gets in, CSRF on every form, and what the pages show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.ops.conftest import MakeCall, csrf, publish_listing, second_client, staff_client
from trova.accounts.models import User
from trova.ai.models import CallStatus
from trova.db._time import utcnow
from trova.ops.models import AlertRule, AnnotationQueue, QueueItem

HTML = {"accept": "text/html"}
PAGES = ["/ops/dashboard", "/ops/calls", "/ops/alerts", "/ops/queues"]


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    """Page tests run on SQLite; the data layer is tested on both databases elsewhere."""
    return sqlite_url


def test_visitors_are_sent_to_log_in(client: TestClient) -> None:
    r = client.get("/ops/dashboard", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/ops/dashboard"
    assert client.get("/api/ops/dashboard").status_code == 401


def test_sellers_get_403_everywhere(client: TestClient, engine: Engine) -> None:
    staff_client(client, engine, name="Sam")  # a plain seller: no role
    for path in [*PAGES, "/ops/queues"]:
        r = client.get(path, headers=HTML)
        assert r.status_code == 403, path
        assert "admin or annotator" in r.text or "admin role" in r.text
    r = client.get("/api/ops/calls")
    assert r.status_code == 403
    assert "role" in r.json()["detail"]


def test_annotators_work_queues_but_do_not_see_monitoring(
    client: TestClient, engine: Engine
) -> None:
    staff_client(client, engine, "annotator", name="Ann")
    assert client.get("/ops/queues", headers=HTML).status_code == 200
    for path in ["/ops/dashboard", "/ops/calls", "/ops/alerts", "/api/ops/dashboard"]:
        assert client.get(path, headers=HTML).status_code == 403, path
    r = client.get("/ops", headers=HTML, follow_redirects=False)
    assert r.headers["location"] == "/ops/queues"


def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, engine: Engine, admin: User
) -> None:
    r = client.post("/ops/queues", data={"name": "sneaky", "kind": "random"})
    assert r.status_code == 403
    r = client.post("/ops/alerts", data={"name": "x", "metric": "error_rate", "threshold": "5"})
    assert r.status_code == 403
    r = client.post(
        "/ops/queues", data={"name": "sneaky", "kind": "random", "csrf_token": "forged"}
    )
    assert r.status_code == 403
    with Session(engine) as session:
        assert session.exec(select(AnnotationQueue)).all() == []
        assert session.exec(select(AlertRule)).all() == []
    token = csrf(client)
    r = client.post(
        "/ops/queues",
        data={"name": "errors", "kind": "errors", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/ops/queues/errors"


def test_dashboard_page_draws_charts_from_the_rollups(
    client: TestClient, admin: User, make_call: MakeCall
) -> None:
    make_call(status=CallStatus.error)
    make_call(provider="anthropic", model="claude-haiku-4-5")
    r = client.get("/ops/dashboard?range=24h", headers=HTML)
    assert r.status_code == 200
    assert "/static/vendor/chart.umd.min.js" in r.text
    assert 'id="chart-latency"' in r.text and 'id="dashboard-data"' in r.text
    assert "No feedback data yet" in r.text or 'id="chart-thumbs"' in r.text
    assert 'data-kpi="calls">2<' in r.text
    assert 'data-kpi="error_rate">50.0%<' in r.text
    filtered = client.get("/ops/dashboard?range=24h&provider=anthropic", headers=HTML)
    assert 'data-kpi="calls">1<' in filtered.text
    assert 'data-kpi="error_rate">0.0%<' in filtered.text
    api = client.get("/api/ops/dashboard", params={"range": "7d", "model": "claude-haiku-4-5"})
    assert api.status_code == 200
    assert api.json()["totals"]["n"] == 1 and api.json()["bucket"] == "day"
    assert client.get("/api/ops/dashboard", params={"range": "2y"}).status_code == 422


def test_inspector_lists_filters_and_pages(
    client: TestClient, admin: User, make_call: MakeCall
) -> None:
    now = utcnow()
    for i in range(55):
        make_call(created_at=now - timedelta(minutes=i + 1))
    failed = make_call(status=CallStatus.timeout, error="no answer within 20 s")
    lamp = make_call(draft={"title": "Desk lamp", "category": "home-kitchen/decor"})
    page1 = client.get("/api/ops/calls").json()
    assert len(page1["items"]) == 50 and page1["next"]
    page2 = client.get("/api/ops/calls", params={"before": page1["next"]}).json()
    ids = [c["id"] for c in page1["items"]] + [c["id"] for c in page2["items"]]
    assert len(ids) == len(set(ids)) == 57
    only = client.get("/api/ops/calls", params={"status": "timeout"}).json()["items"]
    assert [c["id"] for c in only] == [failed.id]
    home = client.get("/api/ops/calls", params={"category": "home-kitchen"}).json()["items"]
    assert [c["id"] for c in home] == [lamp.id]
    html = client.get("/ops/calls?status=timeout", headers=HTML)
    assert html.status_code == 200 and failed.id in html.text and lamp.id not in html.text
    assert client.get("/api/ops/calls", params={"status": "weird"}).status_code == 422


def test_call_detail_shows_prompt_output_and_the_field_diff(
    client: TestClient, engine: Engine, admin: User, make_call: MakeCall, seller_user: User
) -> None:
    call = make_call()
    publish_listing(engine, call, seller_user, title="Vintage road bike", price_cents=15000)
    r = client.get(f"/ops/calls/{call.id}", headers=HTML)
    assert r.status_code == 200
    assert "careful assistant for a European second-hand marketplace" in r.text  # rendered v2
    assert "Road bike" in r.text  # raw output
    assert '<tr class="diff-edited" data-field="title">' in r.text
    assert '<tr class="diff-accepted" data-field="category">' in r.text
    assert '<tr class="diff-edited" data-field="price">' in r.text
    detail = client.get(f"/api/ops/calls/{call.id}").json()
    states = {d["field"]: d["state"] for d in detail["diff"]}
    assert states["title"] == "edited" and states["color"] == "accepted"
    assert client.get("/ops/calls/nope", headers=HTML).status_code == 404


def test_add_to_queue_from_the_inspector_is_deduplicated(
    client: TestClient, engine: Engine, admin: User, make_call: MakeCall
) -> None:
    call = make_call()
    token = csrf(client)
    client.post(
        "/ops/queues",
        data={"name": "manual", "kind": "errors", "daily_quota": "0", "csrf_token": token},
    )
    with Session(engine) as session:
        queue = session.exec(select(AnnotationQueue)).one()
    for _ in range(2):
        r = client.post(
            f"/ops/calls/{call.id}/queue",
            data={"queue_id": str(queue.id), "csrf_token": token},
            headers=HTML,
        )
        assert r.status_code == 200
    assert "Already in queue manual" in r.text
    with Session(engine) as session:
        items = session.exec(select(QueueItem)).all()
    assert [(i.ai_call_id, i.reason) for i in items] == [(call.id, "manual")]


def test_alert_rules_are_created_from_the_form(
    client: TestClient, engine: Engine, admin: User
) -> None:
    token = csrf(client, "/ops/alerts")
    r = client.post(
        "/ops/alerts",
        data={
            "name": "errors high",
            "metric": "error_rate",
            "threshold": "5%",
            "window_minutes": "15",
            "csrf_token": token,
        },
        headers=HTML,
    )
    assert r.status_code == 200 and "Error rate &gt; 5.0% over 15 min" in r.text
    bad = client.post(
        "/ops/alerts",
        data={"name": "bad", "metric": "error_rate", "threshold": "lots", "csrf_token": token},
        headers=HTML,
    )
    assert bad.status_code == 422 and "must be a number" in bad.text
    with Session(engine) as session:
        rule = session.exec(select(AlertRule)).one()
    assert rule.threshold == pytest.approx(0.05)


def test_other_browsers_keep_their_own_roles(client: TestClient, engine: Engine) -> None:
    staff_client(client, engine, "admin", name="Ada")
    other = second_client(client)
    staff_client(other, engine, name="Sam")
    assert client.get("/ops/alerts", headers=HTML).status_code == 200
    assert other.get("/ops/alerts", headers=HTML).status_code == 403


def test_dashboard_takes_an_explicit_date_range(
    client: TestClient, admin: User, make_call: MakeCall
) -> None:
    now = utcnow()
    make_call(created_at=now - timedelta(days=10))
    make_call(created_at=now - timedelta(days=10))
    make_call(created_at=now - timedelta(days=2))
    day = (now - timedelta(days=10)).date().isoformat()
    r = client.get("/api/ops/dashboard", params={"start": day, "end": day})
    assert r.status_code == 200, r.text
    assert r.json()["totals"]["n"] == 2
    assert r.json()["bucket"] == "hour" and len(r.json()["labels"]) == 24
    bad = client.get("/api/ops/dashboard", params={"start": day, "end": "2000-01-01"})
    assert bad.status_code == 422 and "before the start" in bad.json()["detail"]
    html = client.get(f"/ops/dashboard?start={day}&end={day}", headers=HTML)
    assert 'data-kpi="calls">2<' in html.text
