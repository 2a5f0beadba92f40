"""The sentences of a result: per variant vs control, and for the whole experiment."""

from __future__ import annotations

from typing import Any


def pct_points(x: float) -> str:
    return f"{x * 100:+.1f} points"


def variant_verdict(
    name: str,
    control: str,
    comparison: dict[str, Any],
    n: int,
    n_control: int,
    required: int,
    alpha: float,
) -> str:
    if min(n, n_control) < required:
        return (
            f"Not enough data: {min(n, n_control):,} of {required:,} finished flows per "
            "variant needed."
        )
    pr = comparison["publish_rate"]
    if pr is None:
        return "Not enough data."
    ci = f"95% CI {pct_points(pr['ci_low'])} to {pct_points(pr['ci_high'])}"
    if pr["p_value"] < alpha:
        direction = "more" if pr["diff"] > 0 else "fewer"
        return (
            f"{name} publishes {direction} than {control}: {pct_points(pr['diff'])} "
            f"({ci}, p={pr['p_value']:.3g})."
        )
    return f"No significant difference in publish rate ({pct_points(pr['diff'])}, {ci})."


def summary(
    per_variant: dict[str, dict[str, Any]],
    srm: dict[str, Any],
    enough: bool,
    required: int,
    samples: dict[str, dict[str, Any]],
) -> str:
    if srm.get("mismatch"):
        return str(srm["note"])
    if not enough:
        smallest = min(s["n"] for s in samples.values())
        return (
            f"Not enough data: {smallest:,} of {required:,} finished flows in the smallest variant."
        )
    verdicts = [str(v["vs_control"]["verdict"]) for v in per_variant.values() if "vs_control" in v]
    return " ".join(verdicts)
