"""JSON API of the ops console (admins; Bearer tokens work): dashboard, calls, queues."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from sqlmodel import col, select

from trova.deps import SessionDep, SettingsDep
from trova.ops import annotation
from trova.ops.access import AdminUser, StaffUser
from trova.ops.dashboard import RANGES, build
from trova.ops.diff import draft_values
from trova.ops.inspector import CallNotFound, CallQuery, call_detail, list_calls
from trova.ops.models import AnnotationQueue
from trova.ops.pages import call_query, dashboard_filters
from trova.ops.rollups import ensure_fresh

router = APIRouter(prefix="/api/ops", tags=["ops"])
Text = Annotated[str, Query(max_length=200)]


@router.get("/dashboard")
def dashboard(
    request: Request,
    user: AdminUser,
    settings: SettingsDep,
    range: Annotated[str, Query(max_length=8, description=", ".join(RANGES))] = "24h",
    provider: Text = "",
    model: Text = "",
    prompt: Text = "",
    variant: Text = "",
    start: Annotated[str, Query(max_length=10, description="YYYY-MM-DD (UTC)")] = "",
    end: Annotated[str, Query(max_length=10, description="YYYY-MM-DD, inclusive")] = "",
) -> dict[str, Any]:
    """Every dashboard series and total for the filters (UTC hours; days past 3 days)."""
    if range not in RANGES:
        raise HTTPException(422, f"Unknown range {range!r}; use one of {', '.join(RANGES)}.")
    engine = request.app.state.engine
    ensure_fresh(engine, timedelta(seconds=max(120.0, 3 * settings.ops_refresh_interval_s)))
    board = build(engine, dashboard_filters(range, provider, model, prompt, variant, start, end))
    return {
        "start": board.filters.start.isoformat(),
        "end": board.filters.end.isoformat(),
        **board.chart_data(),
        "totals": board.totals,
        "breakdown": board.breakdown,
        "rolled_until": board.rolled_until.isoformat() if board.rolled_until else None,
    }


@router.get("/calls")
def calls(
    request: Request,
    user: AdminUser,
    settings: SettingsDep,
    q: Annotated[CallQuery, Depends(call_query)],
) -> dict[str, Any]:
    """AI calls, newest first, 50 a page; pass `next` back as `before` for the next page."""
    page = list_calls(request.app.state.engine, q, settings.ops_low_confidence)
    return {
        "items": [
            {
                "id": r.id,
                "created_at": r.created_at.isoformat(),
                "status": r.status,
                "provider": r.provider,
                "model": r.model,
                "prompt": r.prompt,
                "variant": r.variant,
                "category": r.category,
                "title": r.title,
                "latency_ms": r.latency_ms,
                "cost_usd": r.cost_usd,
                "fields_edited": r.n_edited,
                "thumbs_up": r.thumbs_up,
                "thumbs_down": r.thumbs_down,
            }
            for r in page.rows
        ],
        "next": page.next_cursor,
    }


@router.get("/calls/{call_id}")
def call(call_id: str, request: Request, session: SessionDep, user: AdminUser) -> dict[str, Any]:
    """One call: prompt, raw output, draft, and the field diff against the published listing."""
    try:
        d = call_detail(session, request.app.state.engine, call_id)
    except CallNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    c = d.call
    return {
        "id": c.id,
        "created_at": c.created_at.isoformat(),
        "status": c.status,
        "error": c.error,
        "provider": c.provider,
        "provider_spec": c.provider_spec,
        "model": c.model,
        "fallback_from": c.fallback_from,
        "prompt": {
            "name": c.prompt_name,
            "version": c.prompt_version,
            "hash": c.prompt_hash,
            "note": d.prompt_note,
        },
        "experiment": c.experiment,
        "variant": c.variant,
        "latency_ms": c.latency_ms,
        "tokens_in": c.tokens_in,
        "tokens_out": c.tokens_out,
        "cost_usd": c.cost_usd,
        "photo": f"/media/{d.photo_id}/full.jpg" if d.photo_id else None,
        "raw_output": c.raw_output,
        "draft": draft_values(c.draft),
        "confidence": c.confidence,
        "flags": c.flags,
        "listing_id": d.listing.id if d.listing else None,
        "diff": [
            {
                "field": f.field,
                "suggested": f.suggested,
                "published": f.published,
                "state": f.state,
                "confidence": f.confidence,
                "similarity": f.similarity,
            }
            for f in d.diffs
        ],
        "thumbs": {"up": d.thumbs_up, "down": d.thumbs_down},
        "queues": [q.name for q, inside in d.queues if inside],
    }


@router.get("/queues")
def queues(session: SessionDep, user: StaffUser) -> list[dict[str, Any]]:
    """Annotation queues with their rule, progress and agreement."""
    out = []
    for q in session.exec(select(AnnotationQueue).order_by(col(AnnotationQueue.name))).all():
        stats = annotation.stats(session, q, user)
        agree = annotation.agreement(session, q)
        out.append(
            {
                "name": q.name,
                "rule": q.rule,
                "daily_quota": q.daily_quota,
                "overlap": q.overlap,
                "items": stats.items,
                "done": stats.done,
                "left_for_me": stats.left_for_me,
                "agreement": agree.overall,
                "kappa": agree.kappa,
            }
        )
    return out
