"""Success-rate intervals that stay honest when failures come in bursts: blocks of consecutive seconds as clusters.

Wilson's interval assumes every flow succeeds or fails independently. Under injected faults they do not:
an outage fails every flow of a few seconds, so 4,000 flows whose failures sit in three bursts carry far
less information than 4,000 coin flips. This module widens the interval by what the data show.

Method (a cluster-robust, "effective sample size" Wilson interval):

1. Cut the variant's time axis into blocks of L consecutive seconds; each block is one cluster.
2. Estimate the variance of the overall rate p = sum(successes) / sum(flows) with the clusters as the units
   (the ratio or linearisation estimator of survey sampling, which is also the cluster-robust "sandwich"
   variance of an intercept-only regression with CR1 scaling; tests check it against statsmodels).
3. The design effect is that variance over the independent one, p(1 - p) / n (Kish 1965, *Survey
   Sampling*): 1 when failures are independent, 4 when bursts make the interval twice as wide. It is never
   let below 1, so the interval is never narrower than Wilson's.
4. Wilson's interval on the effective sample size n* = n / deff, shrunk further by the Korn-Graubard
   degrees-of-freedom factor (z / t_df)^2, so that a variance estimated from few blocks widens the interval
   instead of pretending to be exact (Korn & Graubard 1998, "Confidence intervals for proportions with small
   expected number of positive counts estimated from survey data", Survey Methodology 24(2); Dean & Pagano
   2015, "Evaluating confidence interval methods for binomial proportions in clustered surveys", J. Survey
   Statistics and Methodology 3(4), who found this among the best intervals for clustered proportions).
   As Korn and Graubard do, n* is never let above n.
5. df is Satterthwaite's effective number of clusters minus one, (sum e^2)^2 / sum e^4 over the blocks'
   residuals e (Satterthwaite 1946, Biometrics Bulletin 2(6); used for cluster-robust errors with few
   effective clusters by Bell & McCaffrey 2002, Survey Methodology 28(2)): when three bursts carry the
   variance, df is about 2, not the number of blocks. With df = blocks - 1 instead, false passes reached
   6-7% in benchmarks/bursty.py; with Satterthwaite's they stay below 5%. When no burst was seen (failures
   scattered, step "bursts" below), df is the number of blocks minus one, as in Korn & Graubard: a handful of
   independent failures would otherwise count as a handful of clusters and widen the interval for nothing.

Block length rule: L = max(ceil(T^(1/3)), 2 x the longest burst), at most T / MIN_BLOCKS seconds. T^(1/3) is
the order of the variance-optimal block length for a weakly dependent series (Hall, Horowitz & Jing 1995,
"On blocking rules for the bootstrap with dependent data", Biometrika 82(3)); twice the longest burst keeps
most bursts inside one block, which is what makes blocks close to independent; the cap keeps at least
MIN_BLOCKS blocks, so the variance has something to be estimated from.

Why not a block bootstrap: near a 99% target the failures are few, and percentile bootstrap intervals of a
rate near 1 are known to undercover (the resampled rates pile up against 1); this interval is also exact
arithmetic on per-second counts, so a report is the same every time it is rebuilt and costs microseconds.

Its limit, said plainly: no interval can see a burst that did not happen during the run. A run shorter than
a few of the fault's bursts is judged on the bursts it saw; run longer or repeat (`harness run --repeat`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from harness.analysis.stats import RateEstimate, wilson_interval

MIN_BLOCKS = 10          # never fewer clusters than this (the block length is capped instead)
BURST_P = 0.001         # a second's failures are a burst when chance would give that many less often than this
BURST_GAP_S = 1          # bad seconds separated by at most this many good ones are one burst
METHOD = "cluster-robust Wilson (blocks of seconds as clusters; Korn & Graubard 1998)"


@dataclass(frozen=True)
class BurstInterval:
    """A success rate's interval that accounts for failures clustered in time, and how much it widened."""

    rate: RateEstimate          # the rate with the correlation-aware interval (ci_low, ci_high)
    design_effect: float        # >= 1: variance relative to independent flows
    effective_n: float          # flows' worth of independent evidence (n / deff, after the df factor)
    block_s: int                # block length L in seconds
    blocks: int                 # blocks with at least one flow (clusters)
    bursts: int                 # runs of seconds below the target with failures in them
    longest_burst_s: int
    width_ratio: float | None   # this interval's width over Wilson's; None when Wilson's has no width
    method: str = METHOD

    def to_dict(self) -> dict[str, Any]:
        r = self.rate
        return {"ci_low": r.ci_low, "ci_high": r.ci_high, "design_effect": self.design_effect,
                "effective_flows": self.effective_n, "block_s": self.block_s, "blocks": self.blocks,
                "bursts": self.bursts, "longest_burst_s": self.longest_burst_s, "width_ratio": self.width_ratio,
                "method": self.method}


def bad_seconds(flows: np.ndarray, successes: np.ndarray, minimum: float) -> np.ndarray:
    """The seconds a burst is made of: below the target, with more failures than chance would give at the run's
    overall failure rate (one-sided binomial test at BURST_P), so scattered independent failures make no burst."""
    failures = flows - successes
    total = flows.sum()
    rate = failures.sum() / total if total > 0 else 0.0
    if rate <= 0:
        return np.zeros(len(flows), dtype=bool)
    chance = stats.binom.sf(failures - 1, flows, rate)
    bad: np.ndarray = (failures > 0) & (successes < minimum * flows) & (chance < BURST_P)
    return bad


