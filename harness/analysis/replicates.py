"""`harness run --repeat N`: every variant N times in one run folder, and a verdict over the replicates.

A replicate is an ordinary variant named BASE@K (K = 1..N), run on its own fresh stack. Replicates are
interleaved (buggy@1, fixed@1, buggy@2, ...) so that a machine that gets busier during the run weighs on
every variant alike. Run-to-run spread (a busy machine, a different scheduling) is variation that no
single run's interval can show; the replicates measure it.

Verdict over replicates: pass when every replicate passes, fail when every replicate fails, inconclusive
when they disagree. Each replicate's own false-pass rate is at most 5%, so a unanimous pass is no more
often wrong than one run, and a split says plainly that the runs do not agree.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from harness.records import Verdict

SEPARATOR = "@"
PASS, FAIL, INCONCLUSIVE = Verdict.PASS.value, Verdict.FAIL.value, Verdict.INCONCLUSIVE.value


def replicate_name(base: str, number: int) -> str:
    return f"{base}{SEPARATOR}{number}"


def split_replicate(name: str) -> tuple[str, int | None]:
    """(base, K) of BASE@K; (name, None) for a variant that is not a replicate."""
    base, sep, number = name.rpartition(SEPARATOR)
    if sep and base and number.isdigit():
        return base, int(number)
    return name, None


def replicate_number(name: str) -> int | None:
    return split_replicate(name)[1]


def replicate_order(bases: Iterable[str], repeat: int) -> list[tuple[str, str]]:
    """(replicate name, base) in run order: the whole set of variants once per round."""
    bases = list(bases)
    return [(replicate_name(base, k), base) for k in range(1, repeat + 1) for base in bases]


@dataclass(frozen=True)
class ReplicateSummary:
    """One base variant over its replicates: each one's rate and verdict, the spread, the verdict over all."""

    base: str
    expect: str | None
    names: list[str]
    rates: list[float | None]
    verdicts: list[str]

    @property
    def observed(self) -> list[float]:
        return [r for r in self.rates if r is not None]

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.observed) if self.observed else None

    @property
    def sd(self) -> float | None:
        return statistics.stdev(self.observed) if len(self.observed) >= 2 else None

    @property
    def spread(self) -> float | None:
        """Highest minus lowest replicate rate."""
        return max(self.observed) - min(self.observed) if self.observed else None

    @property
    def verdict(self) -> str:
        if self.verdicts and all(v == PASS for v in self.verdicts):
            return PASS
        if self.verdicts and all(v == FAIL for v in self.verdicts):
            return FAIL
        return INCONCLUSIVE

    @property
    def shown(self) -> bool | None:
        return None if self.expect is None else self.verdict == self.expect

    def to_dict(self) -> dict[str, Any]:
        return {"base": self.base, "expect": self.expect, "replicates": self.names, "rates": self.rates,
                "verdicts": self.verdicts, "mean": self.mean, "sd": self.sd, "spread": self.spread,
                "min": min(self.observed) if self.observed else None,
                "max": max(self.observed) if self.observed else None,
                "verdict": self.verdict, "shown": self.shown, "rule": "unanimous"}


def summarise(variants: Iterable[tuple[str, str | None, float | None, str]]) -> list[ReplicateSummary]:
    """Group (name, expect, rate, verdict) of replicate variants by base; [] when the run has no replicates."""
    groups: dict[str, list[tuple[str, str | None, float | None, str]]] = {}
    for row in variants:
        base, number = split_replicate(row[0])
        if number is not None:
            groups.setdefault(base, []).append(row)
    return [ReplicateSummary(base, rows[0][1], [r[0] for r in rows], [r[2] for r in rows], [r[3] for r in rows])
            for base, rows in groups.items()]
