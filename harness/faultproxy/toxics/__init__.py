"""The toxics, one module each, registered by type name; the link never asks which toxic it runs."""

from harness.faultproxy.toxics import (  # noqa: F401  (imported to register them)
    bandwidth,
    latency,
    limit_data,
    reset_peer,
    slicer,
    slow_close,
    timeout,
)
from harness.faultproxy.toxics.base import REGISTRY, Chunk, Stage, StageContext, ToxicParams

__all__ = ["REGISTRY", "Chunk", "Stage", "StageContext", "ToxicParams"]
