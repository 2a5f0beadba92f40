"""The stats engine against scipy and statsmodels on known inputs."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special
from scipy import stats as sp
from statsmodels.stats import proportion as smp

from trova.rollout import stats

REL = 1e-9


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2"),
    [(850, 1000, 950, 1000), (12, 40, 19, 41), (0, 30, 3, 30), (5000, 6000, 5050, 6000)],
)
def test_two_proportion_ztest_matches_statsmodels(x1: int, n1: int, x2: int, n2: int) -> None:
    ours = stats.two_proportion_ztest(x1, n1, x2, n2)
    z, p = smp.proportions_ztest([x1, x2], [n1, n2])
    assert ours.z == pytest.approx(z, rel=REL)
    assert ours.p_value == pytest.approx(p, rel=1e-7)
    low, high = smp.confint_proportions_2indep(x1, n1, x2, n2, method="wald", compare="diff")
    assert (ours.ci.low, ours.ci.high) == pytest.approx((low, high), rel=1e-9)


@pytest.mark.parametrize(("x", "n"), [(0, 10), (7, 10), (10, 10), (853, 1000), (1, 3)])
def test_wilson_interval_matches_statsmodels(x: int, n: int) -> None:
    ours = stats.wilson_interval(x, n)
    low, high = smp.proportion_confint(x, n, alpha=0.05, method="wilson")
    assert (ours.low, ours.high) == pytest.approx((low, high), abs=1e-12)


def _samples(seed: int, n1: int, n2: int) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    return (
        [rng.lognormvariate(5.5, 0.5) for _ in range(n1)],  # ~4 min, long right tail
        [rng.lognormvariate(4.2, 0.7) for _ in range(n2)],  # ~1 min
    )


@pytest.mark.parametrize(("seed", "n1", "n2"), [(1, 5, 7), (2, 40, 55), (3, 300, 280)])
def test_welch_ttest_matches_scipy(seed: int, n1: int, n2: int) -> None:
    a, b = _samples(seed, n1, n2)
    ours = stats.welch_ttest(a, b)
    ref = sp.ttest_ind(a, b, equal_var=False)
    assert ours.t == pytest.approx(ref.statistic, rel=REL)
    assert ours.df == pytest.approx(ref.df, rel=REL)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-7, abs=1e-15)
    ci = ref.confidence_interval(0.95)
    assert (ours.ci.low, ours.ci.high) == pytest.approx((ci.low, ci.high), rel=1e-9)


@pytest.mark.parametrize(("seed", "n1", "n2"), [(4, 8, 9), (5, 60, 45), (6, 400, 390)])
def test_mann_whitney_matches_scipy_with_and_without_ties(seed: int, n1: int, n2: int) -> None:
    a, b = _samples(seed, n1, n2)
    for xs, ys in ((a, b), ([round(x / 30) for x in a], [round(y / 30) for y in b])):
        ours = stats.mann_whitney(xs, ys)
        ref = sp.mannwhitneyu(xs, ys, method="asymptotic", alternative="two-sided")
        assert ours.u == ref.statistic
        assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)


def test_mean_interval_matches_scipy() -> None:
    a, _ = _samples(7, 23, 1)
    ours = stats.mean_interval(a)
    low, high = sp.t.interval(0.95, len(a) - 1, loc=sp.tmean(a), scale=sp.sem(a))
    assert (ours.low, ours.high) == pytest.approx((low, high), rel=1e-9)
    assert stats.quantile(a, 0.5) == pytest.approx(float(sp.scoreatpercentile(a, 50)))


@pytest.mark.parametrize(
    ("baseline", "effect"), [(0.85, 0.05), (0.85, 0.10), (0.5, 0.02), (0.97, 0.05), (0.05, 0.03)]
)
def test_sample_size_matches_statsmodels(baseline: float, effect: float) -> None:
    expected = 0.0
    for diff in (effect, -effect):
        if 0 < baseline + diff < 1:
            expected = max(
                expected,
                smp.samplesize_proportions_2indep_onetail(diff, baseline, power=0.8, alpha=0.05),
            )
    assert stats.sample_size_two_proportions(baseline, effect) == int(-(-expected // 1))


def test_srm_matches_scipy_and_fires_on_a_skewed_split() -> None:
    balanced = stats.srm_check({"a": 5021, "b": 4979}, {"a": 5000.0, "b": 5000.0})
    ref = sp.chisquare([5021, 4979], [5000, 5000])
    assert balanced.chi2 == pytest.approx(ref.statistic, rel=REL)
    assert balanced.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    assert not balanced.mismatch()
    skewed = stats.srm_check({"a": 5200, "b": 4800}, {"a": 5000.0, "b": 5000.0})
    assert skewed.mismatch(), skewed
    three = stats.srm_check(
        {"a": 1800, "b": 3050, "c": 5150}, {"a": 2000.0, "b": 3000.0, "c": 5000.0}
    )
    assert three.p_value == pytest.approx(
        sp.chisquare([1800, 3050, 5150], [2000, 3000, 5000]).pvalue, rel=1e-9
    )
    assert three.mismatch()
    # a unit in a variant that should get no traffic at all is a mismatch by itself
    assert stats.srm_check({"a": 50, "b": 1}, {"a": 51.0, "b": 0.0}).mismatch()


@settings(max_examples=200, deadline=None)
@given(
    a=st.floats(0.5, 60),
    b=st.floats(0.5, 60),
    x=st.floats(0.001, 0.999),
)
def test_special_functions_match_scipy(a: float, b: float, x: float) -> None:
    assert stats.betainc(a, b, x) == pytest.approx(special.betainc(a, b, x), rel=1e-9, abs=1e-14)
    assert stats.gammaincc(a, x * 100) == pytest.approx(
        special.gammaincc(a, x * 100), rel=1e-8, abs=1e-14
    )
    df = a
    # Bisection on the CDF: near the median (quantile ~0) it is exact to ~1e-8 absolute, far
    # below anything a confidence interval reports.
    assert stats.t_ppf(x, df) == pytest.approx(sp.t.ppf(x, df), rel=1e-8, abs=1e-7)
    assert stats.chi2_sf(x * 50, b) == pytest.approx(sp.chi2.sf(x * 50, b), rel=1e-8, abs=1e-14)
