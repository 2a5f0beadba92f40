"""Load-test browsing on 10,000 SQLite listings: requests/s and p50/p95 latency per endpoint.

    python bench/bench_browse.py [--listings 10000] [--concurrency 8] [--warmup 3] [--seconds 10]
                                 [--json] [--keep DIR] [--profile]

Seeds a temp data dir (migrations, the demo catalogue with its real photos, then bulk rows via
SQLAlchemy Core cloned from it: every listing has photo rows whose files are hard links to the
stored demo images, so the grid renders real <img> tags), serves it with uvicorn in a separate
process, and drives each endpoint in turn from this process with `--concurrency` threads, each
with its own keep-alive httpx client. The server's CPU use over each window is reported too:
near 100% means the app is the bottleneck, well under it means the client or the I/O is.
`--profile` then breaks the time down in-process: each SQL statement with SQLite's query plan,
and the template render.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select

from trova.accounts.models import User
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.db.migrate import upgrade
from trova.demo.loader import load_demo
from trova.marketplace.models import Listing, ListingStatus, Photo
from trova.media.storage import LocalStorage, image_key, new_image_id

VARIANTS = ("full", "card", "thumb")
SELLERS = 200


# ---------------------------------------------------------------- seeding


def seed(data_dir: Path, listings: int, rng: random.Random) -> tuple[str, list[int]]:
    """Create and fill the database; returns its URL and the published listing ids."""
    db_url = f"sqlite:///{data_dir / 'trova.db'}"
    settings = Settings(_env_file=None, data_dir=data_dir, database_url=db_url)
    settings.ensure_dirs()
    upgrade(db_url)
    engine = make_engine(db_url)
    load_demo(engine, settings)  # 8 sellers, ~63 listings, their photos normalized and stored
    storage = LocalStorage(settings.images_dir)
    users, listing_t, photo_t = User.__table__, Listing.__table__, Photo.__table__
    with engine.begin() as conn:
        templates = [dict(row._mapping) for row in conn.execute(select(listing_t))]
        photos_by_listing: dict[int, list[dict[str, Any]]] = {}
        for row in conn.execute(select(photo_t).order_by(photo_t.c.position)):
            photos_by_listing.setdefault(row.listing_id, []).append(dict(row._mapping))
        password_hash = conn.execute(select(users.c.password_hash).limit(1)).scalar() or "x"
        now = utcnow()
        conn.execute(
            insert(users),
            [
                {
                    "email": f"bench-seller-{i}@example.com",
                    "name": f"Bench Seller {i}",
                    "password_hash": password_hash,
                    "roles": "",
                    "created_at": now,
                }
                for i in range(SELLERS)
            ],
        )
        seller_ids = list(conn.execute(select(users.c.id)).scalars())
        next_id = int(max(t["id"] for t in templates)) + 1
        rows, photo_rows = [], []
        for listing_id in range(next_id, next_id + listings - len(templates)):
            template = rng.choice(templates)
            published = now - timedelta(minutes=rng.randrange(60 * 24 * 90))
            sold = rng.random() < 0.05
            rows.append(
                {
                    **{k: v for k, v in template.items() if k != "id"},
                    "id": listing_id,
                    "seller_id": rng.choice(seller_ids),
                    "price_cents": max(100, int(template["price_cents"] * rng.uniform(0.6, 1.4))),
                    "status": ListingStatus.sold if sold else ListingStatus.published,
                    "ai_call_id": None,
                    "created_at": published,
                    "updated_at": published,
                    "published_at": published,
                    "sold_at": published + timedelta(days=1) if sold else None,
                }
            )
            for source in photos_by_listing.get(template["id"], [])[:2]:
                photo_id = new_image_id()
                for variant in VARIANTS:
                    target = storage.path(image_key(photo_id, variant))
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.link(storage.path(image_key(source["id"], variant)), target)
                photo_rows.append({**source, "id": photo_id, "listing_id": listing_id})
        for start in range(0, len(rows), 2000):
            conn.execute(insert(listing_t), rows[start : start + 2000])
        for start in range(0, len(photo_rows), 2000):
            conn.execute(insert(photo_t), photo_rows[start : start + 2000])
        published_ids = list(
            conn.execute(
                select(listing_t.c.id).where(listing_t.c.status == ListingStatus.published)
            ).scalars()
        )
    engine.dispose()
    return db_url, published_ids


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(data_dir: Path, db_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TROVA_")},
        "TROVA_DATA_DIR": str(data_dir),
        "TROVA_DATABASE_URL": db_url,
        "TROVA_SECRET_KEY": "bench-secret",
        "TROVA_PREFILL_PROVIDER": "fake",
        # No background workers (search indexing, retention, model warm-up) competing for the
        # two cores while we measure request handling.
        "TROVA_RUN_WORKERS": "false",
    }
    cmd = [sys.executable, "-m", "uvicorn", "--factory", "trova.app:create_app"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    cmd += ["--no-access-log"]
    proc = subprocess.Popen(cmd, env=env, cwd=data_dir)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"Error: the server exited with {proc.returncode} before answering")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"Error: the server on {url} did not answer /healthz within 30 s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), for the server's utilisation."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- load


@dataclass
class Result:
    name: str
    path: str
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    server_cpu: float  # fraction of one core
    client_cpu: float  # this process (the load generator), fraction of one core

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def drive(
    base: str,
    paths: Callable[[], str],
    concurrency: int,
    warmup: float,
    seconds: float,
    server_pid: int,
) -> tuple[list[float], int, float, float, float]:
    """Hit paths() from `concurrency` threads.

    Returns latencies, errors, elapsed seconds, and the server's and this process's CPU use.
    """
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    phase = {"measuring": False, "stop": False}

    def worker() -> None:
        nonlocal errors
        with httpx.Client(base_url=base, timeout=30) as client:
            while not phase["stop"]:
                path = paths()
                start = time.perf_counter()
                try:
                    ok = client.get(path).status_code == 200
                except httpx.HTTPError:
                    ok = False
                took = time.perf_counter() - start
                if phase["measuring"]:
                    with lock:
                        latencies.append(took)
                        errors += not ok

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    time.sleep(warmup)
    cpu0, own0, t0 = cpu_seconds(server_pid), time.process_time(), time.perf_counter()
    phase["measuring"] = True
    time.sleep(seconds)
    phase["measuring"] = False
    elapsed = time.perf_counter() - t0
    cpu, own = cpu_seconds(server_pid) - cpu0, time.process_time() - own0
    phase["stop"] = True
    for t in threads:
        t.join()
    return latencies, errors, elapsed, cpu / elapsed, own / elapsed


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def endpoints(ids: list[int], rng: random.Random) -> list[tuple[str, str, Callable[[], str]]]:
    return [
        ("baseline", "/healthz (framework floor)", lambda: "/healthz"),
        ("browse page", "/", lambda: "/"),
        ("search page", "/?q=guitar", lambda: "/?q=guitar"),
        (
            "category+sort page",
            "/?category=bicycles&sort=price_asc",
            lambda: "/?category=bicycles&sort=price_asc",
        ),
        ("list API", "/api/listings", lambda: "/api/listings"),
        ("listing API", "/api/listings/{id}", lambda: f"/api/listings/{rng.choice(ids)}"),
    ]


# ---------------------------------------------------------------- profile


def profile(db_url: str, ids: list[int], rounds: int = 30) -> None:
    """Where a request's time goes, in-process: each SQL statement the browse code runs (mean
    time and SQLite's query plan), and the browse template's render time."""
    from sqlalchemy import event
    from sqlmodel import Session
    from starlette.requests import Request

    from trova.marketplace import service
    from trova.web.templating import make_templates

    engine = make_engine(db_url)
    timings: dict[str, list[float]] = {}
    first_params: dict[str, Any] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        conn.info["t0"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.startswith("EXPLAIN"):
            return
        timings.setdefault(statement, []).append(time.perf_counter() - conn.info.pop("t0"))
        first_params.setdefault(statement, params)

    newest, by_price = service.Sort.newest, service.Sort.price_asc
    cases: list[tuple[str, Callable[[Any], object]]] = [
        ("/ (page 1)", lambda s: service.browse(s, sort=newest)),
        ("/?page=200", lambda s: service.browse(s, sort=newest, page=200)),
        ("/?q=guitar", lambda s: service.browse(s, q="guitar")),
        (
            "/?category=bicycles&sort=price_asc",
            lambda s: service.browse(s, category="bicycles", sort=by_price),
        ),
        ("photos_of(24 ids)", lambda s: service.photos_of(s, ids[:24])),
        ("get listing", lambda s: service.get_visible(s, ids[len(ids) // 2], None)),
    ]
    print("\nin-process breakdown (SQLite, mean of", rounds, "runs)")
    with Session(engine) as session:
        for name, call in cases:
            timings.clear()
            call(session)
            start = time.perf_counter()
            for _ in range(rounds):
                call(session)
                session.expunge_all()
            total = (time.perf_counter() - start) / rounds * 1000
            print(f"\n{name}: {total:.2f} ms per call")
            for statement, took in list(timings.items()):
                sql = " ".join(statement.split())
                with engine.connect() as conn:
                    plan = conn.exec_driver_sql(
                        "EXPLAIN QUERY PLAN " + statement, first_params[statement]
                    ).all()
                print(f"  {statistics.fmean(took) * 1000:6.2f} ms  {sql[:150]}")
                print(f"            plan: {' | '.join(str(row[-1]) for row in plan)}")
        page = service.browse(session)
        photos = service.photos_of(session, [lst.id for lst in page.items if lst.id is not None])
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": []}
    request = Request({**scope, "session": {}})
    context = {"request": request, "user": None, "result": page, "photos": photos}
    context.update(q="", category="", sort="newest")
    for auto_reload in (True, False):
        env = make_templates().env
        env.auto_reload = auto_reload
        env.get_template("browse.html").render(context)
        start = time.perf_counter()
        for _ in range(rounds):
            env.get_template("browse.html").render(context)
        render_ms = (time.perf_counter() - start) / rounds * 1000
        print(
            f"\nrender browse.html (24 cards), jinja auto_reload={auto_reload}: {render_ms:.2f} ms"
        )
    engine.dispose()


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--listings", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per endpoint")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds each")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", type=Path, help="seed into this dir and keep it")
    parser.add_argument("--profile", action="store_true", help="SQL/template breakdown after")
    args = parser.parse_args()

    rng = random.Random(42)
    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="trova-bench-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        db_url, ids = seed(data_dir, args.listings, rng)
        seeded_s = time.perf_counter() - started
        proc, base = start_server(data_dir, db_url)
        try:
            results = []
            for name, label, paths in endpoints(ids, rng):
                lat, errors, elapsed, cpu, own = drive(
                    base, paths, args.concurrency, args.warmup, args.seconds, proc.pid
                )
                results.append(
                    Result(
                        name,
                        label,
                        len(lat),
                        errors,
                        elapsed,
                        percentile(lat, 0.5) * 1000,
                        percentile(lat, 0.95) * 1000,
                        cpu,
                        own,
                    )
                )
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        if args.json:
            print(
                json.dumps(
                    {
                        "listings": args.listings,
                        "concurrency": args.concurrency,
                        "cpus": os.cpu_count(),
                        "seed_s": round(seeded_s, 2),
                        "results": [{**r.__dict__, "rps": round(r.rps, 1)} for r in results],
                    }
                )
            )
        else:
            print(
                f"browse bench: {len(ids):,} published of {args.listings:,} listings (SQLite), "
                f"seeded in {seeded_s:.1f} s; concurrency {args.concurrency}, "
                f"{args.warmup:g} s warm-up + {args.seconds:g} s each; {os.cpu_count()} CPUs"
            )
            print(
                f"{'endpoint':<38} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
                f"{'errors':>6} {'server CPU':>10} {'client CPU':>10}"
            )
            for r in results:
                print(
                    f"{r.path:<38} {r.rps:>7.1f} {r.p50_ms:>8.1f} {r.p95_ms:>8.1f} "
                    f"{r.errors:>6} {r.server_cpu:>10.0%} {r.client_cpu:>10.0%}"
                )
            print(
                "CPU is a share of one core (the server's thread pool can use more than one); "
                "server CPU near 100%+ means the app is the bottleneck."
            )
        if args.profile:
            profile(db_url, ids)
        return 1 if any(r.errors for r in results) else 0
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
