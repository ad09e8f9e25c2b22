"""Read a run folder (manifest.json, requests/*.parquet, faults.jsonl) into typed values and one DataFrame.

Unreadable pieces become `problems` (one line each, naming the file) so the rest is still reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness.analysis import columns as col
from harness.errors import NewerSchema, RecordsError
from harness.records import APPLY, FAULTS, MANIFEST, REMOVE, REQUEST_SCHEMA, REQUESTS_DIR
from harness.records.files import FaultAction, Manifest, StopBlock, Target, VariantEntry, read_run_file, validated

_DICT = pa.dictionary(pa.int32(), pa.string())
# Strings become dictionary columns (pandas categoricals): 10x less memory and fast groupby at 1M rows.
READ_SCHEMA = pa.schema([pa.field(f.name, _DICT if f.name in col.CATEGORICAL else f.type) for f in REQUEST_SCHEMA])


@dataclass(frozen=True)
class VariantInfo:
    name: str
    expect: str | None = None
    profile: str | None = None
    flags: dict[str, str] = field(default_factory=dict)
    t0: float | None = None
    duration_s: float | None = None
    status: str = "unknown"
    stopped: StopBlock | None = None   # `harness run --until-decided`: when and why the load stopped
    error: str | None = None           # why the variant stopped early (e.g. the fault that could not be applied)


@dataclass(frozen=True)
class FaultEvent:
    """One line of faults.jsonl; `t` is seconds since the variant's load started."""

    t: float
    variant: str
    fault: int
    label: str
    action: str
    rollback: bool = False
    type: str = ""
    proxy: str = ""


@dataclass
class RunRecords:
    run_dir: Path
    manifest: Manifest
    target: Target
    variants: list[VariantInfo]
    requests: pd.DataFrame
    fault_events: list[FaultEvent]
    problems: list[str] = field(default_factory=list)
    # manifest.json as read from disk (None: missing or unreadable); `manifest` is its defaults when invalid
    manifest_text: str | None = None
    manifest_valid: bool = False

    def variant(self, name: str) -> VariantInfo:
        return next(v for v in self.variants if v.name == name)


def load_run(run_dir: Path) -> RunRecords:
    """Everything a report needs from RUN_DIR; raises RecordsError only when nothing at all is readable."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RecordsError(f"{run_dir}: no such run folder")
    if not (run_dir / MANIFEST).exists() and not (run_dir / REQUESTS_DIR).exists():
        raise RecordsError(f"{run_dir}: not a run folder (neither {MANIFEST} nor {REQUESTS_DIR}/ is there)")
    problems: list[str] = []
    manifest = read_manifest(run_dir, problems)
    valid = not problems   # read_manifest adds a problem exactly when it falls back to defaults
    requests = read_requests(run_dir, problems)
    variants = variants_of(manifest, requests, problems)
    events = read_fault_events(run_dir, manifest, variants, problems)
    return RunRecords(run_dir, manifest, manifest.target, variants, requests, events, problems,
                      manifest_text=text_or_none(run_dir / MANIFEST), manifest_valid=valid)


def text_or_none(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return None


def read_manifest(run_dir: Path, problems: list[str]) -> Manifest:
    """The manifest, or its defaults (and a problem) when it is missing or does not validate; NewerSchema
    when a newer harness wrote it."""
    try:
        return read_run_file(Manifest, run_dir / MANIFEST)
    except NewerSchema:
        raise  # defaults would misjudge a newer harness's run and overwrite its report
    except RecordsError as exc:
        problems.append(f"{exc}; default target used and expectations unknown")
        return Manifest()


def read_requests(run_dir: Path, problems: list[str]) -> pd.DataFrame:
    folder = run_dir / REQUESTS_DIR
    files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
    if not files:
        problems.append(f"{folder}/: no *.parquet request records; rates and latencies cannot be computed")
    tables = [table for path in files if (table := read_request_file(path, problems)) is not None]
    table = pa.concat_tables(tables) if tables else READ_SCHEMA.empty_table()
    frame: pd.DataFrame = table.to_pandas()
    frame[col.SECOND] = frame[col.T].clip(lower=0).astype("int32")  # t is never negative; guard the bins anyway
    return frame


def read_request_file(path: Path, problems: list[str]) -> pa.Table | None:
    """One Parquet file cast to READ_SCHEMA, or None (and a problem) when it cannot be read."""
    try:
        present = set(pq.read_schema(path).names)
        missing = [c for c in col.REQUIRED if c not in present]
        if missing:
            problems.append(f"{path}: lacks columns {missing}; file skipped")
            return None
        table = pq.read_table(path, columns=[c for c in READ_SCHEMA.names if c in present])
    except (OSError, pa.ArrowException) as exc:
        problems.append(f"{path}: unreadable, truncated or not Parquet ({first_line(exc)}); file skipped")
        return None
    return conform(table, worker=path.stem)


def conform(table: pa.Table, worker: str) -> pa.Table:
    """Add absent optional columns with neutral values and cast every column to READ_SCHEMA."""
    defaults = {col.TS: float("nan"), col.USER_CLASS: "", col.ERROR_KIND: "", col.ERROR: "", col.WORKER: worker,
                col.LATENCY_MS: float("nan"), col.STATUS: 0}
    for name, value in defaults.items():
        if name not in table.column_names:
            table = table.append_column(name, pa.array([value] * table.num_rows))
    arrays = [table.column(f.name).cast(f.type) if f.name in table.column_names
              else pa.nulls(table.num_rows, f.type) for f in READ_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=READ_SCHEMA)


def variants_of(manifest: Manifest, requests: pd.DataFrame, problems: list[str]) -> list[VariantInfo]:
    """Variants in the manifest's order, then any found only in the records."""
    declared = manifest.variants
    order = list(manifest.variant_order or declared)
    order += [name for name in declared if name not in order]
    seen = [str(v) for v in pd.unique(requests[col.VARIANT].astype(str))] if len(requests) else []
    extra = [name for name in sorted(seen) if name not in order]
    if extra and declared:
        problems.append(f"records name variants {extra} that the manifest does not; reported without expectation")
    return [variant_info(name, declared.get(name) or VariantEntry()) for name in order + extra]


