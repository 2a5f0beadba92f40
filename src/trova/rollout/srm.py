"""Sample-ratio mismatch: are units split the way the allocation history says they should be?

Each unit is expected to follow the (effective) split in force when it was first assigned, so
ramps and pauses are accounted for; a chi-square goodness-of-fit test then compares the counts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from trova.rollout import stats
from trova.rollout.models import Exposure, Ramp

MIN_UNITS = 20  # below this the split is not judged


def expected_units(units: list[tuple[str, datetime]], ramps: list[Ramp]) -> dict[str, float]:
    """Expected units per variant: each unit follows the split in force when it arrived."""
    expected: dict[str, float] = defaultdict(float)
    if not ramps:
        return expected
    ordered = sorted(ramps, key=lambda r: r.at)
    for _variant, at in units:
        allocation = ordered[0].allocation
        for ramp in ordered:
            if ramp.at <= at and ramp.action != "stop":
                allocation = ramp.allocation
        total = sum(allocation.values()) or 1.0
        for name, weight in allocation.items():
            expected[name] += weight / total
    return expected


def check(
    session: Session, experiment_id: int, ramps: list[Ramp], where: Sequence[Any] = ()
) -> dict[str, Any]:
    """The split check as results show it; `where` narrows the units (e.g. real ones only)."""
    units = session.exec(
        select(Exposure.variant, Exposure.at).where(Exposure.experiment_id == experiment_id, *where)
    ).all()
    observed = Counter(v for v, _ in units)
    expected = expected_units([(v, at) for v, at in units], ramps)
    if len(units) < MIN_UNITS:
        return {
            "units": len(units),
            "observed": dict(observed),
            "expected": {k: round(x, 2) for k, x in expected.items()},
            "p_value": None,
            "mismatch": False,
            "note": "Too few units to check the split.",
        }
    result = stats.srm_check(dict(observed), dict(expected))
    return {
        "units": len(units),
        "observed": dict(observed),
        "expected": {k: round(x, 2) for k, x in expected.items()},
        "chi2": result.chi2,
        "p_value": result.p_value,
        "mismatch": result.mismatch(),
        "note": (
            "Sample ratio mismatch: the split is not what the allocation says; "
            "don't trust these results until the cause is found."
            if result.mismatch()
            else "The split matches the allocation."
        ),
    }
