"""The run folder and its manifest.json: created at start, rewritten atomically whenever something changes."""

from __future__ import annotations

import contextlib
import platform
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from harness import __version__
from harness.errors import BadInput
from harness.experiment.options import RunOptions
from harness.load.open_model import open_model_entry
from harness.records import FAULTS, LOCUST_DIR, LOGS_DIR, MANIFEST, REQUESTS_DIR
from harness.records.files import Manifest, VariantEntry, validated, write_run_file
from harness.scenario import Scenario, Variant

TRACKED_PACKAGES = ("locust", "toxiproxy-python", "redis", "pandas", "matplotlib", "pyarrow", "fastapi",
                    "uvicorn", "uvloop", "scipy", "pydantic")


def versions() -> dict[str, str]:
    found = {"python": platform.python_version(), "harness": __version__}
    for package in TRACKED_PACKAGES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            found[package] = metadata.version(package)
    return found


def utc_iso(ts: float | None = None) -> str:
    return datetime.fromtimestamp(ts if ts is not None else time.time(), UTC).isoformat(timespec="seconds")


def out_refused(out: Path, exc: OSError) -> str:
    """One line for an --out folder that cannot be created or written to."""
    return f"--out: cannot create a run folder in {str(out)!r}: {exc.strerror or exc}; give a writable folder"


def new_run_dir(out: Path, scenario_name: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = out / f"{scenario_name}-{stamp}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = out / f"{scenario_name}-{stamp}-{suffix}"
    try:
        for sub in (REQUESTS_DIR, LOCUST_DIR, LOGS_DIR):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(out_refused(out, exc)) from None
    (run_dir / FAULTS).touch()  # empty until a fault is applied: the report never shades a fault that was not
    return run_dir


@dataclass
class ManifestFile:
    """manifest.json (the Manifest model), rewritten atomically whenever something changes, so a killed run
    keeps it."""

    path: Path
    data: Manifest

    def save(self) -> None:
        write_run_file(self.path, self.data)

    def variant(self, name: str) -> VariantEntry:
        return self.data.variants[name]


def build_manifest(run_dir: Path, scenario: Scenario, options: RunOptions) -> ManifestFile:
    target = scenario.target
    data = {
        "schema_version": Manifest.VERSION,
        "harness_version": __version__,
        "scenario": {"name": scenario.name, "file": str(options.scenario_path),
                     "description": scenario.scenario.description,
                     "resolved": scenario.model_dump(mode="json")},
        "target": {"metric": target.metric, "minimum": target.minimum, "confidence": target.confidence,
                   "latency": [o.model_dump(exclude_none=True) for o in target.latency]},
        "variant_order": list(scenario.variants),
        "variants": {name: _variant_entry(name, v, scenario) for name, v in scenario.variants.items()},
        "faults": [_fault_entry(i, f) for i, f in enumerate(scenario.faults)],
        "network_profile": {"edge": scenario.load.mobile_network.model_dump()},
        "fault_proxy": {"kind": proxy_kind(options.fault_proxy), "url": None},
        "load": {"users": scenario.load.users, "spawn_rate": scenario.load.spawn_rate,
                 "duration_s": scenario.load.duration, "workers": options.workers,
                 "classes": {k: c.model_dump(mode="json") for k, c in scenario.load.classes.items()},
                 **open_model_entry(scenario.load)},
        "seed": scenario.load.seed,
        "command": options.command,
        "started_at": utc_iso(),
        "ended_at": None,
        "status": "running",
        "warnings": [],
        "versions": versions(),
    }
    manifest = ManifestFile(run_dir / MANIFEST, validated(Manifest, data, f"{run_dir / MANIFEST} (as built)"))
    manifest.save()
    return manifest


def proxy_kind(fault_proxy: str) -> str:
    return fault_proxy if fault_proxy in ("embedded", "binary") else "url"


def _variant_entry(name: str, variant: Variant, scenario: Scenario) -> dict[str, Any]:
    service = scenario.service_for(name)
    kind = "reference" if service.is_reference else "command" if service.command is not None else "url"
    described = {k: v for k, v in service.model_dump(mode="json", include={"command", "cwd", "env", "url"}).items()
                 if v not in (None, {})}
    return {"service": {"kind": kind, **described},
            "profile": variant.profile if service.is_reference else None,
            "flags": {k: str(v) for k, v in variant.flags.items()},
            "client": dict(variant.client), "expect": variant.expect, "description": variant.description,
            "t0": None, "started_at": None, "ended_at": None, "duration_s": scenario.load.duration,
            "status": "pending"}


def _fault_entry(index: int, fault: Any) -> dict[str, Any]:
    return {"index": index, "label": fault.label, "proxy": fault.proxy, "at_s": fault.at,
            "duration_s": fault.duration, "type": "down" if fault.down else fault.action or fault.type,
            "stream": fault.stream, "toxicity": fault.toxicity, "attributes": dict(fault.attributes)}
