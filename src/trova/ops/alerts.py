"""Alert rules: a metric over a trailing window compared with a threshold.

`evaluate()` runs every rule once (the background worker calls it every minute): a rule that
starts breaching records a `firing` event, one that stops records `resolved`; both are POSTed
to the rule's webhook (or TROVA_OPS_ALERT_WEBHOOK_URL) when one is set. A window with fewer
than `min_calls` calls is not judged: the rule keeps its state.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from trova.config import Settings
from trova.db._time import utcnow
from trova.ops import _sql
from trova.ops.models import AlertEvent, AlertRule
from trova.ops.rollups import live_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    label: str
    unit: str  # share | ms | calls | usd


METRICS: dict[str, Metric] = {
    "error_rate": Metric("Error rate", "share"),
    "timeout_rate": Metric("Timeout rate", "share"),
    "invalid_rate": Metric("Empty/invalid output rate", "share"),
    "failure_rate": Metric("Any failure rate", "share"),
    "fallback_rate": Metric("Fallback rate", "share"),
    "p95_ms": Metric("Latency p95", "ms"),
    "p50_ms": Metric("Latency p50", "ms"),
    "volume": Metric("Calls", "calls"),
    "cost_usd": Metric("Cost", "usd"),
}
OPS = (">", "<")
_NAME = re.compile(r"^[\w .:/()%-]{1,80}$")


class RuleError(ValueError):
    """A rule that cannot be saved; the message says which field and why."""


def format_value(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    unit = METRICS[metric].unit if metric in METRICS else ""
    if unit == "share":
        return f"{value * 100:.1f}%"
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "usd":
        return f"${value:,.4f}"
    return f"{value:,.0f}"


def describe(rule: AlertRule) -> str:
    metric = METRICS.get(rule.metric)
    scope = " ".join(filter(None, [rule.provider, rule.model]))
    return (
        f"{metric.label if metric else rule.metric} {rule.op} "
        f"{format_value(rule.metric, rule.threshold)} over {rule.window_minutes} min"
        + (f" ({scope})" if scope else "")
    )


def validate_rule(
    *,
    name: str,
    metric: str,
    op: str,
    threshold: float,
    window_minutes: int,
    min_calls: int,
    webhook_url: str | None,
) -> None:
    if not _NAME.match(name.strip()):
        raise RuleError("Give the rule a name of 1–80 letters, digits, spaces or .:/()%-.")
    if metric not in METRICS:
        raise RuleError(f"Unknown metric {metric!r}; choose one of {', '.join(METRICS)}.")
    if op not in OPS:
        raise RuleError("The comparison must be > or <.")
    if not 1 <= window_minutes <= 7 * 24 * 60:
        raise RuleError("The window must be between 1 minute and 7 days.")
    if min_calls < 0:
        raise RuleError("Minimum calls cannot be negative.")
    if METRICS[metric].unit == "share" and not 0 <= threshold <= 1:
        raise RuleError("A rate threshold is a share between 0 and 1 (0.05 = 5%).")
    if webhook_url and not re.match(r"^https?://[^\s]+$", webhook_url):
        raise RuleError("The webhook URL must start with http:// or https://.")


def create_rule(session: Session, **values: Any) -> AlertRule:
    validate_rule(
        name=values["name"],
        metric=values["metric"],
        op=values.get("op", ">"),
        threshold=float(values["threshold"]),
        window_minutes=int(values.get("window_minutes", 15)),
        min_calls=int(values.get("min_calls", 20)),
        webhook_url=values.get("webhook_url") or None,
    )
    name = values["name"].strip()
    if session.exec(select(AlertRule).where(AlertRule.name == name)).first():
        raise RuleError(f"There is already a rule named {name!r}.")
    rule = AlertRule(**{**values, "name": name, "webhook_url": values.get("webhook_url") or None})
    session.add(rule)
    session.commit()
    session.refresh(rule)
    return rule


def measure(
    engine: Engine, rule: AlertRule, now: datetime | None = None
) -> tuple[float | None, int]:
    """(value of the rule's metric over its window, calls in the window)."""
    now = now or utcnow()
    start = now - timedelta(minutes=rule.window_minutes)
    where = []
    if rule.provider:
        where.append(_sql.calls.c.provider == rule.provider)
    if rule.model:
        where.append(_sql.calls.c.model == rule.model)
    total = _sql.empty_measures()
    with engine.connect() as conn:
        for row in live_rows(conn, start, now, None, where=where):
            _sql.add_into(total, row)
    summary = _sql.summarize(total)
    n = summary["n"]
    value = float(n) if rule.metric == "volume" else summary.get(rule.metric)
    return (float(value) if value is not None else None), n


def evaluate(
    engine: Engine, settings: Settings, now: datetime | None = None, *, notify: bool = True
) -> list[AlertEvent]:
    """Judge every enabled rule once; returns the events it recorded (and notified)."""
    now = now or utcnow()
    events: list[tuple[AlertEvent, str | None]] = []
    with Session(engine, expire_on_commit=False) as session:
        rules = session.exec(select(AlertRule).where(col(AlertRule.enabled).is_(True))).all()
        for rule in rules:
            value, n = measure(engine, rule, now)
            rule.last_evaluated_at = now
            rule.last_value = value
            judged = value is not None and (rule.metric == "volume" or n >= rule.min_calls)
            if judged:
                assert value is not None
                breaching = value > rule.threshold if rule.op == ">" else value < rule.threshold
                new_state = "firing" if breaching else "ok"
                if new_state != rule.state and (new_state == "firing" or rule.state == "firing"):
                    kind = "firing" if new_state == "firing" else "resolved"
                    event = AlertEvent(
                        rule_id=rule.id or 0,
                        kind=kind,
                        value=value,
                        at=now,
                        message=(
                            f"{rule.name}: {describe(rule)} — now "
                            f"{format_value(rule.metric, value)} ({n} calls)"
                        )[:500],
                    )
                    session.add(event)
                    events.append((event, rule.webhook_url or settings.ops_alert_webhook_url))
                rule.state = new_state
            session.add(rule)
        session.commit()
        if notify:
            for event, url in events:
                if url:
                    owner = session.get(AlertRule, event.rule_id)
                    event.notified = _post(url, _payload(owner, event))
                    session.add(event)
            session.commit()
    return [event for event, _ in events]


def _payload(rule: AlertRule | None, event: AlertEvent) -> dict[str, Any]:
    assert rule is not None
    return {
        "text": f"Trova alert {event.kind}: {event.message}",  # Slack/Mattermost-compatible
        "alert": rule.name,
        "state": event.kind,
        "metric": rule.metric,
        "op": rule.op,
        "threshold": rule.threshold,
        "window_minutes": rule.window_minutes,
        "value": event.value,
        "at": event.at.isoformat(),
        "console": "/ops/alerts",
    }


def _post(url: str, payload: dict[str, Any]) -> str:
    try:
        response = httpx.post(url, json=payload, timeout=5.0)
    except httpx.HTTPError as exc:
        log.warning("alert webhook %s failed: %s", url, exc)
        return f"failed: {type(exc).__name__}"[:200]
    return f"HTTP {response.status_code}"


def history(session: Session, limit: int = 100) -> list[tuple[AlertEvent, AlertRule]]:
    rows = session.exec(
        select(AlertEvent, AlertRule)
        .join(AlertRule, col(AlertRule.id) == col(AlertEvent.rule_id))
        .order_by(col(AlertEvent.at).desc(), col(AlertEvent.id).desc())
        .limit(limit)
    ).all()
    return [(e, r) for e, r in rows]
