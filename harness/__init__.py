"""Reproduce intermittent login failures under load, latency and Redis outages, and prove a fix holds."""

from harness.errors import (
    BadInput,
    HarnessError,
    ScenarioError,
    StackError,
)

__version__ = "0.1.0"

__all__ = ["BadInput", "HarnessError", "ScenarioError", "StackError", "__version__"]
