"""`harness run --repeat N`: every variant N times, each on its own fresh stack, in one run folder.

The replicates are ordinary variants named BASE@K, interleaved round by round (harness.analysis.replicates
says why and how they are judged together), so the run life cycle, records and reports need nothing new.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.errors import BadInput

if TYPE_CHECKING:  # the CLI imports MAX_REPEAT at start: the scenario model and analysis load only when used
    from harness.scenario import Scenario

MAX_REPEAT = 100   # --repeat's upper bound


def with_replicates(scenario: Scenario, repeat: int, chosen: list[str] | None = None) -> Scenario:
    """The scenario with each (chosen) variant replaced by `repeat` replicates, in round order."""
    from harness.analysis.replicates import SEPARATOR, replicate_order

    if chosen:
        unknown = [v for v in chosen if v not in scenario.variants]
        if unknown:
            raise BadInput(f"--variants: unknown variant {unknown[0]!r}, the scenario has: "
                           f"{', '.join(scenario.variants)}")
    bases = chosen or list(scenario.variants)
    clashing = [name for name in bases if SEPARATOR in name]
    if clashing:
        raise BadInput(f"--repeat: variant name {clashing[0]!r} contains {SEPARATOR!r}, which names replicates; "
                       "rename the variant")
    variants = {name: scenario.variants[base] for name, base in replicate_order(bases, repeat)}
    return scenario.model_copy(update={"variants": variants})
