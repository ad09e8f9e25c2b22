"""The toxics, one module each, registered by type name; the link never asks which toxic it runs."""

# Imported to register them, in the order of Toxiproxy's README: the registry keeps it, and the docs table and
# the scenario file's messages list the toxics in it.
# isort: off
from harness.faultproxy.toxics import (  # noqa: F401
    latency,
    bandwidth,
    slow_close,
    timeout,
    reset_peer,
    slicer,
    limit_data,
)
# isort: on
from harness.faultproxy.toxics.base import REGISTRY, AttributeSpec, Chunk, Stage, StageContext, ToxicParams

__all__ = ["REGISTRY", "AttributeSpec", "Chunk", "Stage", "StageContext", "ToxicParams"]
