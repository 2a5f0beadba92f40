"""Platform overhead per prefill with the `fake` provider: intake + model resize + logging.

    python bench/bench_prefill.py [--runs 40]

Measures what Trova adds around a model call (the fake provider answers instantly): normalize
the upload, resize for the model, run the provider chain, repair, write the ai_calls row.
Inputs: a 12 MP camera-like JPEG and a 1 MP PNG (made in memory, see bench_intake.py).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_intake import camera_like

from trova.ai.prefill import prefill
from trova.config import Settings
from trova.db.engine import make_engine
from trova.db.migrate import upgrade
from trova.media import normalize


def encode(width: int, height: int, fmt: str) -> bytes:
    buf = io.BytesIO()
    image = camera_like(width, height)
    image.save(buf, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return buf.getvalue()


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def one(engine: object, settings: Settings, raw: bytes) -> tuple[float, float]:
    start = time.perf_counter()
    image = normalize(raw)
    mid = time.perf_counter()
    result = await prefill(engine, settings, image.data, providers=["fake"])  # type: ignore[arg-type]
    end = time.perf_counter()
    assert result.status == "ok"
    return (mid - start) * 1000, (end - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), run_workers=False)
        settings.ensure_dirs()
        upgrade(settings.db_url)
        engine = make_engine(settings.db_url)
        inputs = {"12 MP JPEG": encode(4000, 3000, "JPEG"), "1 MP PNG": encode(1152, 864, "PNG")}
        print(f"prefill platform overhead, fake provider, {args.runs} runs (SQLite)")
        print(f"{'input':<12} {'size':>8} {'intake p50':>11} {'total p50':>10} {'total p95':>10}")
        for name, raw in inputs.items():
            asyncio.run(one(engine, settings, raw))  # warm-up
            runs = [asyncio.run(one(engine, settings, raw)) for _ in range(args.runs)]
            intake = [r[0] for r in runs]
            total = [r[1] for r in runs]
            print(
                f"{name:<12} {len(raw) / 1e6:>6.1f}MB {statistics.median(intake):>9.1f}ms "
                f"{statistics.median(total):>8.1f}ms {pct(total, 95):>8.1f}ms"
            )
        engine.dispose()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
