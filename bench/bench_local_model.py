"""Benchmark the offline `local` recognizer: cold start, latency, accuracy on the test photos.

    python bench/bench_local_model.py [--rounds 20] [--json]

Cold start is measured in fresh child processes (imports included): once with an empty cache dir
(so the ONNX export runs) and once with the file cached. Latency is per photo, after warm-up,
with and without OCR. Accuracy is category top-1 / top-3 over tests/ai/local/photos (six photos;
the larger starter eval set comes later).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHOTOS = Path(__file__).resolve().parent.parent / "tests" / "ai" / "local" / "photos"
EXPECTED = {
    "camera.jpg": "electronics-cameras/cameras",
    "electric-guitar.jpg": "musical-instruments/guitars",
    "trumpet.jpg": "musical-instruments/wind",
    "basketball.jpg": "sports-outdoors/ball-sports",
    "tricycle.jpg": "bicycles/city",
    "wheelie-bin.jpg": "home-kitchen/household",
}


def _child_load(cache_dir: str, ocr: bool) -> None:
    """Child mode: time imports + recognizer construction, print seconds as JSON."""
    start = time.perf_counter()
    from trova.ai.local import LocalRecognizer

    LocalRecognizer(Path(cache_dir), ocr=ocr)
    print(json.dumps({"seconds": time.perf_counter() - start}))


def cold_start(cache_dir: Path, ocr: bool = False) -> float:
    cmd = [sys.executable, __file__, "--child-load", str(cache_dir)] + (["--ocr"] if ocr else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["seconds"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="passes over the photos")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child-load", help=argparse.SUPPRESS)
    parser.add_argument("--ocr", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_load:
        _child_load(args.child_load, args.ocr)
        return 0

    from PIL import Image

    from trova.ai.local import LocalRecognizer

    photos = {}
    for name in EXPECTED:
        with Image.open(PHOTOS / name) as img:
            img.load()
            photos[name] = img

    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "models"
        results["cold_start_s_export"] = cold_start(cache)
        results["cold_start_s_cached"] = cold_start(cache)
        results["cold_start_s_cached_ocr"] = cold_start(cache, ocr=True)
        onnx_files = list(cache.glob("*.onnx"))
        results["onnx_file"] = onnx_files[0].name
        results["onnx_mb"] = round(onnx_files[0].stat().st_size / 1e6, 1)

        for ocr in (False, True):
            recognizer = LocalRecognizer(cache, ocr=ocr)
            times: list[float] = []
            for _ in range(args.rounds):
                for img in photos.values():
                    start = time.perf_counter()
                    recognizer.recognize(img)
                    times.append(time.perf_counter() - start)
            key = "ocr" if ocr else "no_ocr"
            results[f"latency_ms_p50_{key}"] = round(1000 * statistics.median(times), 1)
            results[f"latency_ms_p95_{key}"] = round(1000 * percentile(times, 0.95), 1)

        recognizer = LocalRecognizer(cache)
        from trova.ai.local.color import dominant_color

        for key, step in (
            ("classifier", recognizer._classifier.probabilities),  # both views, one ORT batch
            ("color", dominant_color),
        ):
            times = []
            for _ in range(args.rounds):
                for img in photos.values():
                    start = time.perf_counter()
                    step(img)
                    times.append(time.perf_counter() - start)
            results[f"latency_ms_p50_{key}"] = round(1000 * statistics.median(times), 1)

        top1 = top3 = 0
        answers = {}
        for name, expected in EXPECTED.items():
            rec = recognizer.recognize(photos[name])
            top1 += rec.category == expected
            top3 += expected in [c for c, _ in rec.alternatives]
            answers[name] = f"{rec.category} ({rec.category_confidence:.2f}) {rec.item} {rec.color}"
        results["photos"] = len(EXPECTED)
        results["category_top1"] = round(top1 / len(EXPECTED), 3)
        results["category_top3"] = round(top3 / len(EXPECTED), 3)
        results["answers"] = answers

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print("local model (EfficientNet-Lite0 ImageNet, onnxruntime CPU)")
    print(f"  onnx file            {results['onnx_file']} ({results['onnx_mb']} MB)")
    print(f"  cold start, export   {results['cold_start_s_export']:.2f} s")
    print(f"  cold start, cached   {results['cold_start_s_cached']:.2f} s")
    print(f"  cold start, +OCR     {results['cold_start_s_cached_ocr']:.2f} s")
    for key, label in (("no_ocr", "latency"), ("ocr", "latency +OCR")):
        p50, p95 = results[f"latency_ms_p50_{key}"], results[f"latency_ms_p95_{key}"]
        print(f"  {label:<20} p50 {p50} ms, p95 {p95} ms  ({args.rounds} x {len(photos)} photos)")
    print(
        f"    of which            classifier p50 {results['latency_ms_p50_classifier']} ms "
        f"(2 views, one batch), color p50 {results['latency_ms_p50_color']} ms"
    )
    print(f"  category top-1       {results['category_top1']:.0%} of {len(EXPECTED)} photos")
    print(f"  category top-3       {results['category_top3']:.0%} of {len(EXPECTED)} photos")
    for name, answer in answers.items():
        print(f"    {name:<20} {answer}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
