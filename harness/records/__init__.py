"""The record formats every part agrees on: column names, error kinds, verdict words, the run-folder layout.

Writers (load/, the experiment) and readers (analysis/, report/) import these names, so each is spelled in
one place. The run folder's JSON files have typed models in harness.records.files (docs/file-formats.md).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

import pyarrow as pa

# Columns of requests/*.parquet, one row per HTTP request and per flow.
T: Final = "t"
TS: Final = "ts"
VARIANT: Final = "variant"
USER_CLASS: Final = "user_class"
KIND: Final = "kind"
NAME: Final = "name"
SUCCESS: Final = "success"
LATENCY_MS: Final = "latency_ms"
STATUS: Final = "status"
ERROR_KIND: Final = "error_kind"
ERROR: Final = "error"
WORKER: Final = "worker"
SERVICE_MS: Final = "service_ms"
SESSION: Final = "session"

REQUEST_SCHEMA: Final = pa.schema([
    (T, pa.float64()),              # seconds since the variant's load started
    (TS, pa.float64()),             # epoch seconds when the request/flow started
    (VARIANT, pa.string()),         # variant name from the scenario ("buggy", "fixed", ...)
    (USER_CLASS, pa.string()),      # Locust user class ("MobileUser", "WebUser", ...)
    (KIND, pa.string()),            # "request" or "flow"
    (NAME, pa.string()),            # "/login", "/me" for requests; "login", "refresh" ... for flows
    (SUCCESS, pa.bool_()),
    (LATENCY_MS, pa.float64()),     # request: response time; flow: start to end (open model: from its intended start)
    (STATUS, pa.int32()),           # HTTP status of the (last) response; 0 when none came back
    (ERROR_KIND, pa.string()),      # "" on success, else one of ERROR_KINDS
    (ERROR, pa.string()),           # short error text, "" on success
    (WORKER, pa.string()),          # Locust process that recorded it ("local", "worker-1", ...)
    # Added with the open model (docs/load-models.md); files without it read as null. Service time: from the
    # moment the flow actually started to its end. Equals latency_ms for closed-loop rows and requests; under
    # arrival_rate, latency_ms counts from the intended start (ts) and includes any wait for a free slot;
    # null for an arrival that never started (error_kind not_started).
    (SERVICE_MS, pa.float64()),
    (SESSION, pa.string()),         # flow: a digest of the session it created or used, "" when none
])
REQUEST_COLUMNS: Final = tuple(REQUEST_SCHEMA.names)

KIND_REQUEST: Final = "request"
KIND_FLOW: Final = "flow"


class Verdict(StrEnum):
    """What a variant, a latency objective or a confidence sequence showed against its target."""

    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"   # the interval straddles the target: more samples needed
    NOT_JUDGED = "not judged"       # a planned fault could not be applied: the flows say nothing about it


class ErrorKind(StrEnum):
    """error_kind: the closed vocabulary the recorder fills in for a failed request or flow."""

    SESSION_NOT_FOUND = "session_not_found"   # 401 {"error": "session_not_found"}
    INVALID_TOKEN = "invalid_token"           # 401 {"error": "invalid_token"} (rotated/revoked/tampered)
    TIMEOUT = "timeout"                       # client timeout, or the service said a Redis call timed out
    UNAVAILABLE = "unavailable"               # 503 (Redis down, clear_errors on)
    CONNECTION_ERROR = "connection_error"     # could not connect / connection reset
    SERVER_ERROR = "server_error"             # other 5xx
    CLIENT_ERROR = "client_error"             # other 4xx
    OTHER = "other"
    NOT_STARTED = "not_started"   # open model: the arrival waited longer than arrival_timeout for a free slot


ERROR_KINDS: Final = tuple(kind.value for kind in ErrorKind)

# faults.jsonl: what a row's `action` says (the row itself: harness.records.files.FaultAction).
APPLY: Final = "apply"
REMOVE: Final = "remove"

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
SWEEP_JSON: Final = "sweep.json"        # in a sweep folder, beside its levels' run folders
ABLATION_JSON: Final = "ablation.json"  # in the run folder of `harness run --ablate`

# manifest.json target.latency: a list of objectives, each with some of these keys (ms), and optionally
# "flow" or "request" (the name judged) and "phase" (one of OBJECTIVE_PHASES, or "stage:<name>").
LATENCY_QUANTILES: Final = {"p50_ms": 0.50, "p90_ms": 0.90, "p95_ms": 0.95, "p99_ms": 0.99, "p999_ms": 0.999}
OBJECTIVE_PHASES: Final = ("all", "no_fault", "faults", "before", "after")
