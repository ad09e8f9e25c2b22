"""The record formats every part agrees on: request rows, fault actions, run-folder layout.

Writers (load/, faults.py) and readers (analysis/, report/) import these names, so a
column is spelled in one place.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

# One row per HTTP request and per flow, in requests/*.parquet.
REQUEST_SCHEMA: Final = pa.schema([
    ("t", pa.float64()),            # seconds since the variant's load started
    ("ts", pa.float64()),           # epoch seconds when the request/flow started
    ("variant", pa.string()),       # variant name from the scenario ("buggy", "fixed", ...)
    ("user_class", pa.string()),    # Locust user class ("MobileUser", "WebUser", ...)
    ("kind", pa.string()),          # "request" or "flow"
    ("name", pa.string()),          # "/login", "/me" for requests; "login", "refresh" ... for flows
    ("success", pa.bool_()),
    ("latency_ms", pa.float64()),   # request: response time; flow: start to end (open model: from its intended start)
    ("status", pa.int32()),         # HTTP status of the (last) response; 0 when none came back
    ("error_kind", pa.string()),    # "" on success, else one of ERROR_KINDS
    ("error", pa.string()),         # short error text, "" on success
    ("worker", pa.string()),        # Locust process that recorded it ("local", "worker-1", ...)
    # Added with the open model (docs/load-models.md); files without it read as null. Service time: from the
    # moment the flow actually started to its end. Equals latency_ms for closed-loop rows and requests; under
    # arrival_rate, latency_ms counts from the intended start (ts) and includes any wait for a free slot;
    # null for an arrival that never started (error_kind not_started).
    ("service_ms", pa.float64()),
    ("session", pa.string()),       # flow: a digest of the session it created or used, "" when none
])
REQUEST_COLUMNS: Final = tuple(REQUEST_SCHEMA.names)

KIND_REQUEST: Final = "request"
KIND_FLOW: Final = "flow"

ERROR_KINDS: Final = (
    "session_not_found",   # 401 {"error": "session_not_found"}
    "invalid_token",       # 401 {"error": "invalid_token"} (rotated/revoked/tampered)
    "timeout",             # client timeout, or the service said a Redis call timed out
    "unavailable",         # 503 (Redis down, clear_errors on)
    "connection_error",    # could not connect / connection reset
    "server_error",        # other 5xx
    "client_error",        # other 4xx
    "other",
    "not_started",         # open model: the arrival waited longer than arrival_timeout for a free slot
)

# faults.jsonl: one JSON object per line, in the order they happened.
FAULT_FIELDS: Final = (
    "ts",          # epoch seconds
    "t",           # seconds since the variant's load started
    "variant",
    "fault",       # index of the fault in the scenario's [[faults]] list
    "label",       # human label, e.g. "redis latency 150±100 ms"
    "proxy",       # proxy name in the fault proxy ("redis", "edge")
    "action",      # "apply" or "remove"
    "toxic",       # toxic name, or null for a down fault
    "type",        # toxic type ("latency", ...) or "down"
    "attributes",  # the toxic's attributes (and stream, toxicity), {} for down
    "rollback",    # true when the removal was the run's clean-up, not the timeline
)

# The run folder: reports/<scenario>-<UTC timestamp>/
MANIFEST: Final = "manifest.json"
# A variant's manifest status when a planned fault could not be applied: stopped early, never judged.
STATUS_NOT_JUDGED: Final = "not_judged"
REQUESTS_DIR: Final = "requests"
FAULTS: Final = "faults.jsonl"
LOCUST_DIR: Final = "locust"
LOGS_DIR: Final = "logs"
SUMMARY: Final = "summary.json"
SUMMARY_MD: Final = "summary.md"
JUNIT: Final = "junit.xml"
REPORT_HTML: Final = "report.html"
CHARTS_DIR: Final = "charts"

# manifest.json target.latency: a list of objectives, each with some of these keys (ms), and optionally
# "flow" or "request" (the name judged) and "phase" (one of OBJECTIVE_PHASES, or "stage:<name>").
LATENCY_QUANTILES: Final = {"p50_ms": 0.50, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99, "p999_ms": 0.999}
OBJECTIVE_PHASES: Final = ("all", "no_fault", "faults", "before", "after")
