"""Retrieval evals: labeled queries over the demo catalogue -> recall@10, MRR, nDCG@10 per mode.

The query set (evals/search/queries.yaml) names relevant listings by title, so it survives
reloads; the eval loads the catalogue's 63 listings into a scratch database (SQLite by
default, or the empty database at db_url), builds the index with the chosen embedder, and
runs every query in every mode.
"""

from __future__ import annotations

import math
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlmodel import Session, select

from trova.accounts.models import User
from trova.config import Settings
from trova.db._time import utcnow
from trova.db.engine import make_engine
from trova.db.migrate import upgrade
from trova.demo.loader import catalogue
from trova.marketplace.models import Listing, ListingStatus
from trova.search.backends import Filters
from trova.search.index import rebuild
from trova.search.query import MODES, as_mode, clear_caches, search
from trova.search.service import embedders

QUERIES_FILE = Path(__file__).resolve().parents[3] / "evals" / "search" / "queries.yaml"
K = 10


@dataclass(frozen=True)
class QueryCase:
    q: str
    kind: str
    relevant: dict[str, int]  # title -> grade (2 = what the buyer is after, 1 = fair match)


def load_queries(path: Path | None = None) -> list[QueryCase]:
    path = path or QUERIES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no search query set at {path}")
    data = yaml.safe_load(path.read_text("utf-8"))
    cases = []
    for item in data["queries"]:
        rel = item["relevant"]
        relevant = {t: 1 for t in rel} if isinstance(rel, list) else dict(rel)
        cases.append(QueryCase(str(item["q"]), str(item.get("kind", "other")), relevant))
    return cases


# ---------------------------------------------------------------- metrics


def recall_at(ranked: list[int], relevant: dict[int, int], k: int = K) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & set(relevant)) / len(relevant)


def reciprocal_rank(ranked: list[int], relevant: dict[int, int]) -> float:
    for rank, lid in enumerate(ranked, start=1):
        if lid in relevant:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: list[int], relevant: dict[int, int], k: int = K) -> float:
    dcg = sum(
        (2 ** relevant.get(lid, 0) - 1) / math.log2(rank + 1)
        for rank, lid in enumerate(ranked[:k], start=1)
    )
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum((2**g - 1) / math.log2(rank + 1) for rank, g in enumerate(ideal, start=1))
    return dcg / idcg if idcg else 0.0


# ---------------------------------------------------------------- the catalogue


def load_catalogue(engine: Any) -> dict[str, int]:
    """Insert the demo catalogue's listings (text only, no photos); returns title -> id."""
    data = catalogue()
    now = utcnow()
    ids: dict[str, int] = {}
    with Session(engine, expire_on_commit=False) as session:
        seller = session.exec(select(User).where(User.email == "eval@search.trova.local")).first()
        if seller is None:
            seller = User(email="eval@search.trova.local", name="Search eval", password_hash="-")
            session.add(seller)
            session.flush()
        assert seller.id is not None
        for n, item in enumerate(data["listings"]):
            published = now - timedelta(days=float(item.get("age_days", 0)), minutes=n)
            status = ListingStatus(item.get("status", "published"))
            listing = Listing(
                seller_id=seller.id,
                title=item["title"],
                description=" ".join(str(item["description"]).split()),
                category=item["category"],
                condition=item["condition"],
                brand=item.get("brand"),
                color=item.get("color"),
                price_cents=round(float(item["price_eur"]) * 100),
                status=status,
                published_at=published,
                sold_at=published if status == ListingStatus.sold else None,
            )
            session.add(listing)
            session.flush()
            assert listing.id is not None
            ids[listing.title] = listing.id
        session.commit()
    return ids


# ---------------------------------------------------------------- the run


