"""Number and table formatting shared by the console table, Markdown, HTML and JUnit outputs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from rich.table import Table

from harness.analysis.stats import RateEstimate


def pct(x: float | None, digits: int = 2) -> str:
    return "–" if x is None or math.isnan(x) else f"{x * 100:.{digits}f}%"


def ms(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "–"
    return f"{x:.0f} ms" if x >= 100 else f"{x:.1f} ms"


def seconds(x: float | None) -> str:
    return "–" if x is None else f"{x:.0f} s" if x >= 10 else f"{x:.1f} s"


def rate_ci(rate: RateEstimate) -> str:
    """'94.82% [94.17%, 95.40%]', or 'no flows'."""
    if not rate.n:
        return "no flows"
    return f"{pct(rate.rate)} [{pct(rate.ci_low)}, {pct(rate.ci_high)}]"


def wilson_ci(v) -> str:
    """A variant's Wilson interval (independent flows), shown beside the interval that judged."""
    return "–" if v.wilson is None else rate_ci(v.wilson)


def design_effect(v) -> str:
    return "–" if v.burst is None or not v.rate.n else f"{v.burst.design_effect:.1f}"


def p_value(p: float | None) -> str:
    if p is None:
        return "–"
    return "p < 1e-10" if p < 1e-10 else f"p = {p:.2g}"


def ratio(x: float | None) -> str:
    return "∞ (no failures after)" if x is None else f"{x:.1f}×"


def main_errors(failures_by_kind: dict[str, int], n: float, top: int = 2) -> str:
    if not failures_by_kind:
        return "none"
    return ", ".join(f"{kind} {pct(count / n, 1)}" for kind, count in list(failures_by_kind.items())[:top])


def markdown_table(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A plain Markdown table, as lines: header, separator, one line per row."""
    return [f"| {' | '.join(columns)} |", "|---" * len(columns) + "|", *(f"| {' | '.join(row)} |" for row in rows)]


def console_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> Table:
    """The same cells as a rich table for the terminal."""
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table
