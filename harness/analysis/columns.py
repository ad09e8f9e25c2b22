"""Names of the request-record columns the analysis reads, checked against harness.records at import."""

from __future__ import annotations

from typing import Final

from harness.records import REQUEST_COLUMNS

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

# Derived by the analysis, not stored: the whole second since the variant's load started.
SECOND: Final = "second"

# Without these a file cannot be analysed at all; the rest are filled with defaults when absent.
REQUIRED: Final = (T, VARIANT, KIND, NAME, SUCCESS)
CATEGORICAL: Final = (VARIANT, USER_CLASS, KIND, NAME, ERROR_KIND, ERROR, WORKER)

_unknown = {T, TS, VARIANT, USER_CLASS, KIND, NAME, SUCCESS, LATENCY_MS, STATUS, ERROR_KIND, ERROR, WORKER} - set(
    REQUEST_COLUMNS)
if _unknown:  # the record contract changed under us: fail at import, not with a KeyError mid-report
    raise ImportError(f"harness.records no longer has columns {sorted(_unknown)}")
