"""A distribution-free confidence interval for a latency quantile, from order statistics.

The number of samples below the true q-quantile is Binomial(n, q) whatever the latency distribution, so
the pair of order statistics (x_(l), x_(u)) chosen from that binomial's tails covers the quantile with at
least the stated confidence (exact, conservative; no normal approximation, no bootstrap). With too few
samples a bound is infinite: a p99 needs 367 samples before its upper bound exists at 95%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom


@dataclass(frozen=True)
class QuantileEstimate:
    """The q-quantile of n latencies with its order-statistics interval; bounds are inf when n is too small."""

    q: float
    n: int
    value: float | None        # the sample quantile (linear interpolation, as pandas)
    ci_low: float              # -inf: fewer samples than needed for a lower bound
    ci_high: float             # +inf: fewer samples than needed for an upper bound
    confidence: float


def order_statistic_ranks(n: int, q: float, confidence: float) -> tuple[int, int]:
    """1-based ranks (l, u) with P(x_(l) <= xi_q <= x_(u)) >= confidence; 0 or n + 1 mean no bound.

    Equal tails: P(B < l) <= alpha/2 and P(B >= u) <= alpha/2 for B ~ Binomial(n, q), the count of
    samples below the quantile; x_(l) > xi_q only if B < l, and x_(u) < xi_q only if B >= u.
    """
    tail = (1.0 - confidence) / 2.0
    lower = int(binom.ppf(tail, n, q))          # smallest k with cdf(k) >= tail
    if binom.cdf(lower, n, q) > tail:
        lower -= 1                              # largest k with cdf(k) <= tail: P(B <= lower) <= tail
    low_rank = lower + 1                        # P(B < low_rank) = cdf(lower) <= tail
    high_rank = int(binom.ppf(1.0 - tail, n, q)) + 1   # P(B >= high_rank) = 1 - cdf(high_rank - 1) <= tail
    return max(low_rank, 0), min(high_rank, n + 1)


def quantile_interval(values: np.ndarray, q: float, confidence: float) -> QuantileEstimate:
    """The q-quantile of `values` (NaN dropped) with its distribution-free interval."""
    data = np.sort(np.asarray(values, dtype=float))
    data = data[~np.isnan(data)]
    n = len(data)
    if n == 0:
        return QuantileEstimate(q, 0, None, -math.inf, math.inf, confidence)
    low_rank, high_rank = order_statistic_ranks(n, q, confidence)
    low = float(data[low_rank - 1]) if low_rank >= 1 else -math.inf
    high = float(data[high_rank - 1]) if high_rank <= n else math.inf
    return QuantileEstimate(q, n, float(np.quantile(data, q)), low, high, confidence)


def samples_needed(q: float, confidence: float) -> int:
    """The fewest samples for which the upper bound of the q-quantile exists (q^n <= alpha/2)."""
    return math.ceil(math.log((1.0 - confidence) / 2.0) / math.log(q))


def bursty_quantile_interval(values: np.ndarray, t: np.ndarray, q: float,
                             confidence: float) -> tuple[QuantileEstimate, float]:
    """The order-statistics interval, widened when slow samples cluster in time; and the design effect.

    Woodruff's method (Woodruff 1952, "Confidence intervals for medians and other position measures",
    JASA 47): the share of samples at or below the sample quantile is a proportion, so its interval can
    account for clustering like the success rate's (harness.analysis.bursts, with `t` in seconds giving the
    blocks and "slow" meaning above the sample quantile). Its half-widths, set around q, are read back
    through the samples' distribution. Never narrower than the exact independent interval; a bound beyond
    the samples is infinite (the objective then stays inconclusive: run longer).
    """
    values, t = np.asarray(values, dtype=float), np.asarray(t, dtype=float)
    keep = ~np.isnan(values)
    values, seconds = values[keep], np.clip(t[keep], 0, None).astype(np.int64)
    exact = quantile_interval(values, q, confidence)
    if exact.n < 2 or exact.value is None:
        return exact, 1.0
    from harness.analysis.bursts import burst_interval  # bursts imports stats; keep this module's imports light

    at_or_below = (values <= exact.value).astype(float)
    flows = np.bincount(seconds).astype(float)
    below = np.bincount(seconds, weights=at_or_below, minlength=len(flows))
    share = burst_interval(flows, below, q, confidence)
    observed = share.rate.rate or 0.0
    low_p, high_p = q - (observed - share.rate.ci_low), q + (share.rate.ci_high - observed)
    data = np.sort(values)
    low = float(np.quantile(data, low_p, method="inverted_cdf")) if low_p > 0 else -math.inf
    high = float(np.quantile(data, high_p, method="higher")) if high_p < 1 else math.inf
    widened = QuantileEstimate(q, exact.n, exact.value, min(low, exact.ci_low), max(high, exact.ci_high),
                               confidence)
    return widened, share.design_effect