@dataclass
class ModeScore:
    mode: str
    recall: float
    mrr: float
    ndcg: float
    latency_ms: float
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class SearchEvalReport:
    embedder: str
    version: str
    backend: str
    queries: int
    index_seconds: float
    scores: list[ModeScore]
    rows: list[dict[str, Any]]  # per query and mode: rank of first hit, recall, top titles

    def to_dict(self) -> dict[str, Any]:
        return {
            "embedder": self.embedder,
            "version": self.version,
            "backend": self.backend,
            "queries": self.queries,
            "k": K,
            "index_seconds": round(self.index_seconds, 2),
            "scores": [
                {
                    "mode": s.mode,
                    f"recall@{K}": round(s.recall, 3),
                    "mrr": round(s.mrr, 3),
                    f"ndcg@{K}": round(s.ndcg, 3),
                    "latency_ms": round(s.latency_ms, 1),
                    "by_kind": s.by_kind,
                }
                for s in self.scores
            ],
            "rows": self.rows,
        }


def run_search_eval(
    modes: Iterable[str] = MODES,
    *,
    embedder: str | None = None,
    settings: Settings | None = None,
    queries_path: Path | None = None,
    db_url: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SearchEvalReport:
    """Score each search mode on the labeled query set (see module docstring)."""
    settings = settings or Settings()
    embedder = embedder or settings.search_embedder
    cases = load_queries(queries_path)
    modes = [as_mode(m) for m in modes]
    with tempfile.TemporaryDirectory(prefix="trova-search-eval-") as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'eval.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            titles = load_catalogue(engine)
            factory = embedders(settings)
            built = rebuild(engine, factory, embedder)
            filters = Filters(statuses=("published", "sold"))
            scores: list[ModeScore] = []
            rows: list[dict[str, Any]] = []
            total = len(cases) * len(modes)
            done = 0
            with Session(engine) as session:
                for mode in modes:
                    clear_caches()  # every mode pays for its own query embeddings
                    per_kind: dict[str, list[tuple[float, float, float]]] = {}
                    latencies: list[float] = []
                    for case in cases:
                        relevant = {titles[t]: g for t, g in case.relevant.items()}
                        started = time.perf_counter()
                        result = search(
                            session, case.q, factory, mode=as_mode(mode), filters=filters, limit=K
                        )
                        latencies.append((time.perf_counter() - started) * 1000)
                        ranked = result.ids
                        triple = (
                            recall_at(ranked, relevant),
                            reciprocal_rank(ranked, relevant),
                            ndcg_at(ranked, relevant),
                        )
                        per_kind.setdefault(case.kind, []).append(triple)
                        by_id = {v: t for t, v in titles.items()}
                        rows.append(
                            {
                                "mode": mode,
                                "q": case.q,
                                "kind": case.kind,
                                f"recall@{K}": round(triple[0], 3),
                                "rr": round(triple[1], 3),
                                "top3": [by_id.get(i, str(i)) for i in ranked[:3]],
                                "corrections": result.corrections,
                            }
                        )
                        done += 1
                        if progress:
                            progress(done, total)
                    every = [t for ts in per_kind.values() for t in ts]
                    scores.append(
                        ModeScore(
                            mode=mode,
                            recall=statistics.fmean(t[0] for t in every),
                            mrr=statistics.fmean(t[1] for t in every),
                            ndcg=statistics.fmean(t[2] for t in every),
                            latency_ms=statistics.median(latencies),
                            by_kind={
                                kind: {
                                    f"recall@{K}": round(statistics.fmean(t[0] for t in ts), 3),
                                    "mrr": round(statistics.fmean(t[1] for t in ts), 3),
                                    f"ndcg@{K}": round(statistics.fmean(t[2] for t in ts), 3),
                                }
                                for kind, ts in per_kind.items()
                            },
                        )
                    )
            return SearchEvalReport(
                embedder=embedder,
                version=built.key,
                backend="postgres" if engine.dialect.name == "postgresql" else "sqlite",
                queries=len(cases),
                index_seconds=built.seconds,
                scores=scores,
                rows=rows,
            )
        finally:
            engine.dispose()
