"""Small hand-made run folders whose every figure can be checked by hand."""

from __future__ import annotations

from pathlib import Path

from harness.analysis.synthetic import (
    T0,
    fault_event,
    request_table,
    write_fault_events,
    write_manifest,
    write_requests,
)


def flows(t: list[float], success: list[bool], kinds: list[str] | None = None, variant: str = "buggy",
          latency_ms: list[float] | None = None) -> dict:
    """Columns of login flows; failures get the given error kinds (default session_not_found)."""
    kinds = kinds or ["" if ok else "session_not_found" for ok in success]
    return {"t": t, "ts": [T0 + x for x in t], "variant": [variant] * len(t), "kind": ["flow"] * len(t),
            "name": ["login"] * len(t), "success": success, "latency_ms": latency_ms or [10.0] * len(t),
            "status": [200 if ok else 401 for ok in success], "error_kind": kinds,
            "error": ["" if ok else f"401 {k}" for ok, k in zip(success, kinds, strict=True)]}


def requests(t: list[float], name: str = "/login", variant: str = "buggy", success: bool = True) -> dict:
    n = len(t)
    return {"t": t, "ts": [T0 + x for x in t], "variant": [variant] * n, "kind": ["request"] * n, "name": [name] * n,
            "success": [success] * n, "latency_ms": [5.0] * n, "status": [200] * n, "error_kind": [""] * n,
            "error": [""] * n}


def variant(expect: str | None, duration_s: float = 10.0, status: str = "completed") -> dict:
    entry = {"profile": "buggy", "flags": {}, "t0": T0, "duration_s": duration_s, "status": status}
    return entry if expect is None else entry | {"expect": expect}


def make_run(run_dir: Path, parts: dict[str, dict], variants: dict[str, dict], faults: list[dict] | None = None,
             target: dict | None = None) -> Path:
    """parts: file name -> columns; faults: fault_event(...) rows for faults.jsonl."""
    for name, columns in parts.items():
        write_requests(run_dir, request_table(**columns), name)
    write_manifest(run_dir, variants, target=target)
    if faults is not None:
        write_fault_events(run_dir, faults)
    return run_dir


__all__ = ["fault_event", "flows", "make_run", "requests", "variant"]
