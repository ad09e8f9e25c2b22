"""One proxy: a listener on `listen` whose every accepted client gets its own connection to `upstream`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from harness.faultproxy.addresses import Address, AddressError, bind_listener, bound_address, parse_address
from harness.faultproxy.errors import bad_body, listen_failed
from harness.faultproxy.link import ByteCounters, Connection, ConnectionContext
from harness.faultproxy.toxic_collection import ToxicCollection

if TYPE_CHECKING:
    from harness.faultproxy.metrics import FaultProxyMetrics

log = logging.getLogger("harness.faultproxy")


def listen_address(listen: str) -> Address:
    """The listen address, or a 400 naming it (Toxiproxy answers 500 with Go's net error)."""
    try:
        return parse_address(listen, "listen")
    except AddressError as exc:
        raise bad_body(str(exc)) from None


@dataclass(eq=False)
class Proxy:
    """A named listener -> upstream pair, its toxics and its live connections.

    `upstream` is any string, as in Toxiproxy: it is resolved when a client connects, and a client
    whose upstream cannot be reached is closed (and the reason logged once)."""

    name: str
    listen: str
    upstream: str
    seed: int | None = None
    metrics: FaultProxyMetrics | None = None
    # --processes N: every process listens on the port (SO_REUSEPORT), so the kernel cannot refuse a port another
    # proxy of this server holds; `port_taken` says whether one does.
    reuse_port: bool = False
    port_taken: Callable[[Proxy, Address], bool] | None = field(default=None, repr=False)
    enabled: bool = False
    toxics: ToxicCollection = field(default_factory=ToxicCollection)
    connections: set[Connection] = field(default_factory=set, repr=False)
    _server: asyncio.Server | None = field(default=None, repr=False)
    _accepted: int = field(default=0, repr=False)

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled,
                "toxics": [spec.as_json() for spec in self.toxics.all()]}

    async def start(self) -> None:
        """Listen on `listen`; with port 0 the real port is kept, so a restart gets the same one."""
        if self.enabled:
            return
        address = listen_address(self.listen)
        if self.port_taken is not None and address.port != 0 and self.port_taken(self, address):
            raise listen_failed(str(address), "address already in use")
        try:
            sock = bind_listener(address, self.reuse_port)
        except OSError as exc:
            raise listen_failed(str(address), exc.strerror or str(exc)) from exc
        self.listen = str(bound_address(sock))
        self._server = await asyncio.get_running_loop().create_server(self._accept, sock=sock)
        self.enabled = True
        log.info("proxy %s: listening on %s, upstream %s", self.name, self.listen, self.upstream)

    def stop(self) -> None:
        """Stop listening and close every live connection (Toxiproxy's `enabled: false`)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self.connections):
            conn.abort()
        self.connections.clear()
        if self.enabled:
            log.info("proxy %s: stopped listening on %s", self.name, self.listen)
        self.enabled = False

    async def update(self, listen: str, upstream: str, enabled: bool) -> None:
        """Toxiproxy's update: a new address restarts the listener; `enabled` starts or stops it.
        An unparseable listen address is refused before anything changes."""
        if enabled:
            listen_address(listen)
        if listen != self.listen or upstream != self.upstream:
            self.stop()
            self.listen, self.upstream = listen, upstream
        if enabled:
            await self.start()
        else:
            self.stop()

    def byte_counters(self, stream: str) -> ByteCounters | None:
        """(received, sent) byte counters of one direction, labelled as Toxiproxy labels them; None when off."""
        if self.metrics is None:
            return None
        return self.metrics.byte_counters(stream, self.name, self.listen, self.upstream)

    def _accept(self) -> asyncio.Protocol:
        self._accepted += 1
        ctx = ConnectionContext(self.name, self.upstream, self.seed, self.toxics, self.byte_counters)
        conn = Connection(ctx, self._accepted, gone=self.connections.discard)
        self.connections.add(conn)
        return conn.client
