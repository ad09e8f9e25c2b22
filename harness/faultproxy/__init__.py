"""An embedded Toxiproxy-compatible fault proxy: the Toxiproxy v2 HTTP API over asyncio TCP relays.

`serve()` runs it (as `harness faultproxy`); any Toxiproxy client drives it unchanged.
"""

from harness.faultproxy.collection import ProxyCollection
from harness.faultproxy.server import serve

__all__ = ["ProxyCollection", "serve"]
