"""Buyer assistant overhead: one turn with the offline (rule-based) model over the agent eval
catalogue, end to end — tools on SQLite, OpenTelemetry spans exported into the DB, trace row,
citation post-check. The model itself costs ~nothing here, so the figures are Trova's overhead
per turn (a real LLM adds its own seconds on top).

    python bench/bench_assistant.py [--turns 60]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

QUESTIONS = [
    "a road bike for a 12-year-old under €200, and ask the seller if it's still available",
    "show me road bikes under 200 euros",
    "how much is a road bike worth?",
    "any acoustic guitars?",
    "a film camera",
    "a harpsichord under €50",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--turns", type=int, default=60)
    args = parser.parse_args()

    from sqlalchemy import func
    from sqlmodel import Session, select

    from trova.assistant import export
    from trova.assistant.agent import Assistant
    from trova.assistant.evals import seed
    from trova.assistant.models import AgentSpan
    from trova.assistant.scripted import rule_based_model
    from trova.config import Settings
    from trova.db.engine import make_engine
    from trova.db.migrate import upgrade

    export_s: list[float] = []
    original = export.DBSpanExporter.export

    def timed(self: export.DBSpanExporter, spans: object) -> object:
        start = time.perf_counter()
        try:
            return original(self, spans)  # type: ignore[arg-type]
        finally:
            export_s.append(time.perf_counter() - start)

    export.DBSpanExporter.export = timed  # type: ignore[method-assign,assignment]

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        engine = make_engine(url)
        buyer = seed(engine)
        settings = Settings(data_dir=Path(tmp), database_url=url, secret_key="bench")
        assistant = Assistant(settings, engine, model=rule_based_model(), spec="scripted")

        async def run() -> list[float]:
            await assistant.ask("warm-up", visitor_id="bench")
            export_s.clear()
            times = []
            for i in range(args.turns):
                start = time.perf_counter()
                await assistant.ask(
                    QUESTIONS[i % len(QUESTIONS)], user_id=buyer, visitor_id="bench"
                )
                times.append(time.perf_counter() - start)
            return times

        times = asyncio.run(run())
        with Session(engine) as session:
            spans = session.exec(select(func.count()).select_from(AgentSpan)).one()
        assistant.close()
        engine.dispose()

    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"assistant turns (offline model, SQLite): {len(ms)}")
    print(f"  turn latency  p50 {statistics.median(ms):7.1f} ms   p95 {p95:7.1f} ms")
    print(f"  spans stored  {spans} ({spans / (len(ms) + 1):.1f} per turn)")
    per_turn_export = sum(export_s) * 1000 / len(ms)
    print(
        f"  span export   {per_turn_export:7.1f} ms per turn "
        f"({100 * per_turn_export / statistics.mean(ms):.0f}% of a turn)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
