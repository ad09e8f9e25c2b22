"""Success rates with Wilson intervals, verdicts against a target, and two-proportion comparisons.

Every function takes plain counts or a DataFrame of flows, so live progress, sweeps and early
stopping can reuse them on any slice of records.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest

from harness.analysis.columns import SUCCESS
from harness.records import Verdict

__all__ = ["Verdict"]  # re-exported: analysis code has long imported it from here


@dataclass(frozen=True)
class RateEstimate:
    """Successes out of n with a Wilson score interval; rate is None when n is 0."""

    n: float  # a count, or an effective sample size (n / design effect), which is fractional
    successes: float  # likewise
    rate: float | None
    ci_low: float
    ci_high: float
    confidence: float

    @property
    def failures(self) -> float:
        return self.n - self.successes

    @property
    def failure_rate(self) -> float | None:
        return None if self.rate is None else 1.0 - self.rate

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "failures": self.failures}


@dataclass(frozen=True)
class RateComparison:
    """Failure rates of two samples: difference (b - a) with a Newcombe interval, z-test, ratio a / b."""

    a: RateEstimate
    b: RateEstimate
    difference: float | None      # failure rate of b minus failure rate of a
    diff_ci_low: float | None
    diff_ci_high: float | None
    p_value: float | None         # two-sided pooled two-proportion z-test
    significant: bool             # p_value below 1 - confidence
    failure_ratio: float | None   # failure rate of a / failure rate of b; None when b has no failures

    def to_dict(self) -> dict[str, Any]:
        return {
            "failure_rate_a": self.a.failure_rate, "failure_rate_b": self.b.failure_rate,
            "difference": self.difference, "diff_ci_low": self.diff_ci_low, "diff_ci_high": self.diff_ci_high,
            "p_value": self.p_value, "significant": self.significant, "failure_ratio": self.failure_ratio,
        }


def wilson_interval(successes: ArrayLike, n: ArrayLike, confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score bounds for scalars or arrays; with no trials the honest interval is [0, 1]."""
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    empty = n <= 0
    return np.where(empty, 0.0, low), np.where(empty, 1.0, np.minimum(high, 1.0))


def rate_from_counts(successes: int, n: int, confidence: float = 0.95) -> RateEstimate:
    low, high = wilson_interval(successes, n, confidence)
    rate = successes / n if n else None
    return RateEstimate(int(n), int(successes), rate, float(low), float(high), confidence)


def success_rate(flows: pd.DataFrame, confidence: float = 0.95) -> RateEstimate:
    """Rate and interval of the `success` column of any slice of records (usually one variant's target flows)."""
    return rate_from_counts(int(flows[SUCCESS].sum()), len(flows), confidence)


def rates_by(flows: pd.DataFrame, by: str | list[str], confidence: float = 0.95) -> pd.DataFrame:
    """One row per group: n, successes, rate, ci_low, ci_high (vectorised; for timelines and sweeps)."""
    grouped = flows.groupby(by, observed=True).agg(n=(SUCCESS, "size"), successes=(SUCCESS, "sum"))
    low, high = wilson_interval(grouped["successes"], grouped["n"], confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        grouped["rate"] = grouped["successes"] / grouped["n"]
    grouped["ci_low"], grouped["ci_high"] = low, high
    return grouped


def verdict(estimate: RateEstimate, minimum: float) -> Verdict:
    """Pass when the whole interval is at or above the target, fail when it is below, else inconclusive."""
    if estimate.ci_low >= minimum:
        return Verdict.PASS
    if estimate.ci_high < minimum:
        return Verdict.FAIL
    return Verdict.INCONCLUSIVE


def compare_rates(a: RateEstimate, b: RateEstimate, confidence: float = 0.95) -> RateComparison:
    """Compare the failure rates of a (before, or run A) and b (after, or run B)."""
    fail_a, fail_b = a.failure_rate, b.failure_rate
    if not a.n or not b.n or fail_a is None or fail_b is None:  # the rates are None exactly when n is 0
        return RateComparison(a, b, None, None, None, None, False, None)
    difference = fail_b - fail_a
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = confint_proportions_2indep(b.failures, b.n, a.failures, a.n, method="newcomb",
                                               compare="diff", alpha=1.0 - confidence)
    p_value = two_proportion_p_value(a.failures, a.n, b.failures, b.n)
    ratio = fail_a / fail_b if b.failures else None
    return RateComparison(a, b, difference, float(low), float(high), p_value,
                          p_value < 1.0 - confidence, ratio)


def two_proportion_p_value(count_a: float, n_a: float, count_b: float, n_b: float) -> float:
    """Two-sided pooled z-test (the chi-square test without continuity correction)."""
    pooled = (count_a + count_b) / (n_a + n_b)
    if pooled in (0.0, 1.0):
        return 1.0  # both samples all-failed or all-succeeded: no evidence of a difference
    _, p_value = proportions_ztest([count_a, count_b], [n_a, n_b])
    return float(p_value)
