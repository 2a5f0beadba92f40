"""Ops console pages: dashboard, call inspector, alerts. Queues live in queue_pages.py."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, select

from trova.db._time import utcnow
from trova.deps import CSRFChecked, SessionDep, SettingsDep
from trova.ops import alerts as alert_service
from trova.ops import annotation
from trova.ops.access import AdminUser, StaffUser, flash, is_admin, pop_flash
from trova.ops.dashboard import RANGES, Filters, build, filter_options
from trova.ops.diff import display
from trova.ops.inspector import STATUSES, CallNotFound, CallQuery, call_detail, list_calls
from trova.ops.models import FIELDS, AlertEvent, AlertRule, AnnotationQueue
from trova.ops.rollups import ensure_fresh
from trova.web.templating import render

router = APIRouter(prefix="/ops", include_in_schema=False)
Text = Annotated[str, Query(max_length=200)]


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def page(request: Request, template: str, **context: Any) -> Response:
    """Render an ops page with the console's common context."""
    user = context.get("user") or getattr(request.state, "user", None)
    context.setdefault("status_code", 200)
    status_code = context.pop("status_code")
    return render(
        request,
        template,
        status_code=status_code,
        is_admin=is_admin(user),
        flash=pop_flash(request),
        display=display,
        fields=FIELDS,
        **context,
    )


@router.get("")
def home(user: StaffUser) -> Response:
    return _see_other("/ops/dashboard" if is_admin(user) else "/ops/queues")


# ---------------------------------------------------------------- dashboard


@router.get("/dashboard")
def dashboard_page(
    request: Request,
    user: AdminUser,
    settings: SettingsDep,
    range: Annotated[str, Query(max_length=8)] = "24h",
    provider: Text = "",
    model: Text = "",
    prompt: Text = "",
    variant: Text = "",
    start: Text = "",
    end: Text = "",
) -> Response:
    engine = request.app.state.engine
    ensure_fresh(engine, timedelta(seconds=max(120.0, 3 * settings.ops_refresh_interval_s)))
    range_key = range if range in RANGES else "24h"
    filters = dashboard_filters(range_key, provider, model, prompt, variant, start, end)
    board = build(engine, filters)
    return page(
        request,
        "ops_dashboard.html",
        user=user,
        board=board,
        range_key=range_key,
        ranges=list(RANGES),
        start=start,
        end=end,
    )


def dashboard_filters(
    range_key: str,
    provider: str,
    model: str,
    prompt: str,
    variant: str,
    start: str = "",
    end: str = "",
) -> Filters:
    """Filters from query parameters; explicit dates (UTC days, end inclusive) beat a preset."""
    first, last = _date(start), _date(end)
    if first and last and last < first:
        raise HTTPException(422, "The end date is before the start date.")
    begin = datetime.combine(first, time(), UTC) if first else None
    finish = datetime.combine(last + timedelta(days=1), time(), UTC) if last else None
    if begin is None and finish is not None:
        begin = finish - RANGES.get(range_key, RANGES["24h"])
    if finish is not None and begin is not None and finish - begin > timedelta(days=366):
        raise HTTPException(422, "Pick at most a year at a time.")
    return Filters.build(
        range_key,
        provider=provider,
        model=model,
        prompt=prompt,
        variant=variant,
        start=begin,
        end=min(finish, utcnow()) if finish else None,
    )


# ---------------------------------------------------------------- call inspector


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise HTTPException(422, f"{value!r} is not a date (use YYYY-MM-DD).") from None


def call_query(
    status: Text = "",
    provider: Text = "",
    model: Text = "",
    prompt: Text = "",
    variant: Text = "",
    category: Text = "",
    start: Text = "",
    end: Text = "",
    thumbs_down: Text = "",
    edited: Text = "",
    low_confidence: Text = "",
    before: Text = "",
) -> CallQuery:
    """The inspector's filters from the query string (a dependency of the page and the API)."""
    if status and status not in STATUSES:
        raise HTTPException(422, f"Unknown status {status!r}; use one of {', '.join(STATUSES)}.")
    if edited and edited != "any" and edited not in FIELDS:
        raise HTTPException(422, f"Unknown field {edited!r} for 'edited'.")
    return CallQuery(
        status=status or None,
        provider=provider or None,
        model=model or None,
        prompt=prompt or None,
        variant=variant or None,
        category=category or None,
        start=_date(start),
        end=_date(end),
        thumbs_down=thumbs_down in ("1", "on", "true"),
        edited=edited or None,
        low_confidence=low_confidence in ("1", "on", "true"),
        before=before or None,
    )


@router.get("/calls")
def calls_page(
    request: Request,
    user: AdminUser,
    settings: SettingsDep,
    q: Annotated[CallQuery, Depends(call_query)],
) -> Response:
    engine = request.app.state.engine
    result = list_calls(engine, q, settings.ops_low_confidence)
    with engine.connect() as conn:
        options = filter_options(conn)
    return page(
        request,
        "ops_calls.html",
        user=user,
        q=q,
        result=result,
        options=options,
        statuses=STATUSES,
        has_thumbs=_has_thumbs(request),
    )


def _has_thumbs(request: Request) -> bool:
    from trova.ops.feedback import thumbs_source

    return thumbs_source(request.app.state.engine) is not None


@router.get("/calls/{call_id}")
def call_page(call_id: str, request: Request, session: SessionDep, user: AdminUser) -> Response:
    try:
        detail = call_detail(session, request.app.state.engine, call_id)
    except CallNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    return page(
        request,
        "ops_call.html",
        user=user,
        d=detail,
        has_thumbs=_has_thumbs(request),
        raw_pretty=_pretty(detail.call.raw_output),
    )


