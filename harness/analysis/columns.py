"""The request-record columns the analysis reads (defined in harness.records), and the ones it derives."""

from __future__ import annotations

from typing import Final

from harness.records import (
    ERROR,
    ERROR_KIND,
    KIND,
    LATENCY_MS,
    NAME,
    STATUS,
    SUCCESS,
    TS,
    USER_CLASS,
    VARIANT,
    WORKER,
    T,
)

# Derived by the analysis, not stored: the whole second since the variant's load started.
SECOND: Final = "second"

# Without these a file cannot be analysed at all; the rest are filled with defaults when absent.
REQUIRED: Final = (T, VARIANT, KIND, NAME, SUCCESS)
CATEGORICAL: Final = (VARIANT, USER_CLASS, KIND, NAME, ERROR_KIND, ERROR, WORKER)

__all__ = [
    "CATEGORICAL",
    "ERROR",
    "ERROR_KIND",
    "KIND",
    "LATENCY_MS",
    "NAME",
    "REQUIRED",
    "SECOND",
    "STATUS",
    "SUCCESS",
    "TS",
    "USER_CLASS",
    "VARIANT",
    "WORKER",
    "T",
]
