"""Early stopping that stays valid when failures come in bursts: a confidence sequence over blocks of seconds.

The beta-binomial confidence sequence (harness.analysis.sequential) treats every flow as an independent
trial. Under bursts that is false, and looking every second then passes a variant below the target far more
often than the nominal 5% (benchmarks/bursty.py measures it). Here the unit is a block of BLOCK_S seconds
instead of a flow: blocks are close to independent when they are longer than the bursts, and the spread of
block-to-block rates carries the burstiness that a flow-level bound cannot see.

Method: the Gaussian-mixture asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha, Kennedy &
Ramdas (2024), "Time-uniform central limit theory and asymptotic confidence sequences", Ann. Statist.
52(6) (Robbins' normal mixture boundary with the running variance plugged in). After t blocks,

    p_t +- sigma_t * sqrt( 2 (t rho^2 + 1) / (t^2 rho^2) * log( sqrt(t rho^2 + 1) / alpha ) )

where p_t is the flow-weighted success rate so far and sigma_t the standard deviation of a block's
deviation from it, in units of the mean block (never below the binomial value, so the sequence is never
narrower than independence would allow). rho is fixed before the data, tightest near the maximum duration.

The decision keeps both guards: a variant passes (or fails) only when this block sequence and the
flow-level beta-binomial sequence both say so. Each alone errs on a given side at most alpha, so the
combination does too, while the flow-level one keeps a verdict from resting on a handful of blocks.
The validity is asymptotic in the number of blocks, hence the minimum duration; bursts rarer than the
minimum duration cannot be seen by any method before it ends.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from harness.analysis.sequential import sequential_signs
from harness.records import Verdict

BLOCK_S = 5              # seconds per unit; fixed in advance (a data-driven length would break the guarantee)
METHOD = ("asymptotic confidence sequence over 5 s blocks (Waudby-Smith et al. 2024) "
          "and beta-binomial mixture over flows (Howard et al. 2021); both must agree")
PASS, FAIL, INCONCLUSIVE = Verdict.PASS.value, Verdict.FAIL.value, Verdict.INCONCLUSIVE.value


@dataclass(frozen=True)
class BlockDecision:
    state: str
    low: float
    high: float
    successes: int
    n: int
    blocks: int
    method: str = METHOD

    @property
    def decided(self) -> bool:
        return self.state != INCONCLUSIVE


def rho_squared(planned_blocks: float, confidence: float) -> float:
    """The mixture width that makes the boundary tightest at the planned number of blocks."""
    log_inv_alpha = -math.log(1.0 - confidence)
    return (2 * log_inv_alpha + math.log(2 * log_inv_alpha + 1)) / max(planned_blocks, 1.0)


def block_bounds(block_flows: ArrayLike, block_successes: ArrayLike, confidence: float,
                 planned_blocks: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rate, low, high) after each block, along the last axis; arrays of any leading shape."""
    m = np.asarray(block_flows, dtype=float)
    y = np.asarray(block_successes, dtype=float)
    t = np.arange(1, m.shape[-1] + 1, dtype=float)
    n, s = m.cumsum(-1), y.cumsum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, s / n, 1.0)
        mean_block = n / t
        # sum over blocks of (y - p m)^2, expanded so running sums give it at every t at once
        squares = (y * y).cumsum(-1) - 2 * p * (y * m).cumsum(-1) + p * p * (m * m).cumsum(-1)
        variance = np.maximum(squares / t, 0.0) / mean_block ** 2
        variance = np.maximum(variance, p * (1 - p) / mean_block)
        variance = np.where(n > 0, variance, 0.25)
    r2 = rho_squared(planned_blocks, confidence)
    half = np.sqrt(variance) * np.sqrt(2 * (t * r2 + 1) / (t * t * r2)
                                       * np.log(np.sqrt(t * r2 + 1) / (1.0 - confidence)))
    return p, np.clip(p - half, 0.0, 1.0), np.clip(p + half, 0.0, 1.0)


def block_signs(block_flows: ArrayLike, block_successes: ArrayLike, target: float, confidence: float,
                planned_blocks: float) -> np.ndarray:
    """+1 pass, -1 fail, 0 inconclusive after each block: both sequences must agree."""
    _, low, high = block_bounds(block_flows, block_successes, confidence, planned_blocks)
    blocks = np.sign((low >= target).astype(np.int8) - (high < target).astype(np.int8))
    n = np.asarray(block_flows, dtype=float).cumsum(-1)
    flows = sequential_signs(np.asarray(block_successes, dtype=float).cumsum(-1), n, target, confidence)
    return np.where(blocks == flows, blocks, 0).astype(np.int8)


def to_blocks(per_second: np.ndarray, block_s: int = BLOCK_S) -> np.ndarray:
    """Per-second counts summed into whole blocks (a trailing partial block waits for its end)."""
    whole = len(per_second) // block_s * block_s
    sums: np.ndarray = np.asarray(per_second[:whole], dtype=float).reshape(-1, block_s).sum(axis=1)
    return sums


def decide_blocks(flows_per_s: ArrayLike, successes_per_s: ArrayLike, target: float, confidence: float,
                  max_duration_s: float, block_s: int = BLOCK_S) -> BlockDecision:
    """The sequential verdict on the per-second counts so far; valid whenever it is called."""
    m, y = to_blocks(np.asarray(flows_per_s), block_s), to_blocks(np.asarray(successes_per_s), block_s)
    n, s = int(m.sum()), int(y.sum())
    if not len(m):
        return BlockDecision(INCONCLUSIVE, 0.0, 1.0, s, n, 0)
    planned = max_duration_s / block_s
    sign = int(block_signs(m, y, target, confidence, planned)[-1])
    _, low, high = block_bounds(m, y, confidence, planned)
    state = {1: PASS, -1: FAIL, 0: INCONCLUSIVE}[sign]
    return BlockDecision(state, float(low[-1]), float(high[-1]), s, n, len(m))


def add_per_second(counts: dict[str, np.ndarray], t: ArrayLike, success: ArrayLike) -> None:
    """Add flows (time since load start t, success) to running per-second counts, growing them as needed."""
    seconds = np.clip(np.asarray(t, dtype=float), 0, None).astype(np.int64)
    if not len(seconds):
        return
    size = max(int(seconds.max()) + 1, len(counts.get("flows", ())))
    for key, weights in (("flows", None), ("successes", np.asarray(success, dtype=float))):
        added = np.bincount(seconds, weights=weights, minlength=size)
        old = counts.get(key, np.zeros(0))
        counts[key] = added + np.pad(old, (0, size - len(old)))