def variant_info(name: str, entry: VariantEntry) -> VariantInfo:
    return VariantInfo(name=name, expect=entry.expect, profile=entry.profile, flags=dict(entry.flags), t0=entry.t0,
                       duration_s=entry.duration_s, status=entry.status, stopped=entry.stopped,
                       error=entry.error or None)


def read_fault_events(run_dir: Path, manifest: Manifest, variants: list[VariantInfo],
                      problems: list[str]) -> list[FaultEvent]:
    path = run_dir / FAULTS
    if not path.exists():
        if manifest.faults:
            problems.append(f"{path}: missing; fault windows taken from the scenario's planned timeline")
            return planned_events(manifest, variants)
        return []
    t0 = {v.name: v.t0 for v in variants}
    events = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                events.append(fault_event(line, t0, f"{path}:{number}"))
            except NewerSchema:
                raise
            except RecordsError as exc:
                problems.append(f"{exc}; skipped")
    return events


def fault_event(line: str, t0: dict[str, float | None], where: str) -> FaultEvent:
    """One line of faults.jsonl; RecordsError naming WHERE when it is not a fault action (a truncated line)."""
    try:
        raw = json.loads(line)
    except ValueError:
        raise RecordsError(f"{where}: not a fault action (truncated line?)") from None
    row = validated(FaultAction, raw, where)
    t = row.t
    if t is None:  # older writers gave only epoch seconds: rebase on the variant's start
        start = t0.get(row.variant)
        if start is None:
            raise RecordsError(f"{where}: no t, and the manifest has no start (t0) for variant {row.variant!r}")
        t = row.ts - start
    return FaultEvent(t=t, variant=row.variant, fault=row.fault, label=row.label, action=row.action,
                      rollback=row.rollback, type=row.type, proxy=row.proxy)


def planned_events(manifest: Manifest, variants: list[VariantInfo]) -> list[FaultEvent]:
    """The fault timeline the scenario asked for, when the record of what was applied is lost."""
    events = []
    for v in variants:
        for fault in manifest.faults:
            label = fault.label or f"fault {fault.index}"
            events.append(FaultEvent(fault.at_s, v.name, fault.index, label, APPLY, type=fault.type))
            if fault.duration_s is not None:
                end = fault.at_s + fault.duration_s
                events.append(FaultEvent(end, v.name, fault.index, label, REMOVE, type=fault.type))
    return events


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
