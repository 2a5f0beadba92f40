"""Benchmark eval runs: concurrency speed-up with a slow fake provider, and the local model on the
starter dataset (wall time and its quality figures for the README).

    python bench/bench_evals.py [--cases 100] [--latency 0.3] [--json] [--skip-local]

Throughput: CASES cases (starter photos, cycled and mirrored to make distinct cases) through
`fake:latency=LATENCY` at concurrency 1 and 16, each through the real prefill pipeline
(sandbox DB, scoring, result storage). Goal: the 16-way run at least 12x faster.
Local: the `local` provider over the starter set (model loaded first), one run.
Everything runs in a temporary data dir; nothing touches data/.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parent.parent
STARTER = REPO / "evals" / "datasets" / "starter"


def make_cases(folder: Path, n: int) -> Path:
    """N distinct cases from the starter photos (mirrored copies past the first 70)."""
    rows = [json.loads(line) for line in (STARTER / "manifest.jsonl").read_text().splitlines()]
    (folder / "images").mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        case = dict(rows[i % len(rows)])
        data = (STARTER / case["image"]).read_bytes()
        if i >= len(rows):
            with Image.open(io.BytesIO(data)) as img:
                buf = io.BytesIO()
                ImageOps.mirror(img.convert("RGB")).save(buf, "JPEG", quality=88)
                data = buf.getvalue()
        case["id"] = f"{case['id']}-{i}"
        case["image"] = f"images/{case['id']}.jpg"
        (folder / case["image"]).write_bytes(data)
        out.append(json.dumps(case))
    (folder / "manifest.jsonl").write_text("\n".join(out) + "\n")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--skip-local", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="trova-bench-evals-"))
    os.environ["TROVA_DATA_DIR"] = str(tmp / "data")
    os.environ.setdefault("TROVA_MODEL_CACHE_DIR", str(REPO / "data" / "models"))
    from trova.config import Settings
    from trova.db.engine import make_engine
    from trova.db.migrate import upgrade
    from trova.evals import datasets, runner

    settings = Settings()
    settings.ensure_dirs()
    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    figures: dict[str, object] = {}

    version, _ = datasets.import_path(engine, make_cases(tmp / "bench", args.cases), "bench")
    spec = f"fake:latency={args.latency:g}"
    walls = {}
    for concurrency in (1, args.concurrency):
        started = time.perf_counter()
        run = runner.run_sync(
            engine, settings, version, runner.RunOptions(provider=spec, concurrency=concurrency)
        )
        walls[concurrency] = time.perf_counter() - started
        assert run.status == "completed" and run.n_done == args.cases
    ratio = walls[1] / walls[args.concurrency]
    figures["throughput"] = {
        "cases": args.cases,
        "provider": spec,
        "wall_s_concurrency_1": round(walls[1], 2),
        f"wall_s_concurrency_{args.concurrency}": round(walls[args.concurrency], 2),
        "cases_per_s": round(args.cases / walls[args.concurrency], 1),
        "speedup": round(ratio, 1),
        "goal": ">= 12x",
    }

    if not args.skip_local:
        starter = datasets.resolve_arg(engine, settings, str(STARTER))
        started = time.perf_counter()
        run = runner.run_sync(
            engine, settings, starter, runner.RunOptions(provider="local", concurrency=2)
        )
        wall = time.perf_counter() - started
        m = run.metrics or {}
        held = m.get("by_tag", {}).get("held-out", {})
        figures["local_starter"] = {
            "dataset": f"starter@v{starter.number} ({starter.case_count} cases)",
            "wall_s": round(wall, 2),
            "latency_p50_ms": m.get("latency_p50_ms"),
            "latency_p95_ms": m.get("latency_p95_ms"),
            "category_top1": m.get("category_accuracy"),
            "category_top3": m.get("category_top3"),
            "category_top_level": m.get("category_top_level"),
            "color": m.get("color_accuracy"),
            "validity": m.get("validity"),
            "title_relevance": m.get("title_relevance"),
            "price_in_range": m.get("price_in_range"),
            "overall": m.get("overall"),
            "held_out_category_top1": held.get("category_accuracy"),
            "held_out_cases": held.get("n_cases"),
        }
    engine.dispose()

    if args.json:
        print(json.dumps(figures))
        return 0
    t = figures["throughput"]
    assert isinstance(t, dict)
    print(f"eval throughput, {args.cases} cases, {spec}:")
    print(f"  concurrency 1:  {t['wall_s_concurrency_1']:.2f} s")
    print(
        f"  concurrency {args.concurrency}: {t[f'wall_s_concurrency_{args.concurrency}']:.2f} s "
        f"({t['cases_per_s']} cases/s)"
    )
    print(f"  speed-up: {t['speedup']}x (goal >= 12x)")
    if "local_starter" in figures:
        loc = figures["local_starter"]
        assert isinstance(loc, dict)
        print(f"local model on {loc['dataset']}: {loc['wall_s']:.1f} s wall (concurrency 2)")
        for key in (
            "category_top1",
            "category_top3",
            "category_top_level",
            "color",
            "validity",
            "title_relevance",
            "price_in_range",
            "overall",
        ):
            print(f"  {key:<20} {loc[key]:.3f}")
        print(
            f"  held-out slice ({loc['held_out_cases']} cases): category top-1 "
            f"{loc['held_out_category_top1']:.3f}"
        )
        print(f"  latency p50 {loc['latency_p50_ms']:.0f} ms, p95 {loc['latency_p95_ms']:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
