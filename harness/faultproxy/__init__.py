"""An embedded Toxiproxy-compatible fault proxy: the Toxiproxy v2 HTTP API over asyncio TCP relays.

`serve()` runs it (as `harness faultproxy`); any Toxiproxy client drives it unchanged.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.faultproxy.collection import ProxyCollection
    from harness.faultproxy.server import serve

__all__ = ["ProxyCollection", "serve"]

_HOMES = {"ProxyCollection": "harness.faultproxy.collection", "serve": "harness.faultproxy.server"}


def __getattr__(name: str) -> Any:
    # Loaded on first use: scenario validation reads the toxic registry (harness.faultproxy.toxics) and must not
    # pay a second or more for the server's web stack, which importing this package would otherwise load.
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_HOMES[name]), name)
