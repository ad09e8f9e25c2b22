"""The live counts of a running variant, read from the recorder's flushed Parquet parts as they appear."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import records as rec


@dataclass
class LiveTally:
    """Flows and successes of the target metric so far, read from the recorder's flushed Parquet parts."""

    records_dir: Path
    variant: str
    metric: str
    flows: int = 0
    successes: int = 0
    _seen: set[str] = field(default_factory=set)
    by_second: dict[str, Any] = field(default_factory=dict)  # "flows"/"successes": numpy counts per second

    def update(self) -> None:
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        # The file name only narrows the search: "fixed-*" also matches an ablation step "fixed-FLAG-...",
        # so rows are kept by their variant column.
        for path in sorted(self.records_dir.glob(f"{self.variant}-*.parquet")):
            if path.name in self._seen:
                continue
            try:
                table = pq.read_table(path, columns=[rec.T, rec.VARIANT, rec.KIND, rec.NAME, rec.SUCCESS])
            except (OSError, ValueError):
                continue  # parts appear by atomic rename, so this is a damaged file; the report names it
            self._seen.add(path.name)
            mask = pc.and_(pc.and_(pc.equal(table[rec.VARIANT], self.variant),
                                   pc.equal(table[rec.KIND], rec.KIND_FLOW)), pc.equal(table[rec.NAME], self.metric))
            flows = table.filter(mask)
            self.flows += flows.num_rows
            self.successes += int(pc.sum(flows[rec.SUCCESS]).as_py() or 0)
            self._count_seconds(flows[rec.T].to_numpy(), flows[rec.SUCCESS].to_numpy(zero_copy_only=False))

    def _count_seconds(self, t: Any, success: Any) -> None:
        """Per-second counts for the block confidence sequence (issue 14: bursts need time, not just totals)."""
        from harness.analysis.block_sequence import add_per_second

        add_per_second(self.by_second, t, success)

    def describe(self) -> str:
        if not self.flows:
            return "flows 0"
        return f"flows {self.flows:,}  {self.metric} success {self.successes / self.flows:.1%}"