def burst_runs(bad: np.ndarray, gap_s: int = BURST_GAP_S) -> list[tuple[int, int]]:
    """(first, last) second of each burst: bad seconds, with gaps of up to gap_s good seconds bridged."""
    where = np.flatnonzero(bad)
    if not len(where):
        return []
    breaks = np.flatnonzero(np.diff(where) > gap_s + 1)
    starts = np.concatenate([[where[0]], where[breaks + 1]])
    ends = np.concatenate([where[breaks], [where[-1]]])
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def block_length(seconds: int, longest_burst_s: int) -> int:
    """The documented rule: max(ceil(T^(1/3)), 2 x longest burst), capped to leave MIN_BLOCKS blocks."""
    rule = max(math.ceil(math.pow(seconds, 1 / 3)), 2 * longest_burst_s, 1)
    return max(1, min(rule, seconds // MIN_BLOCKS))


def block_sums(values: np.ndarray, block_s: int) -> np.ndarray:
    """Sums over consecutive blocks of block_s seconds (the last block may be shorter)."""
    edges = np.arange(0, len(values), block_s)
    return np.add.reduceat(values, edges) if len(values) else values


def cluster_variance(flows: np.ndarray, successes: np.ndarray) -> float:
    """Variance of sum(successes)/sum(flows) with each element a cluster (ratio estimator, CR1 scaling)."""
    k, n = len(flows), flows.sum()
    if k < 2 or n <= 0:
        return math.nan
    p = successes.sum() / n
    residuals = successes - p * flows
    return float(k / (k - 1) * np.sum(residuals ** 2) / n ** 2)


def design_effect(flows: np.ndarray, successes: np.ndarray) -> float:
    """Cluster variance over the independent-flows variance; NaN when either cannot be estimated (no floor)."""
    n = flows.sum()
    if n <= 0:
        return math.nan
    p = successes.sum() / n
    independent = p * (1 - p) / n
    clustered = cluster_variance(flows, successes)
    if independent <= 0 or not math.isfinite(clustered):
        return math.nan
    return float(clustered / independent)


def effective_clusters(flows: np.ndarray, successes: np.ndarray) -> float:
    """Satterthwaite's count of the clusters the variance really rests on: (sum e^2)^2 / sum e^4 of the
    residuals; close to the number of blocks for independent failures, close to the number of bursts otherwise."""
    residuals = successes - successes.sum() / flows.sum() * flows
    squares = residuals ** 2
    return float(squares.sum() ** 2 / np.sum(squares ** 2)) if squares.sum() > 0 else float(len(flows))


def degrees_of_freedom_factor(n: int, clusters: float, confidence: float) -> float:
    """Korn-Graubard: (t_{n-1} / t_{df})^2 with df = clusters - 1, < 1 when the variance rests on few clusters."""
    if n < 2:
        return 1.0
    q = 1 - (1 - confidence) / 2
    return float((stats.t.ppf(q, n - 1) / stats.t.ppf(q, max(clusters - 1, 1.0))) ** 2)


def burst_interval(flows_per_s: np.ndarray, successes_per_s: np.ndarray, minimum: float,
                   confidence: float = 0.95) -> BurstInterval:
    """The correlation-aware interval from per-second counts (index i = second i of the variant)."""
    flows_per_s = np.asarray(flows_per_s, dtype=float)
    successes_per_s = np.asarray(successes_per_s, dtype=float)
    n, successes = int(flows_per_s.sum()), int(successes_per_s.sum())
    runs = burst_runs(bad_seconds(flows_per_s, successes_per_s, minimum))
    longest = max((end - start + 1 for start, end in runs), default=0)
    block_s = block_length(len(flows_per_s), longest)
    block_flows, block_successes = block_sums(flows_per_s, block_s), block_sums(successes_per_s, block_s)
    occupied = block_flows > 0
    clusters = int(occupied.sum())
    deff = design_effect(block_flows[occupied], block_successes[occupied])
    # Korn & Graubard truncate n* at n: data that look less clustered than independent get Wilson, no narrower
    if math.isfinite(deff) and deff > 0:
        # With bursts seen, the variance rests on the few blocks that hold them (Satterthwaite); with failures
        # scattered, on every block (Korn-Graubard's k): a handful of independent failures is not a few clusters.
        df_clusters = effective_clusters(block_flows[occupied], block_successes[occupied]) if runs else clusters
        effective_n = min(n, n / deff * degrees_of_freedom_factor(n, df_clusters, confidence))
    else:  # no failures (or no flows): nothing can have clustered
        effective_n, deff = float(n), 1.0
    deff = max(deff, 1.0)
    rate = effective_rate(n, successes, effective_n, confidence)
    wilson_low, wilson_high = wilson_interval(successes, n, confidence)
    wilson_width = float(wilson_high - wilson_low)
    ratio = (rate.ci_high - rate.ci_low) / wilson_width if n and wilson_width > 0 else None
    return BurstInterval(rate, deff, effective_n, block_s, clusters, len(runs), longest, ratio)


def effective_rate(n: int, successes: int, effective_n: float, confidence: float) -> RateEstimate:
    """Wilson on the effective sample size: the observed rate with n / deff flows' worth of evidence."""
    if not n:
        return RateEstimate(0, 0, None, 0.0, 1.0, confidence)
    p = successes / n
    low, high = wilson_interval(p * effective_n, effective_n, confidence)
    return RateEstimate(n, successes, p, float(low), float(high), confidence)
