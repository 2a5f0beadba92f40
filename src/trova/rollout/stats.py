"""The statistics of an experiment, in plain Python (no scipy at run time).

Two-proportion z-test and Wilson / Wald intervals for rates, Welch's t-test and the
Mann–Whitney U test for time to publish, a chi-square goodness-of-fit test for sample-ratio
mismatch, and the sample size a test needs to see a given effect. The tests in
tests/rollout/test_stats.py check every function against scipy and statsmodels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()
_EPS = 1e-15
_TINY = 1e-300


# ---------------------------------------------------------------- special functions


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def gammaincc(a: float, x: float) -> float:
    """Regularized upper incomplete gamma function Q(a, x)."""
    if x <= 0.0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # series for P(a, x)
        term = total = 1.0 / a
        ap = a
        for _ in range(100_000):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # continued fraction for Q(a, x) (modified Lentz)
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, 100_000):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(log_front) * h


def t_sf(t: float, df: float) -> float:
    """P(T > t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_ppf(q: float, df: float) -> float:
    """The q-quantile of Student's t (bisection on the CDF: exact enough, and never diverges)."""
    if not 0.0 < q < 1.0:
        raise ValueError("q must be in (0, 1)")
    if q == 0.5:
        return 0.0
    target = max(q, 1.0 - q)
    lo, hi = 0.0, 1.0
    while 1.0 - t_sf(hi, df) < target:
        hi *= 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if 1.0 - t_sf(mid, df) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    value = (lo + hi) / 2.0
    return value if q > 0.5 else -value


def chi2_sf(x: float, df: float) -> float:
    """P(X > x) for a chi-square distribution."""
    return gammaincc(df / 2.0, x / 2.0)


def norm_sf(z: float) -> float:
    return 1.0 - _NORMAL.cdf(z) if z < 0 else _NORMAL.cdf(-z)


def norm_ppf(q: float) -> float:
    return _NORMAL.inv_cdf(q)


# ---------------------------------------------------------------- rates


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(successes: int, n: int, alpha: float = 0.05) -> Interval:
    """Wilson score interval for a proportion (sensible near 0 and 1, unlike Wald)."""
    if n <= 0:
        return Interval(0.0, 1.0)
    z = norm_ppf(1 - alpha / 2)
    p = successes / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(max(0.0, center - half), min(1.0, center + half))


@dataclass(frozen=True)
class ProportionTest:
    diff: float  # p1 - p2
    ci: Interval  # Wald interval of the difference
    z: float
    p_value: float


def two_proportion_ztest(x1: int, n1: int, x2: int, n2: int, alpha: float = 0.05) -> ProportionTest:
    """Pooled two-proportion z-test of p1 = p2 (two-sided), with a Wald CI of p1 - p2."""
    if n1 <= 0 or n2 <= 0:
        raise ValueError("both groups need at least one observation")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    diff = p1 - p2
    if se0 == 0:
        z, p_value = 0.0, 1.0
    else:
        z = diff / se0
        p_value = min(1.0, 2 * norm_sf(abs(z)))
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    half = norm_ppf(1 - alpha / 2) * se
    return ProportionTest(diff, Interval(diff - half, diff + half), z, p_value)


def sample_size_two_proportions(
    baseline: float, min_effect: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Units per arm for a two-sided z-test to detect |p1 - p2| >= min_effect.

    The normal approximation with the pooled variance under the null (statsmodels'
    samplesize_proportions_2indep_onetail); the larger of the two directions, so the answer
    holds whichever way the effect goes.
    """
    if not 0 < min_effect < 1:
        raise ValueError("min_effect must be between 0 and 1 (an absolute difference in rate)")
    baseline = min(max(baseline, 0.0), 1.0)
    z_a, z_b = norm_ppf(1 - alpha / 2), norm_ppf(power)
    worst = 0.0
    for p1 in (baseline + min_effect, baseline - min_effect):
        if not 0.0 < p1 < 1.0:
            continue
        pooled = (p1 + baseline) / 2
        std_null = math.sqrt(2 * pooled * (1 - pooled))
        std_alt = math.sqrt(p1 * (1 - p1) + baseline * (1 - baseline))
        worst = max(worst, ((z_a * std_null + z_b * std_alt) / min_effect) ** 2)
    return math.ceil(worst)


# ---------------------------------------------------------------- continuous outcomes


def mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def variance(xs: Sequence[float]) -> float:
    """Sample variance (n - 1)."""
    m = mean(xs)
    return math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def quantile(xs: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default), xs need not be sorted."""
    s = sorted(xs)
    if not s:
        raise ValueError("no data")
    pos = (len(s) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def mean_interval(xs: Sequence[float], alpha: float = 0.05) -> Interval:
    """Student-t interval of the mean."""
    n = len(xs)
    m = mean(xs)
    if n < 2:
        return Interval(m, m)
    half = t_ppf(1 - alpha / 2, n - 1) * math.sqrt(variance(xs) / n)
    return Interval(m - half, m + half)


@dataclass(frozen=True)
class WelchTest:
    diff: float  # mean(a) - mean(b)
    ci: Interval
    t: float
    df: float
    p_value: float


def welch_ttest(a: Sequence[float], b: Sequence[float], alpha: float = 0.05) -> WelchTest:
    """Welch's unequal-variance t-test of mean(a) = mean(b) (two-sided), with a CI."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("Welch's t-test needs at least two observations per group")
    va, vb = variance(a) / len(a), variance(b) / len(b)
    diff = mean(a) - mean(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return WelchTest(diff, Interval(diff, diff), 0.0, float(len(a) + len(b) - 2), 1.0)
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = diff / se
    p_value = min(1.0, 2 * t_sf(abs(t), df))
    half = t_ppf(1 - alpha / 2, df) * se
    return WelchTest(diff, Interval(diff - half, diff + half), t, df, p_value)


@dataclass(frozen=True)
class MannWhitney:
    u: float  # U statistic of `a`
    z: float
    p_value: float


def _ranks(values: Sequence[float]) -> tuple[list[float], list[int]]:
    """Average ranks (1-based) and the sizes of the tie groups."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    ties: list[int] = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        rank = (i + j) / 2 + 1
        for k in range(i, j + 1):
            ranks[order[k]] = rank
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> MannWhitney:
    """Mann–Whitney U test (two-sided), normal approximation with tie and continuity corrections.

    Robust to the long right tail of time to publish, where a t-test's mean is pulled around.
    """
    n1, n2 = len(a), len(b)
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann–Whitney test needs observations in both groups")
    ranks, ties = _ranks([*a, *b])
    u1 = math.fsum(ranks[:n1]) - n1 * (n1 + 1) / 2
    n = n1 + n2
    mu = n1 * n2 / 2
    tie_term = sum(t**3 - t for t in ties)
    var = n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        return MannWhitney(u1, 0.0, 1.0)
    u = max(u1, n1 * n2 - u1)
    z = (u - mu - 0.5) / math.sqrt(var)
    return MannWhitney(u1, z, min(1.0, 2 * norm_sf(z)))


# ---------------------------------------------------------------- sample-ratio mismatch


@dataclass(frozen=True)
class SRMCheck:
    chi2: float
    df: int
    p_value: float
    observed: dict[str, int]
    expected: dict[str, float]

    def mismatch(self, threshold: float = 0.001) -> bool:
        return self.p_value < threshold


def srm_check(observed: dict[str, int], expected: dict[str, float]) -> SRMCheck:
    """Chi-square goodness of fit of unit counts per variant against the expected counts.

    Variants expected to get no traffic are left out (they cannot be tested); a unit seen in
    one of them counts as a mismatch on its own.
    """
    keys = [k for k in expected if expected[k] > 0]
    chi2 = math.fsum((observed.get(k, 0) - expected[k]) ** 2 / expected[k] for k in keys)
    stray = sum(v for k, v in observed.items() if expected.get(k, 0) <= 0)
    df = max(1, len(keys) - 1)
    p_value = 0.0 if stray else (chi2_sf(chi2, df) if len(keys) > 1 else 1.0)
    return SRMCheck(chi2, df, p_value, dict(observed), dict(expected))
