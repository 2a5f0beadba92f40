"""Run every bench/bench_*.py in turn, printing each one's output, then a summary.

    python bench/run_all.py [--only NAME ...] [--list]

Each benchmark runs in its own process with this interpreter (its default arguments), from the
repository root. Exit status: 0 when every benchmark exited 0, else 1 (CI can gate on it).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def discover(only: list[str]) -> list[Path]:
    scripts = sorted(BENCH_DIR.glob("bench_*.py"))
    if only:
        scripts = [s for s in scripts if any(name in s.stem for name in only)]
    return scripts


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--only", nargs="+", default=[], metavar="NAME", help="run benches whose name contains NAME"
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args()

    scripts = discover(args.only)
    if not scripts:
        print(f"Error: no bench/bench_*.py matches {args.only}", file=sys.stderr)
        return 1
    if args.list:
        print("\n".join(s.name for s in scripts))
        return 0

    outcomes: list[tuple[str, int, float]] = []
    for script in scripts:
        print(f"\n===== {script.name} " + "=" * max(0, 60 - len(script.name)), flush=True)
        started = time.perf_counter()
        code = subprocess.run([sys.executable, str(script)], cwd=ROOT, check=False).returncode
        outcomes.append((script.name, code, time.perf_counter() - started))

    print("\n===== summary " + "=" * 53)
    for name, code, seconds in outcomes:
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"{name:<40} {seconds:>7.1f} s  {status}")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
