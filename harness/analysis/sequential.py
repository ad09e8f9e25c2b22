"""Anytime-valid verdicts for early stopping: a confidence sequence for the success rate, checked as often as wanted.

Method: Robbins' beta-binomial mixture of likelihood ratios (Robbins 1970, "Statistical methods related to
the law of the iterated logarithm"; Howard, Ramdas, McAuliffe & Sekhon 2021, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Ann. Statist. 49(2), the conjugate-mixture bound for Bernoulli data).
For a candidate rate p, after n flows with S successes,

    M_n(p) = B(a + S, b + n - S) / B(a, b) / (p^S (1 - p)^(n - S))

is a nonnegative martingale with mean 1 when flows succeed with probability p, so by Ville's inequality
P(M_n(p) >= 1/alpha for some n) <= alpha. The set {p : M_n(p) < 1/alpha} therefore holds the true rate at
every n at once with probability >= confidence: looking every second (or after every flow) costs nothing.
It is an interval because log M_n is convex in p. M_n depends on the outcomes only through the counts
(S, n), so callers pass running counts; no per-flow sequence or state object is needed.

The mixing prior Beta(a, b) has its mean at the target and a weight of PRIOR_FLOWS flows: it sets where the
bound is tightest (rates near the target, after a few hundred to a few thousand flows), never its validity,
as long as it is fixed before the data. Like the Wilson verdict, it assumes flows succeed independently
at one rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import betaln, xlogy

from harness.records import Verdict

METHOD = "beta-binomial mixture confidence sequence (Robbins 1970; Howard et al. 2021)"
PRIOR_FLOWS = 100.0   # prior weight in flows: tightest for rates near the target after ~10^2-10^4 flows
PASS, FAIL, INCONCLUSIVE = Verdict.PASS.value, Verdict.FAIL.value, Verdict.INCONCLUSIVE.value
_STATES = {1: PASS, -1: FAIL, 0: INCONCLUSIVE}
_BISECTIONS = 60      # halves [0, 1] to well under 1e-15


@dataclass(frozen=True)
class Decision:
    """A sequential verdict: pass when the confidence sequence is at or above the target, fail when below."""

    state: str          # "pass" | "fail" | "inconclusive"
    low: float          # confidence sequence at n: [low, high]
    high: float
    successes: int
    n: int
    method: str = METHOD

    @property
    def decided(self) -> bool:
        return self.state != INCONCLUSIVE


def prior(target: float, prior_flows: float = PRIOR_FLOWS) -> tuple[float, float]:
    """Beta(a, b) with mean at the target; the target must lie strictly between 0 and 1."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must be strictly between 0 and 1, got {target}")
    return prior_flows * target, prior_flows * (1.0 - target)


def log_mixture_ratio(successes: ArrayLike, n: ArrayLike, rate: ArrayLike, target: float,
                      prior_flows: float = PRIOR_FLOWS) -> np.ndarray:
    """log M_n(rate), for scalars or arrays (broadcast)."""
    a, b = prior(target, prior_flows)
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    failures = n - successes
    rate = np.asarray(rate, dtype=float)
    ratio: np.ndarray = (betaln(a + successes, b + failures) - betaln(a, b)
                         - xlogy(successes, rate) - xlogy(failures, 1.0 - rate))
    return ratio


def sequential_signs(successes: ArrayLike, n: ArrayLike, target: float, confidence: float,
                     prior_flows: float = PRIOR_FLOWS) -> np.ndarray:
    """+1 pass, -1 fail, 0 inconclusive per element (int8, so thousands of simulated runs stay small).

    The exact test of the target: it is outside the confidence sequence when M_n(target) >= 1/alpha, and
    then convexity puts every rate beyond it outside too, so the side of the observed rate is the verdict.
    """
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    excluded = log_mixture_ratio(successes, n, target, target, prior_flows) >= -np.log1p(-confidence)
    side = np.sign(successes - target * n).astype(np.int8)
    return np.where(excluded, side, np.int8(0))


def confidence_sequence(successes: ArrayLike, n: ArrayLike, target: float, confidence: float,
                        prior_flows: float = PRIOR_FLOWS) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of {p : M_n(p) < 1/alpha} by vectorised bisection on each side of the observed rate."""
    successes, n = np.asarray(successes, dtype=float), np.asarray(n, dtype=float)
    failures = n - successes
    a, b = prior(target, prior_flows)
    # log M_n(p) = base - S log p - F log(1 - p): only the last two terms depend on p.
    base = betaln(a + successes, b + failures) - betaln(a, b) + np.log1p(-confidence)

    def inside(p: np.ndarray) -> np.ndarray:
        within: np.ndarray = base - xlogy(successes, p) - xlogy(failures, 1.0 - p) < 0.0
        return within

    observed = np.where(n > 0, successes / np.maximum(n, 1.0), target)
    return _boundary(inside, np.zeros_like(observed), observed), _boundary(inside, np.ones_like(observed), observed)


def _boundary(inside: Callable[[np.ndarray], np.ndarray], outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Where the sequence begins between `outer` and `inner` (always inside: M_n(observed) <= 1); `outer` if inside."""
    out, inn = outer.astype(float), inner.astype(float)
    for _ in range(_BISECTIONS):
        mid = (out + inn) / 2.0
        is_inside = inside(mid)
        inn, out = np.where(is_inside, mid, inn), np.where(is_inside, out, mid)
    return np.where(inside(outer), outer, inn)


def decide(successes: int, n: int, target: float, confidence: float,
           prior_flows: float = PRIOR_FLOWS) -> Decision:
    """The sequential verdict on running counts; valid however often it is called and whenever the caller stops."""
    state = _STATES[int(sequential_signs(successes, n, target, confidence, prior_flows))]
    low, high = confidence_sequence(successes, n, target, confidence, prior_flows)
    return Decision(state, float(low), float(high), int(successes), int(n))
