"""Record every request and flow of a Locust process, one row each, to Parquet files flushed as it goes.

Each flush writes a complete part file (atomic rename), so a run that is killed keeps every row
flushed before; analysis reads all parts. One recorder per Locust process that runs users.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from harness import records as rec
from harness.files import atomic_path, write_json_atomic
from harness.load.classify import classify, response_error
from harness.records import KIND_FLOW, KIND_REQUEST, REQUEST_COLUMNS, REQUEST_SCHEMA

log = logging.getLogger("harness.recorder")
FLOW_REQUEST_TYPE = "FLOW"


@dataclass
class Recorder:
    """Buffers rows as columns and writes them as Parquet part files."""

    out_dir: Path | None   # None on a Locust worker: rows go to the master with each report
    variant: str
    worker: str
    t0: float = field(default_factory=time.time)
    max_rows: int = 20_000
    _columns: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in REQUEST_COLUMNS})
    _part: int = 0
    rows_written: int = 0

    def __post_init__(self) -> None:
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)

    def on_request(self, request_type: str, name: str, response_time: float, response_length: int = 0,
                   response: Any = None, context: dict[str, Any] | None = None,
                   exception: BaseException | None = None, start_time: float | None = None,
                   **_: Any) -> None:
        """Locust `request` event listener."""
        ctx = context or {}
        ts = start_time if start_time is not None else time.time() - response_time / 1000.0
        if request_type == FLOW_REQUEST_TYPE:
            kind = KIND_FLOW
            status = int(ctx.get("status", 0))
            error_kind = "" if exception is None else str(ctx.get(rec.ERROR_KIND) or rec.ErrorKind.OTHER.value)
            error = "" if exception is None else str(exception)[:200]
        else:
            kind = KIND_REQUEST
            status, code, text = response_error(response) if response is not None else (0, None, "")
            if exception is None:
                error_kind, error = "", ""
            else:
                # A flow step classified by the scenario's error-kind rules says so in its context.
                error_kind = str(ctx.get(rec.ERROR_KIND) or classify(status, code, exception))
                error = text or str(exception)[:200]
        self.append(ts=ts, user_class=str(ctx.get("user_class", "")), kind=kind, name=name,
                    success=exception is None, latency_ms=float(response_time), status=status,
                    error_kind=error_kind, error=error, service_ms=float(ctx.get(rec.SERVICE_MS, response_time)),
                    session=str(ctx.get(rec.SESSION, "")))

    def append(self, *, ts: float, user_class: str, kind: str, name: str, success: bool, latency_ms: float,
               status: int, error_kind: str, error: str, service_ms: float | None = None, session: str = "") -> None:
        cols = self._columns
        cols[rec.T].append(ts - self.t0)
        cols[rec.TS].append(ts)
        cols[rec.VARIANT].append(self.variant)
        cols[rec.USER_CLASS].append(user_class)
        cols[rec.KIND].append(kind)
        cols[rec.NAME].append(name)
        cols[rec.SUCCESS].append(success)
        cols[rec.LATENCY_MS].append(latency_ms)
        cols[rec.STATUS].append(status)
        cols[rec.ERROR_KIND].append(error_kind)
        cols[rec.ERROR].append(error)
        cols[rec.WORKER].append(self.worker)
        cols[rec.SERVICE_MS].append(latency_ms if service_ms is None else service_ms)
        cols[rec.SESSION].append(session)
        if len(cols[rec.TS]) >= self.max_rows and self.out_dir is not None:
            self.flush()

    def take(self) -> dict[str, list[Any]]:
        """Hand over the buffered rows (a worker sends them to the master) and start a new buffer."""
        taken, self._columns = self._columns, {c: [] for c in REQUEST_COLUMNS}
        return taken

    def extend(self, columns: dict[str, list[Any]]) -> None:
        """Rows a worker sent: kept as they are, but `t` counted from this (the master's) start."""
        count = len(columns.get(rec.TS, ()))
        if count == 0:
            return
        for name in REQUEST_COLUMNS:
            # A worker of an older harness sends no `session` column: those rows name no session.
            values = [ts - self.t0 for ts in columns[rec.TS]] if name == rec.T else columns.get(name, [""] * count)
            self._columns[name].extend(values)
        if len(self._columns[rec.TS]) >= self.max_rows:
            self.flush()

    def flush(self) -> None:
        """Write buffered rows as one complete Parquet part (a reader never sees half of one)."""
        count = len(self._columns[rec.TS])
        if count == 0 or self.out_dir is None:
            return
        table = pa.Table.from_pydict(self._columns, schema=REQUEST_SCHEMA)
        self._columns = {c: [] for c in REQUEST_COLUMNS}
        final = self.out_dir / f"{self.variant}-{self.worker}-{os.getpid()}-{self._part:05d}.parquet"
        with atomic_path(final) as partial:
            pq.write_table(table, partial, compression="zstd")
        self._part += 1
        self.rows_written += count


def write_started(path: Path | None, t0: float) -> None:
    """Tell the harness when the load started (it aligns the fault timeline on it)."""
    if path is None:
        return
    write_json_atomic(path, {"t0": t0, "pid": os.getpid()}, indent=None)


def flush_quietly(recorder: Recorder) -> None:
    # A listener that raises must not end the run: log it once and keep going.
    try:
        recorder.flush()
    except Exception:
        log.exception("could not write request records to %s", recorder.out_dir)
