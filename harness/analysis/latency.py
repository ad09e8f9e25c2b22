"""Exact latency percentiles (from every record, not histogram buckets) per request or flow name."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from pandas.api.typing import SeriesGroupBy

from harness.analysis import columns as col


def percentiles(values: SeriesGroupBy[float, Any], qs: tuple[float, ...]) -> pd.DataFrame:
    """Exact percentiles per group as columns p50_ms, p95_ms, ... (empty frame, right columns, when no rows)."""
    names = [f"p{round(q * 100)}_ms" for q in qs]
    if values.ngroups == 0:
        return pd.DataFrame(index=values.size().index, columns=names, dtype=float)
    table = values.quantile(np.asarray(qs)).unstack()
    table.columns = names
    return table


LATENCY_COLUMNS = ("count", "failures", "success_rate", "p50_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms")


def latency_table(records: pd.DataFrame, by: tuple[str, ...] = (col.KIND, col.NAME)) -> pd.DataFrame:
    """One row per group (default: kind and name) with counts, success rate and latency percentiles."""
    keys = list(by)
    grouped = records.groupby(keys, observed=True)
    table = grouped[col.SUCCESS].agg(count="size", successes="sum")
    table["failures"] = table["count"] - table["successes"]
    table["success_rate"] = table["successes"] / table["count"]
    table = table.join(percentiles(grouped[col.LATENCY_MS], (0.50, 0.95, 0.99)))
    table["max_ms"] = grouped[col.LATENCY_MS].max()
    table["mean_ms"] = grouped[col.LATENCY_MS].mean()
    ordered: pd.DataFrame = table[list(LATENCY_COLUMNS)]
    return ordered
