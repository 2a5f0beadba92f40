"""GET /metrics in Prometheus' text format.

- Requests: counted and timed in-process by `RequestMetricsMiddleware`, labelled by method,
  route *template* (`/listings/{listing_id}`, never the raw path: bounded cardinality) and status.
- AI calls: read from the hourly rollups (+ the live hour), so the counters are the same
  whichever app process answers and survive restarts. Labelled by provider, model, prompt
  (name@version) and status; latency is a histogram with the rollup's buckets.
Each app has its own CollectorRegistry (tests build many apps in one process).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trova.db._time import utcnow
from trova.ops import _sql
from trova.ops.models import HIST_COLUMNS, LATENCY_BUCKETS_MS, AlertRule, rollup_hourly
from trova.ops.rollups import ensure_fresh, live_rows

router = APIRouter(include_in_schema=False)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
_LABELS = ("provider", "model", "prompt")


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "trova_http_requests",
            "HTTP requests answered, by method, route template and status code.",
            ("method", "route", "status"),
            registry=registry,
        )
        self.duration = Histogram(
            "trova_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ("method", "route"),
            buckets=HTTP_BUCKETS,
            registry=registry,
        )


def registry_for(app: Any) -> CollectorRegistry:
    """The app's registry, built on first use: HTTP metrics + AI-call and ops collectors."""
    state = app.state
    registry: CollectorRegistry | None = getattr(state, "ops_metrics_registry", None)
    if registry is None:
        disable_created_metrics()  # no *_created gauges: noise for every counter
        registry = CollectorRegistry(auto_describe=False)
        state.ops_http_metrics = HttpMetrics(registry)
        registry.register(AICallCollector(state.engine, state.settings.ops_refresh_interval_s))
        state.ops_metrics_registry = registry
    return registry


def http_metrics(app: Any) -> HttpMetrics:
    registry_for(app)
    metrics: HttpMetrics = app.state.ops_http_metrics
    return metrics


class RequestMetricsMiddleware:
    """Pure ASGI middleware (no response buffering): counts and times every HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "<unmatched>"
            method = scope.get("method", "GET")
            method = method if method in _METHODS else "other"
            metrics = http_metrics(scope["app"])
            metrics.requests.labels(method, template, str(status)).inc()
            metrics.duration.labels(method, template).observe(time.perf_counter() - started)


class AICallCollector(Collector):
    """AI-call counters and latency histograms from the rollup table, read at scrape time."""

    def __init__(self, engine: Engine, refresh_interval_s: float) -> None:
        self.engine = engine
        self.max_age = timedelta(seconds=max(120.0, 3 * refresh_interval_s))
        self._stable: tuple[datetime, dict[tuple[str, ...], dict[str, float]]] | None = None

    def _sum_rollup(
        self, conn: Any, start: datetime | None, end: datetime
    ) -> dict[tuple[str, ...], dict[str, float]]:
        r = rollup_hourly.c
        dims = [r.provider, r.model, r.prompt_name, r.prompt_version]
        where = [r.bucket < end] if start is None else [r.bucket >= start, r.bucket < end]
        query = select(*dims, *_METRIC_SUMS).where(*where).group_by(*dims)
        out: dict[tuple[str, ...], dict[str, float]] = {}
        for row in conn.execute(query):
            m = dict(row._mapping)
            _sql.add_into(out.setdefault(_key(m), _sql.empty_measures()), m)
        return out

    def collect(self) -> Iterator[Metric]:
        # If the background refresher is off or behind, catch up first (incremental).
        mark = ensure_fresh(self.engine, self.max_age)
        boundary = _sql.floor_hour(mark)
        # Hours older than yesterday no longer change: sum them once a day per process, so a
        # scrape reads ~2 days of rollups whatever the length of the history.
        cutoff = min(boundary, boundary.replace(hour=0) - timedelta(days=1))
        with self.engine.connect() as conn:
            if self._stable is None or self._stable[0] != cutoff:
                self._stable = (cutoff, self._sum_rollup(conn, None, cutoff))
            totals = {k: dict(v) for k, v in self._stable[1].items()}
            for key, m in self._sum_rollup(conn, cutoff, boundary).items():
                _sql.add_into(totals.setdefault(key, _sql.empty_measures()), m)
            for m in live_rows(conn, boundary, utcnow(), None, group_by_dims=True):
                _sql.add_into(totals.setdefault(_key(m), _sql.empty_measures()), m)
            rules = AlertRule.__table__  # type: ignore[attr-defined]
            firing = conn.execute(
                select(rules.c.name, rules.c.state).where(rules.c.enabled.is_(True))
            ).all()
        lag = max(0.0, (utcnow() - mark).total_seconds())

        calls = CounterMetricFamily(
            "trova_ai_calls",
            "AI prefill calls, by provider, model, prompt (name@version) and status.",
            labels=[*_LABELS, "status"],
        )
        latency = HistogramMetricFamily(
            "trova_ai_call_latency_seconds",
            "AI prefill call latency (whole provider chain), by provider, model and prompt.",
            labels=list(_LABELS),
        )
        tokens = CounterMetricFamily(
            "trova_ai_tokens", "Tokens sent and received.", labels=[*_LABELS, "direction"]
        )
        cost = CounterMetricFamily("trova_ai_cost_usd", "Spend on AI calls in USD.", labels=_LABELS)
        for key, m in sorted(totals.items()):
            labels = list(key)
            for status, column in _sql.STATUS_COLUMNS.items():
                calls.add_metric([*labels, status], m[column])
            cumulative, buckets = 0.0, []
            for bound, column in zip((*LATENCY_BUCKETS_MS, None), HIST_COLUMNS, strict=True):
                cumulative += m[column]
                buckets.append((f"{bound / 1000:g}" if bound else "+Inf", cumulative))
            latency.add_metric(labels, buckets, sum_value=m["latency_sum_ms"] / 1000)
            tokens.add_metric([*labels, "in"], m["tokens_in"])
            tokens.add_metric([*labels, "out"], m["tokens_out"])
            cost.add_metric(labels, m["cost_usd"])
        yield calls
        yield latency
        yield tokens
        yield cost
        alerts = GaugeMetricFamily(
            "trova_ops_alert_firing", "1 while an alert rule is firing.", labels=["rule"]
        )
        for name, state in firing:
            alerts.add_metric([name], 1.0 if state == "firing" else 0.0)
        yield alerts
        yield GaugeMetricFamily(
            "trova_ops_rollup_lag_seconds", "Age of the monitoring rollups.", value=lag
        )


_METRIC_SUMS = [func.sum(rollup_hourly.c[name]).label(name) for name in _sql.CALL_MEASURES]


def _key(m: dict[str, Any]) -> tuple[str, ...]:
    prompt = f"{m['prompt_name']}@{m['prompt_version']}" if m["prompt_name"] else ""
    return (m["provider"], m["model"], prompt)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus scrape endpoint (Bearer token when TROVA_OPS_METRICS_TOKEN is set)."""
    token = request.app.state.settings.ops_metrics_token
    if token is not None:
        sent = request.headers.get("authorization", "")
        expected = f"Bearer {token.get_secret_value()}"
        if not secrets.compare_digest(sent.encode(), expected.encode()):
            return Response(
                "Send 'Authorization: Bearer <TROVA_OPS_METRICS_TOKEN>'.\n",
                status_code=401,
                media_type="text/plain",
                headers={"WWW-Authenticate": "Bearer"},
            )
    body = generate_latest(registry_for(request.app))
    return Response(body, media_type=CONTENT_TYPE_LATEST)
