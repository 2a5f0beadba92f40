"""GET /metrics: Prometheus text with request and AI-call series, bounded labels."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from tests.ops.conftest import MakeCall
from trova.ai.models import CallStatus
from trova.app import create_app
from trova.config import Settings


@pytest.fixture
def db_url(sqlite_url: str) -> str:
    return sqlite_url


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def test_metrics_count_requests_by_route_template_and_ai_calls_by_labels(
    client: TestClient, make_call: MakeCall
) -> None:
    for listing_id in (1, 2, 3):
        client.get(f"/listings/{listing_id}")
    client.get("/no/such/page")
    make_call(status=CallStatus.ok, latency_ms=400)
    make_call(status=CallStatus.ok, latency_ms=1200)
    make_call(status=CallStatus.error, latency_ms=20_500)
    make_call(provider="local", model="efficientnet-lite0", prompt_name=None, prompt_version=None)
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    samples = _samples(r.text)
    route = frozenset({("method", "GET"), ("route", "/listings/{listing_id}"), ("status", "404")})
    assert samples[("trova_http_requests_total", route)] == 3
    assert not any("/listings/1" in dict(labels).get("route", "") for _, labels in samples)
    unmatched = frozenset({("method", "GET"), ("route", "<unmatched>"), ("status", "404")})
    assert samples[("trova_http_requests_total", unmatched)] == 1
    openai = {("provider", "openai"), ("model", "gpt-4o-mini"), ("prompt", "extract_listing@v2")}
    assert samples[("trova_ai_calls_total", frozenset({*openai, ("status", "ok")}))] == 2
    assert samples[("trova_ai_calls_total", frozenset({*openai, ("status", "error")}))] == 1
    local = {("provider", "local"), ("model", "efficientnet-lite0"), ("prompt", "")}
    assert samples[("trova_ai_calls_total", frozenset({*local, ("status", "ok")}))] == 1
    # histogram: cumulative buckets in seconds
    le_half = frozenset({*openai, ("le", "0.5")})
    le_inf = frozenset({*openai, ("le", "+Inf")})
    assert samples[("trova_ai_call_latency_seconds_bucket", le_half)] == 1
    assert samples[("trova_ai_call_latency_seconds_bucket", le_inf)] == 3
    assert samples[("trova_ai_call_latency_seconds_sum", frozenset(openai))] == pytest.approx(22.1)
    tokens = frozenset({*openai, ("direction", "in")})
    assert samples[("trova_ai_tokens_total", tokens)] == 3000


def test_metrics_token_when_configured(settings: Settings) -> None:
    locked = settings.model_copy(update={"ops_metrics_token": SecretStr("s3cret")})
    with TestClient(create_app(locked)) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"authorization": "Bearer nope"}).status_code == 401
        ok = c.get("/metrics", headers={"authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and "trova_ai_calls" in ok.text


@pytest.mark.skipif(not shutil.which("promtool"), reason="promtool (Debian 'prometheus') missing")
def test_promtool_accepts_the_exposition(client: TestClient, make_call: MakeCall) -> None:
    make_call()
    client.get("/healthz")
    text = client.get("/metrics").text
    result = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    # promtool lints naming too; only "error" lines (not style hints) would fail a scrape
    problems = [line for line in result.stdout.splitlines() + result.stderr.splitlines()]
    assert not [p for p in problems if re.search(r"error", p, re.I)], problems


def test_counters_cover_the_whole_history_and_only_grow(
    client: TestClient, make_call: MakeCall
) -> None:
    from datetime import timedelta

    from trova.db._time import utcnow

    make_call(created_at=utcnow() - timedelta(days=40))  # long settled
    make_call(created_at=utcnow() - timedelta(days=1, hours=3))  # yesterday-ish
    make_call()
    ok = frozenset(
        {
            ("provider", "openai"),
            ("model", "gpt-4o-mini"),
            ("prompt", "extract_listing@v2"),
            ("status", "ok"),
        }
    )
    first = _samples(client.get("/metrics").text)[("trova_ai_calls_total", ok)]
    make_call(created_at=utcnow())
    second = _samples(client.get("/metrics").text)[("trova_ai_calls_total", ok)]
    assert (first, second) == (3, 4)
