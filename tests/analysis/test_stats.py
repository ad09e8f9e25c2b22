"""Wilson intervals, verdicts and two-proportion comparisons against scipy and hand-worked figures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest, chi2_contingency

from harness.analysis import (
    RateEstimate,
    Verdict,
    compare_rates,
    rate_from_counts,
    rates_by,
    success_rate,
    verdict,
    wilson_interval,
)


@pytest.mark.parametrize(("successes", "n", "confidence"), [
    (0, 10, 0.95), (10, 10, 0.95), (7, 10, 0.9), (990, 1000, 0.95), (4741, 5000, 0.99), (1, 3, 0.8),
])
def test_wilson_bounds_match_scipy(successes, n, confidence):
    """Our Wilson bounds equal scipy's binomtest(...).proportion_ci(method='wilson')."""
    expected = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    low, high = wilson_interval(successes, n, confidence)
    assert float(low) == pytest.approx(expected.low, abs=1e-12)
    assert float(high) == pytest.approx(expected.high, abs=1e-12)


def test_zero_failures_gives_the_hand_worked_lower_bound():
    """1000 of 1000: the Wilson lower bound is n / (n + z²) = 0.996173, so it passes 99%."""
    z = 1.959963984540054
    rate = rate_from_counts(1000, 1000)
    assert rate.ci_low == pytest.approx(1000 / (1000 + z * z), abs=1e-9)
    assert rate.ci_low == pytest.approx(0.996173, abs=1e-6)
    assert rate.ci_high == 1.0
    assert verdict(rate, 0.99) is Verdict.PASS


def test_zero_flows_is_inconclusive_with_the_whole_unit_interval():
    """No flows: no rate, interval [0, 1], never pass or fail."""
    rate = rate_from_counts(0, 0)
    assert (rate.rate, rate.ci_low, rate.ci_high) == (None, 0.0, 1.0)
    assert verdict(rate, 0.99) is Verdict.INCONCLUSIVE


def test_lower_bound_exactly_at_target_passes_and_upper_exactly_at_target_is_not_a_fail():
    """pass is lower >= target (inclusive); fail is upper < target (strict)."""
    at_low = RateEstimate(100, 100, 1.0, 0.99, 1.0, 0.95)
    at_high = RateEstimate(100, 98, 0.98, 0.95, 0.99, 0.95)
    assert verdict(at_low, 0.99) is Verdict.PASS
    assert verdict(at_high, 0.99) is Verdict.INCONCLUSIVE


def test_rate_exactly_at_target_is_inconclusive():
    """990 of 1000 is 99.0% on the nose: the interval straddles the target."""
    rate = rate_from_counts(990, 1000)
    assert rate.rate == 0.99
    assert rate.ci_low < 0.99 < rate.ci_high
    assert verdict(rate, 0.99) is Verdict.INCONCLUSIVE


def test_clearly_below_target_fails():
    """948 of 1000: upper bound about 96%, wholly below 99%."""
    assert verdict(rate_from_counts(948, 1000), 0.99) is Verdict.FAIL


def test_success_rate_and_rates_by_count_the_success_column():
    """Counts come straight from the boolean column; rates_by agrees with success_rate per group."""
    flows = pd.DataFrame({"variant": ["a"] * 4 + ["b"] * 3, "success": [True, True, False, True, False, False, True]})
    whole = success_rate(flows)
    assert (whole.n, whole.successes, whole.failures) == (7, 4, 3)
    grouped = rates_by(flows, "variant")
    assert grouped.loc["a", ["n", "successes"]].tolist() == [4, 3]
    assert grouped.loc["b", "rate"] == pytest.approx(1 / 3)
    b = success_rate(flows[flows.variant == "b"])
    assert grouped.loc["b", "ci_low"] == pytest.approx(b.ci_low)
    assert grouped.loc["b", "ci_high"] == pytest.approx(b.ci_high)


def test_two_proportion_z_test_matches_hand_worked_z_and_chi_square():
    """150/1000 vs 3/1000 failures: pooled z = 0.147 / sqrt(0.0765·0.9235·2/1000) = 12.3667."""
    before, after = rate_from_counts(850, 1000), rate_from_counts(997, 1000)
    result = compare_rates(before, after)
    z = 0.147 / math.sqrt(0.0765 * 0.9235 * 2 / 1000)
    assert z == pytest.approx(12.3667, abs=1e-4)
    chi2, p_value, _, _ = chi2_contingency(np.array([[150, 850], [3, 997]]), correction=False)
    assert chi2 == pytest.approx(z * z, rel=1e-9)
    assert result.p_value == pytest.approx(p_value, rel=1e-6)
    assert result.significant
    assert result.difference == pytest.approx(-0.147)
    assert result.failure_ratio == pytest.approx(50.0)


def test_difference_interval_is_newcombes_hybrid_score_from_wilson_bounds():
    """Newcombe (1998) method 10, rebuilt from scipy's Wilson bounds, equals ours."""
    a, b = rate_from_counts(930, 1000), rate_from_counts(960, 1200)
    fa, fb = 70 / 1000, 240 / 1200

    def wilson_failure(k, n):
        ci = binomtest(k, n).proportion_ci(method="wilson")
        return ci.low, ci.high

    la, ua = wilson_failure(70, 1000)
    lb, ub = wilson_failure(240, 1200)
    diff = fb - fa
    low = diff - math.sqrt((fb - lb) ** 2 + (ua - fa) ** 2)
    high = diff + math.sqrt((ub - fb) ** 2 + (fa - la) ** 2)
    result = compare_rates(a, b)
    assert (result.diff_ci_low, result.diff_ci_high) == (pytest.approx(low, abs=1e-9), pytest.approx(high, abs=1e-9))


def test_no_failures_on_either_side_is_not_significant():
    """Both all-succeeded: p = 1, no ratio, difference 0."""
    result = compare_rates(rate_from_counts(500, 500), rate_from_counts(800, 800))
    assert (result.p_value, result.significant, result.failure_ratio, result.difference) == (1.0, False, None, 0.0)


def test_comparison_with_an_empty_side_says_nothing():
    """A variant without flows cannot be compared."""
    result = compare_rates(rate_from_counts(0, 0), rate_from_counts(10, 10))
    assert result.difference is None and result.p_value is None and not result.significant
