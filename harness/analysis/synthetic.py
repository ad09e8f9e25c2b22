"""Synthetic run folders in the documented record format, for tests, benchmarks and trying the report.

Built from column arrays (numpy) so a million records take well under a second to make.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from harness.analysis import columns as col
from harness.records import (
    APPLY,
    FAULTS,
    KIND_FLOW,
    KIND_REQUEST,
    MANIFEST,
    REMOVE,
    REQUEST_SCHEMA,
    REQUESTS_DIR,
    SERVICE_MS,
    SESSION,
    ErrorKind,
    Verdict,
)
from harness.records.files import FaultAction, Manifest, fault_line, validated, write_run_file

T0 = 1_763_800_000.0
_DEFAULTS: dict[str, Any] = {
    col.TS: 0.0, col.USER_CLASS: "MobileUser", col.KIND: KIND_FLOW, col.NAME: "login", col.SUCCESS: True,
    col.LATENCY_MS: 10.0, col.STATUS: 200, col.ERROR_KIND: "", col.ERROR: "", col.WORKER: "local",
    SERVICE_MS: 10.0, SESSION: ""}


@dataclass(frozen=True)
class SyntheticFault:
    at_s: float
    duration_s: float | None
    label: str = "redis latency 150±100 ms"
    type: str = "latency"


@dataclass(frozen=True)
class SyntheticVariant:
    """A variant whose login flows succeed with `success` outside faults and `fault_success` during them."""

    name: str
    expect: str
    success: float
    fault_success: float
    error_kind: str = ErrorKind.SESSION_NOT_FOUND
    status: str = "completed"
    flags: dict[str, str] = field(default_factory=dict)


def request_table(**columns: Sequence[object] | np.ndarray) -> pa.Table:
    """A table in REQUEST_SCHEMA from column arrays; absent columns get plausible constants."""
    n = len(columns[col.T])
    arrays = [pa.array(columns[f.name] if f.name in columns else np.repeat(_DEFAULTS[f.name], n), type=f.type)
              for f in REQUEST_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=REQUEST_SCHEMA)


def write_requests(run_dir: Path, table: pa.Table, name: str = "local.parquet") -> Path:
    path = Path(run_dir) / REQUESTS_DIR / name
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path)
    return path


def write_manifest(run_dir: Path, variants: dict[str, dict[str, Any]], faults: list[dict[str, Any]] | None = None,
                   target: dict[str, Any] | None = None, scenario: str = "mobile-latency") -> Path:
    manifest = {
        "schema_version": Manifest.VERSION,
        "harness_version": "0.1.0",
        "scenario": {"name": scenario, "file": f"scenarios/{scenario}.toml", "description": "synthetic run"},
        "target": target or {"metric": "login", "minimum": 0.99, "confidence": 0.95},
        "variant_order": list(variants), "variants": variants, "faults": faults or [],
        "fault_proxy": {"kind": "embedded", "url": "http://127.0.0.1:8474"}, "seed": 1,
        "command": ["harness", "run", f"scenarios/{scenario}.toml"],
        "started_at": "2025-11-22T08:26:40Z", "ended_at": "2025-11-22T08:28:40Z", "status": "completed",
        "versions": {"python": "3.11", "harness": "0.1.0"},
    }
    path = Path(run_dir) / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    write_run_file(path, validated(Manifest, manifest, "synthetic manifest"))
    return path


def write_fault_events(run_dir: Path, events: list[dict[str, Any]]) -> Path:
    path = Path(run_dir) / FAULTS
    path.write_text("".join(fault_line(validated(FaultAction, e, "synthetic fault action")) for e in events))
    return path


def fault_event(variant: str, fault: int, action: str, t: float, label: str = "redis latency 150±100 ms",
                rollback: bool = False) -> dict[str, Any]:
    return {"ts": T0 + t, "t": t, "variant": variant, "fault": fault, "label": label, "proxy": "redis",
            "action": action, "toxic": f"fault{fault}", "type": "latency",
            "attributes": {"latency": 150, "jitter": 100}, "rollback": rollback}


def variant_entry(v: SyntheticVariant, duration_s: float) -> dict[str, Any]:
    profile = v.name if v.name in ("buggy", "fixed") else "custom"
    return {"profile": profile, "flags": v.flags, "expect": v.expect, "t0": T0, "duration_s": duration_s,
            "started_at": "2025-11-22T08:26:40Z", "ended_at": "2025-11-22T08:27:40Z", "status": v.status}


def synthetic_rows(v: SyntheticVariant, flows: int, duration_s: float, faults: list[SyntheticFault],
                   rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Each login flow is three rows: POST /login, GET /me and the flow itself."""
    t = np.sort(rng.uniform(0.0, duration_s, flows))
    in_fault = np.zeros(flows, dtype=bool)
    for f in faults:
        in_fault |= (t >= f.at_s) & (t < f.at_s + (f.duration_s if f.duration_s is not None else duration_s))
    ok = rng.random(flows) < np.where(in_fault, v.fault_success, v.success)
    login_ms = rng.lognormal(np.log(np.where(in_fault, 120.0, 12.0)), 0.5)
    me_ms = rng.lognormal(np.log(4.0), 0.4, flows)
    kind = np.where(ok, "", v.error_kind)
    text = f"401 {v.error_kind}" if v.error_kind == ErrorKind.SESSION_NOT_FOUND else v.error_kind
    error = np.where(ok, "", text)
    return {
        col.T: np.concatenate([t, t + login_ms / 1000, t]),
        col.KIND: np.repeat([KIND_REQUEST, KIND_REQUEST, KIND_FLOW], flows),
        col.NAME: np.repeat(["/login", "/me", "login"], flows),
        col.SUCCESS: np.concatenate([np.ones(flows, dtype=bool), ok, ok]),
        col.LATENCY_MS: np.concatenate([login_ms, me_ms, login_ms + me_ms]),
        col.STATUS: np.concatenate([np.full(flows, 200), np.where(ok, 200, 401), np.where(ok, 200, 401)]),
        col.ERROR_KIND: np.concatenate([np.repeat("", flows), kind, kind]),
        col.ERROR: np.concatenate([np.repeat("", flows), error, error]),
    }


