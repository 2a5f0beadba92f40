"""Alert rules: firing and resolving over a window, history, webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.ops.conftest import MakeCall
from trova.ai.models import CallStatus
from trova.config import Settings
from trova.db._time import utcnow
from trova.ops import alerts
from trova.ops.models import AlertEvent, AlertRule


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP endpoint that records what it is sent."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["content-length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()
    server.server_close()


def _rule(engine: Engine, **values: Any) -> AlertRule:
    defaults: dict[str, Any] = {
        "name": "errors",
        "metric": "error_rate",
        "threshold": 0.2,
        "window_minutes": 15,
        "min_calls": 5,
    }
    with Session(engine, expire_on_commit=False) as session:
        return alerts.create_rule(session, **{**defaults, **values})


def _events(engine: Engine) -> list[tuple[str, float | None]]:
    with Session(engine) as session:
        rows = session.exec(select(AlertEvent).order_by(AlertEvent.id)).all()
        return [(e.kind, e.value) for e in rows]


def test_a_rule_fires_then_resolves_and_notifies(
    engine: Engine,
    make_call: MakeCall,
    settings: Settings,
    webhook: tuple[str, list[dict[str, Any]]],
) -> None:
    url, received = webhook
    _rule(engine, webhook_url=url)
    now = utcnow()
    for i in range(10):
        make_call(
            created_at=now - timedelta(minutes=i + 1),
            status=CallStatus.error if i < 3 else CallStatus.ok,
        )
    make_call(created_at=now - timedelta(hours=2), status=CallStatus.error)  # outside the window
    fired = alerts.evaluate(engine, settings, now)
    assert [(e.kind, e.value) for e in fired] == [("firing", pytest.approx(0.3))]
    assert alerts.evaluate(engine, settings, now) == []  # still firing: no new event
    for i in range(20):
        make_call(created_at=now + timedelta(seconds=i + 1))
    later = now + timedelta(minutes=1)
    resolved = alerts.evaluate(engine, settings, later)
    assert [e.kind for e in resolved] == ["resolved"]
    assert _events(engine) == [("firing", pytest.approx(0.3)), ("resolved", pytest.approx(0.1))]
    assert [(p["state"], p["alert"]) for p in received] == [
        ("firing", "errors"),
        ("resolved", "errors"),
    ]
    assert "Error rate > 20.0% over 15 min" in received[0]["text"]
    with Session(engine) as session:
        rule = session.exec(select(AlertRule)).one()
        notified = [e.notified for e in session.exec(select(AlertEvent)).all()]
    assert rule.state == "ok" and notified == ["HTTP 204", "HTTP 204"]


def test_too_few_calls_are_not_judged(
    engine: Engine, make_call: MakeCall, settings: Settings
) -> None:
    _rule(engine, min_calls=50)
    for _ in range(5):
        make_call(status=CallStatus.error, created_at=utcnow() - timedelta(minutes=1))
    assert alerts.evaluate(engine, settings) == []
    with Session(engine) as session:
        rule = session.exec(select(AlertRule)).one()
    assert rule.state == "ok" and rule.last_value == pytest.approx(1.0)


def test_latency_and_volume_rules(engine: Engine, make_call: MakeCall, settings: Settings) -> None:
    _rule(engine, name="slow", metric="p95_ms", threshold=5000, min_calls=1)
    _rule(engine, name="quiet", metric="volume", op="<", threshold=100, window_minutes=60)
    for latency in (300, 400, 12_000, 15_000):
        make_call(latency_ms=latency, created_at=utcnow() - timedelta(minutes=2))
    fired = {e.message.split(":")[0] for e in alerts.evaluate(engine, settings)}
    assert fired == {"slow", "quiet"}


def test_unreachable_webhooks_are_recorded_not_raised(
    engine: Engine, make_call: MakeCall, settings: Settings
) -> None:
    _rule(engine, webhook_url="http://127.0.0.1:9/nothing-listens-here", min_calls=1)
    make_call(status=CallStatus.error, created_at=utcnow() - timedelta(minutes=1))
    alerts.evaluate(engine, settings)
    with Session(engine) as session:
        event = session.exec(select(AlertEvent)).one()
    assert event.notified is not None and event.notified.startswith("failed")


def test_bad_rules_are_explained() -> None:
    good = {
        "name": "x",
        "metric": "error_rate",
        "op": ">",
        "threshold": 0.1,
        "window_minutes": 15,
        "min_calls": 1,
        "webhook_url": None,
    }
    for change, message in [
        ({"metric": "vibes"}, "Unknown metric"),
        ({"threshold": 5}, "share between 0 and 1"),
        ({"op": ">="}, "> or <"),
        ({"webhook_url": "ftp://x"}, "http"),
        ({"window_minutes": 0}, "window"),
    ]:
        with pytest.raises(alerts.RuleError, match=message):
            alerts.validate_rule(**{**good, **change})
