"""Rollups and the dashboard: the numbers match the call log, filters cut every chart."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from tests.ops.conftest import MakeCall, publish_listing
from trova.accounts.models import User
from trova.ai.models import CallStatus
from trova.db._time import utcnow
from trova.ops import _sql
from trova.ops.dashboard import Filters, build
from trova.ops.models import CallOutcome, rollup_hourly
from trova.ops.rollups import refresh


def _seed(make_call: MakeCall) -> None:
    now = utcnow()
    for hours_ago, provider, model, status, latency in [
        (1, "openai", "gpt-4o-mini", CallStatus.ok, 400),
        (1, "openai", "gpt-4o-mini", CallStatus.error, 2500),
        (2, "openai", "gpt-4o-mini", CallStatus.ok, 900),
        (3, "anthropic", "claude-haiku-4-5", CallStatus.timeout, 20000),
        (3, "anthropic", "claude-haiku-4-5", CallStatus.ok, 1200),
        (5, "local", "efficientnet-lite0", CallStatus.invalid, 120),
    ]:
        make_call(
            created_at=now - timedelta(hours=hours_ago, minutes=10),
            provider=provider,
            model=model,
            status=status,
            latency_ms=latency,
            tokens_in=1000 if provider != "local" else 0,
            tokens_out=100 if provider != "local" else 0,
            cost_usd=0.001 if provider != "local" else 0.0,
        )


def test_dashboard_totals_match_the_call_log(engine: Engine, make_call: MakeCall) -> None:
    _seed(make_call)
    refresh(engine)
    board = build(engine, Filters.build("24h"))
    t = board.totals
    assert t["n"] == 6
    assert t["error_rate"] == pytest.approx(1 / 6)
    assert t["timeout_rate"] == pytest.approx(1 / 6)
    assert t["invalid_rate"] == pytest.approx(1 / 6)
    assert t["tokens_in"] == 5000 and t["tokens_out"] == 500
    assert t["cost_usd"] == pytest.approx(0.005)
    assert sum(board.series["volume"]) == 6
    assert board.bucket == "hour" and len(board.labels) >= 24
    by_provider = {}
    for row in board.breakdown:
        by_provider[row["provider"]] = by_provider.get(row["provider"], 0) + row["n"]
    assert by_provider == {"openai": 3, "anthropic": 2, "local": 1}
    assert board.options["provider"] == ["anthropic", "local", "openai"]
    assert board.options["prompt"] == ["extract_listing@v2"]


def test_filters_cut_every_number(engine: Engine, make_call: MakeCall) -> None:
    _seed(make_call)
    make_call(prompt_version="v1", experiment="prompt-ab", variant="control")
    make_call(prompt_version="v2", experiment="prompt-ab", variant="treatment")
    refresh(engine)
    assert build(engine, Filters.build("24h", provider="anthropic")).totals["n"] == 2
    assert build(engine, Filters.build("24h", model="gpt-4o-mini")).totals["n"] == 5
    v1 = build(engine, Filters.build("24h", prompt="extract_listing@v1"))
    assert v1.totals["n"] == 1
    treatment = build(engine, Filters.build("24h", variant="prompt-ab:treatment"))
    assert treatment.totals["n"] == 1
    assert sum(treatment.series["volume"]) == 1
    assert build(engine, Filters.build("1h", provider="local")).totals["n"] == 0


def test_calls_after_the_last_refresh_show_up_live(engine: Engine, make_call: MakeCall) -> None:
    _seed(make_call)
    refresh(engine)
    make_call(created_at=utcnow() - timedelta(seconds=30), status=CallStatus.error)
    board = build(engine, Filters.build("24h"))
    assert board.totals["n"] == 7
    assert board.totals["error_rate"] == pytest.approx(2 / 7)


def test_refresh_is_incremental_and_catches_late_rows(engine: Engine, make_call: MakeCall) -> None:
    _seed(make_call)
    refresh(engine)
    # A call that started 5 minutes ago but was saved after the refresh (retries, fallback).
    make_call(created_at=utcnow() - timedelta(minutes=5))
    result = refresh(engine)
    assert result.hours <= 3  # only the hours near the watermark are redone
    with engine.connect() as conn:
        rolled = conn.execute(select(func.sum(rollup_hourly.c.n))).scalar()
        logged = conn.execute(select(func.count()).select_from(_sql.calls)).scalar()
    assert rolled == logged == 7


def test_acceptance_comes_from_what_sellers_published(
    engine: Engine, make_call: MakeCall, seller_user: User
) -> None:
    kept = make_call()
    edited = make_call()
    make_call()  # never published: not in the acceptance denominators
    publish_listing(engine, kept, seller_user)
    publish_listing(engine, edited, seller_user, title="Vintage Peugeot road bike", brand=None)
    refresh(engine)
    with engine.connect() as conn:
        outcome = (
            conn.execute(
                select(CallOutcome.__table__).where(CallOutcome.__table__.c.ai_call_id == edited.id)  # type: ignore[attr-defined]
            )
            .one()
            ._mapping
        )
    assert outcome["st_title"] == "edited" and outcome["st_brand"] == "cleared"
    assert outcome["st_category"] == "accepted" and outcome["n_edited"] == 2
    totals = build(engine, Filters.build("24h")).totals
    assert totals["published"] == 2
    assert totals["acceptance"]["title"] == pytest.approx(0.5)
    assert totals["acceptance"]["brand"] == pytest.approx(0.5)
    assert totals["acceptance"]["category"] == pytest.approx(1.0)


def test_latency_percentiles_from_the_histogram() -> None:
    # 100 calls: 50 in (250, 500] ms, 45 in (500, 1000], 5 in (5000, 7500]
    hist = [0.0] * 16
    hist[3], hist[4], hist[9] = 50, 45, 5
    p50 = _sql.quantile(hist, 0.5)
    p95 = _sql.quantile(hist, 0.95)
    assert p50 is not None and 250 < p50 <= 500
    assert p95 is not None and 500 < p95 <= 1000
    assert _sql.quantile([0.0] * 16, 0.5) is None
