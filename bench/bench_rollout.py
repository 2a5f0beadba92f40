"""Rollout overhead on SQLite: assignment + event logging per request, and events/s ingest.

    python bench/bench_rollout.py [--flows 600] [--events 5000] [--batch-events 50000]
                                  [--threads 4] [--json]

Part 1 drives the create flow's rollout hooks (trova.rollout.web) exactly as the pages call
them, with a running 50/50 experiment (`off` vs an AI variant whose guardrails read a window
of 2,000 logged AI calls): GET /sell (flow start), POST /sell (photo uploaded), GET details
(assignment + exposure), GET prefill (sticky assignment + prefill_shown + guardrail check),
two field edits, publish (event + implicit feedback). Each hook's latency is what rollout adds
to that request. Part 2 measures raw event ingest: one INSERT + commit per event (what a
request does), the same from several threads at once, and bulk batches.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session
from starlette.requests import Request

from trova.accounts.models import User
from trova.ai.draft import ListingDraft
from trova.ai.models import AICall, CallStatus
from trova.ai.prefill import PrefillResult
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.db.migrate import upgrade
from trova.marketplace.models import Listing
from trova.rollout import events, experiments, guardrails, web
from trova.rollout.experiments import VariantSpec

OK_RESULT = PrefillResult(None, ListingDraft(), CallStatus.ok, "fake")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values) * 1000, 3),
        "p95_ms": round(pct(values, 0.95) * 1000, 3),
        "max_ms": round(max(values) * 1000, 3),
    }


def fake_request(settings: Settings, session_state: dict[str, Any], vid: str) -> Request:
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/sell",
            "query_string": b"",
            "headers": [(b"cookie", f"trova_vid={vid}".encode())],
            "app": app,
            "session": session_state,
        }
    )


Timer = Callable[[str, Callable[[], Any]], Any]


def one_flow(settings: Settings, session: Session, i: int, timed: Timer) -> None:
    """One seller through the create flow: each hook as the page calls it, timed."""
    user = User(id=i + 1, email=f"u{i}@example.com", name="u", password_hash="x")
    listing = Listing(id=i + 1, seller_id=i + 1)
    req = fake_request(settings, {}, f"v{i}")
    timed("GET /sell", lambda: web.flow_started(req, session, user))
    timed("POST /sell", lambda: web.photo_uploaded(req, session, user, listing))
    assignment = timed("GET details", lambda: web.prefill_assignment(req, session, user, listing))
    if assignment is not None and not assignment.off:

        def prefill_request() -> None:
            again = web.prefill_assignment(req, session, user, listing)
            web.prefill_shown(req, session, user, listing, OK_RESULT, again)

        timed("GET prefill", prefill_request)
    for field in ("title", "price"):
        timed("POST field_edited", lambda f=field: web.field_edited(req, session, user, listing, f))
    timed("POST publish", lambda: web.published(req, session, user, listing))


def bench_hooks(settings: Settings, flows: int) -> dict[str, Any]:
    engine = make_engine(settings.db_url)
    with Session(engine, expire_on_commit=False) as session:
        experiments.create(session, "bench", [VariantSpec("off", "off"), VariantSpec("ai", "fake")])
        experiments.start(session, "bench")
        # a realistic guardrail window: 2,000 AI calls of the AI variant in the last hour
        now = utcnow()
        session.execute(
            insert(AICall),
            [
                {
                    "id": f"call{i:08d}",
                    "created_at": now - timedelta(seconds=i),
                    "provider": "fake",
                    "model": "fake-1",
                    "provider_spec": "fake",
                    "experiment": "bench",
                    "variant": "ai",
                    "latency_ms": 100 + i % 400,
                    "status": CallStatus.ok,
                    "surface": "prefill",
                    "tokens_in": 0,
                    "tokens_out": 0,
                    "cost_usd": 0.0,
                    "attempts": 1,
                }
                for i in range(2000)
            ],
        )
        session.commit()
    timings: dict[str, list[float]] = defaultdict(list)

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        started = time.perf_counter()
        result = fn()
        timings[name].append(time.perf_counter() - started)
        return result

    with Session(engine, expire_on_commit=False) as session:
        for i in range(flows):
            one_flow(settings, session, i, timed)
        # what one guardrail judgement costs (made after each failed AI call, and after an ok
        # one at most every TROVA_ROLLOUT_GUARDRAIL_INTERVAL_S per process)
        view = experiments.running(session)
        assert view is not None
        for _ in range(200):
            timed("guardrail judgement", lambda: guardrails.check(session, view, only="ai"))
    engine.dispose()
    per_request = {name: summary_ms(values) for name, values in timings.items()}
    every = [
        v for name, values in timings.items() if name.startswith(("GET", "POST")) for v in values
    ]
    return {"flows": flows, "per_request": per_request, "all_requests": summary_ms(every)}


def bench_ingest(settings: Settings, n: int, batch_n: int, threads: int) -> dict[str, Any]:
    engine = make_engine(settings.db_url)
    out: dict[str, Any] = {}
    with Session(engine) as session:
        started = time.perf_counter()
        for i in range(n):
            events.log(session, "field_edited", flow_id=f"f{i % 500}", field="title", seller_id=i)
        out["single_commit_per_event"] = round(n / (time.perf_counter() - started))

    def worker(k: int, count: int) -> None:
        with Session(engine) as session:
            for i in range(count):
                events.log(session, "field_edited", flow_id=f"t{k}-{i}", field="price")

    per_thread = n // threads
    pool = [threading.Thread(target=worker, args=(k, per_thread)) for k in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out[f"single_commit_{threads}_threads"] = round(
        per_thread * threads / (time.perf_counter() - started)
    )

    batch = 1000
    with Session(engine) as session:
        started = time.perf_counter()
        for start in range(0, batch_n, batch):
            events.log_many(
                session,
                (
                    {"type": "field_edited", "flow_id": f"b{j}", "field": "color"}
                    for j in range(start, min(batch_n, start + batch))
                ),
            )
        out[f"bulk_batches_of_{batch}"] = round(batch_n / (time.perf_counter() - started))
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--flows", type=int, default=600)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--batch-events", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="trova-bench-rollout-") as tmp:
        root = Path(tmp)
        hooks_url = f"sqlite:///{root / 'hooks.db'}"
        ingest_url = f"sqlite:///{root / 'ingest.db'}"
        upgrade(hooks_url)
        upgrade(ingest_url)

        def settings(url: str) -> Settings:
            return Settings(
                _env_file=None,  # type: ignore[call-arg]
                data_dir=root / "data",
                database_url=url,
                secret_key="bench",
            )

        hooks = bench_hooks(settings(hooks_url), args.flows)
        ingest = bench_ingest(settings(ingest_url), args.events, args.batch_events, args.threads)
    result = {"hooks": hooks, "ingest_events_per_s": ingest}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"Rollout overhead per request (SQLite, {args.flows} create flows, 50/50 experiment):")
    print(f"  {'request':<20} {'n':>6} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}")
    rows = [*hooks["per_request"].items(), ("(all of them)", hooks["all_requests"])]
    for name, s in rows:
        print(
            f"  {name:<20} {s['n']:>6} {s['p50_ms']:>9.2f} {s['p95_ms']:>9.2f} {s['max_ms']:>9.2f}"
        )
    print("Event ingest on SQLite (WAL):")
    for name, rate in ingest.items():
        print(f"  {name:<28} {rate:>10,} events/s")


if __name__ == "__main__":
    main()
