"""Analysis of run records: success rates with Wilson intervals, verdicts, latencies, timelines, recovery.

The public surface; the functions take DataFrames of records, so live progress, sweeps and early
stopping can reuse them on any slice. The names load on first use (harness/lazy.py): the live tally of
a run needs none of SciPy.
"""

from typing import TYPE_CHECKING

from harness.lazy import lazy_exports
from harness.records.files import Target

if TYPE_CHECKING:
    from harness.analysis.latency import latency_table
    from harness.analysis.phases import FaultWindow, Phase, fault_windows, phases_of
    from harness.analysis.run_analysis import (
        PairResult,
        PhaseResult,
        RunAnalysis,
        VariantResult,
        analyse_run,
        target_flows,
    )
    from harness.analysis.run_folder import FaultEvent, RunRecords, VariantInfo, load_run
    from harness.analysis.stats import (
        RateComparison,
        RateEstimate,
        Verdict,
        compare_rates,
        rate_from_counts,
        rates_by,
        success_rate,
        verdict,
        wilson_interval,
    )
    from harness.analysis.timeline import Recovery, per_second, recoveries

__all__ = [
    "FaultEvent", "FaultWindow", "PairResult", "Phase", "PhaseResult", "RateComparison", "RateEstimate", "Recovery",
    "RunAnalysis", "RunRecords", "Target", "VariantInfo", "VariantResult", "Verdict", "analyse_run", "compare_rates",
    "fault_windows", "latency_table", "load_run", "per_second", "phases_of", "rate_from_counts", "rates_by",
    "recoveries", "success_rate", "target_flows", "verdict", "wilson_interval",
]
__getattr__ = lazy_exports(__name__, {
    "latency_table": "latency", "FaultWindow": "phases", "Phase": "phases", "fault_windows": "phases",
    "phases_of": "phases", "PairResult": "run_analysis", "PhaseResult": "run_analysis", "RunAnalysis": "run_analysis",
    "VariantResult": "run_analysis", "analyse_run": "run_analysis", "target_flows": "run_analysis",
    "FaultEvent": "run_folder", "RunRecords": "run_folder", "VariantInfo": "run_folder", "load_run": "run_folder",
    "RateComparison": "stats", "RateEstimate": "stats", "Verdict": "stats", "compare_rates": "stats",
    "rate_from_counts": "stats", "rates_by": "stats", "success_rate": "stats", "verdict": "stats",
    "wilson_interval": "stats", "Recovery": "timeline", "per_second": "timeline", "recoveries": "timeline",
})