def _pretty(raw: str | None) -> str:
    if not raw:
        return ""
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw


@router.post("/calls/{call_id}/queue", dependencies=[CSRFChecked])
def add_to_queue(
    call_id: str,
    request: Request,
    session: SessionDep,
    user: AdminUser,
    queue_id: Annotated[int, Form()],
) -> Response:
    queue = session.get(AnnotationQueue, queue_id)
    if queue is None:
        raise HTTPException(404, "No such annotation queue.")
    try:
        _, added = annotation.add_call(session, queue, call_id, user)
    except annotation.AnnotationError as exc:
        raise HTTPException(404, str(exc)) from None
    flash(
        request,
        f"Added to queue {queue.name}." if added else f"Already in queue {queue.name}.",
        "success" if added else "info",
    )
    return _see_other(f"/ops/calls/{call_id}")


# ---------------------------------------------------------------- alerts


@router.get("/alerts")
def alerts_page(request: Request, session: SessionDep, user: AdminUser) -> Response:
    return _alerts(request, session, user)


def _alerts(
    request: Request,
    session: SessionDep,
    user: Any,
    *,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    rules = session.exec(select(AlertRule).order_by(col(AlertRule.name))).all()
    return page(
        request,
        "ops_alerts.html",
        user=user,
        status_code=status_code,
        rules=rules,
        events=alert_service.history(session),
        metrics=alert_service.METRICS,
        describe=alert_service.describe,
        format_value=alert_service.format_value,
        error=error,
        values=values or {},
    )


@router.post("/alerts", dependencies=[CSRFChecked])
def create_alert(
    request: Request,
    session: SessionDep,
    user: AdminUser,
    name: Annotated[str, Form(max_length=200)] = "",
    metric: Annotated[str, Form(max_length=40)] = "error_rate",
    op: Annotated[str, Form(max_length=2)] = ">",
    threshold: Annotated[str, Form(max_length=40)] = "",
    window_minutes: Annotated[str, Form(max_length=10)] = "15",
    min_calls: Annotated[str, Form(max_length=10)] = "20",
    provider: Annotated[str, Form(max_length=40)] = "",
    model: Annotated[str, Form(max_length=120)] = "",
    webhook_url: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    values = {
        "name": name,
        "metric": metric,
        "op": op,
        "threshold": threshold,
        "window_minutes": window_minutes,
        "min_calls": min_calls,
        "provider": provider,
        "model": model,
        "webhook_url": webhook_url,
    }
    try:
        rule = alert_service.create_rule(
            session,
            name=name,
            metric=metric,
            op=op,
            threshold=_threshold(threshold, metric),
            window_minutes=_whole(window_minutes, "The window"),
            min_calls=_whole(min_calls or "0", "Minimum calls"),
            provider=provider.strip() or None,
            model=model.strip() or None,
            webhook_url=webhook_url.strip() or None,
        )
    except alert_service.RuleError as exc:
        return _alerts(request, session, user, error=str(exc), values=values, status_code=422)
    flash(request, f"Alert rule {rule.name!r} created: {alert_service.describe(rule)}.")
    return _see_other("/ops/alerts")


def _threshold(raw: str, metric: str) -> float:
    """'5%', '5' or '0.05' for a rate; a plain number otherwise."""
    text = raw.strip().replace(",", ".")
    percent = text.endswith("%")
    try:
        number = float(text.rstrip("%").strip())
    except ValueError:
        raise alert_service.RuleError("The threshold must be a number, e.g. 5% or 2000.") from None
    metric_info = alert_service.METRICS.get(metric)
    if metric_info and metric_info.unit == "share" and (percent or number > 1):
        number /= 100
    return number


def _whole(raw: str, what: str) -> int:
    try:
        return int(raw.strip())
    except ValueError:
        raise alert_service.RuleError(f"{what} must be a whole number.") from None


def _rule(session: SessionDep, rule_id: int) -> AlertRule:
    rule = session.get(AlertRule, rule_id)
    if rule is None:
        raise HTTPException(404, "No such alert rule.")
    return rule


@router.post("/alerts/{rule_id}/toggle", dependencies=[CSRFChecked])
def toggle_alert(rule_id: int, request: Request, session: SessionDep, user: AdminUser) -> Response:
    rule = _rule(session, rule_id)
    rule.enabled = not rule.enabled
    if not rule.enabled:
        rule.state = "ok"
    session.add(rule)
    session.commit()
    flash(request, f"{rule.name} {'enabled' if rule.enabled else 'paused'}.")
    return _see_other("/ops/alerts")


@router.post("/alerts/{rule_id}/delete", dependencies=[CSRFChecked])
def delete_alert(rule_id: int, request: Request, session: SessionDep, user: AdminUser) -> Response:
    rule = _rule(session, rule_id)
    for event in session.exec(select(AlertEvent).where(AlertEvent.rule_id == rule.id)).all():
        session.delete(event)
    session.delete(rule)
    session.commit()
    flash(request, f"Alert rule {rule.name!r} deleted.")
    return _see_other("/ops/alerts")


@router.post("/alerts/evaluate", dependencies=[CSRFChecked])
def evaluate_alerts(request: Request, settings: SettingsDep, user: AdminUser) -> Response:
    events = alert_service.evaluate(request.app.state.engine, settings)
    flash(
        request,
        f"Rules evaluated: {len(events)} state change(s)."
        if events
        else "Rules evaluated: no change.",
        "info",
    )
    return _see_other("/ops/alerts")