def write_synthetic_run(run_dir: Path, variants: list[SyntheticVariant], records: int = 30_000,
                        duration_s: float = 60.0, faults: list[SyntheticFault] | None = None,
                        files_per_variant: int = 2, seed: int = 1) -> Path:
    """A complete run folder with about `records` request rows split over several Parquet files."""
    run_dir = Path(run_dir)
    faults = [SyntheticFault(20.0, 20.0)] if faults is None else faults
    rng = np.random.default_rng(seed)
    flows = max(records // (3 * len(variants)), 1)
    events = []
    for v in variants:
        rows = synthetic_rows(v, flows, duration_s, faults, rng)
        order = np.argsort(rows[col.T], kind="stable")  # a recorder writes rows as they happen
        rows = {k: a[order] for k, a in rows.items()}
        rows[col.TS] = T0 + rows[col.T]
        rows[col.VARIANT] = np.repeat(v.name, len(rows[col.T]))
        for part, idx in enumerate(np.array_split(np.arange(len(rows[col.T])), files_per_variant)):
            worker = f"worker-{part + 1}"
            chunk = {k: a[idx] for k, a in rows.items()} | {col.WORKER: np.repeat(worker, len(idx))}
            write_requests(run_dir, request_table(**chunk), f"{v.name}-{worker}.parquet")
        for i, f in enumerate(faults):
            events.append(fault_event(v.name, i, APPLY, f.at_s, f.label))
            if f.duration_s is not None:
                events.append(fault_event(v.name, i, REMOVE, f.at_s + f.duration_s, f.label))
    manifest_faults = [{"index": i, "label": f.label, "proxy": "redis", "at_s": f.at_s, "duration_s": f.duration_s,
                        "type": f.type, "stream": "upstream", "toxicity": 1.0,
                        "attributes": {"latency": 150, "jitter": 100}} for i, f in enumerate(faults)]
    write_manifest(run_dir, {v.name: variant_entry(v, duration_s) for v in variants}, manifest_faults)
    write_fault_events(run_dir, events)
    return run_dir


def demo_variants() -> list[SyntheticVariant]:
    """The mobile-latency incident in miniature: buggy loses about 15% of logins under latency, fixed passes."""
    return [SyntheticVariant("buggy", Verdict.FAIL, success=0.995, fault_success=0.85),
            SyntheticVariant("fixed", Verdict.PASS, success=0.9995, fault_success=0.998,
                             flags={"await_session_write": "true"})]
