"""One proxy: a listener on `listen` whose every accepted client gets its own connection to `upstream`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from harness.faultproxy.addresses import bind_listener, bound_address, parse_address
from harness.faultproxy.errors import listen_failed
from harness.faultproxy.link import Connection
from harness.faultproxy.toxic_collection import ToxicCollection

log = logging.getLogger("harness.faultproxy")


@dataclass(eq=False)
class Proxy:
    """A named listener -> upstream pair, its toxics and its live connections."""

    name: str
    listen: str
    upstream: str
    seed: int | None = None
    enabled: bool = False
    toxics: ToxicCollection = field(default_factory=ToxicCollection)
    connections: set[Connection] = field(default_factory=set, repr=False)
    _server: asyncio.Server | None = field(default=None, repr=False)
    _accepted: int = field(default=0, repr=False)

    def __post_init__(self) -> None:
        self.listen_address = parse_address(self.listen, "listen")
        self.upstream_address = parse_address(self.upstream, "upstream")

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "listen": self.listen, "upstream": self.upstream, "enabled": self.enabled,
                "toxics": [spec.as_json() for spec in self.toxics.all()]}

    async def start(self) -> None:
        """Listen on `listen`; with port 0 the real port is kept, so a restart gets the same one."""
        if self.enabled:
            return
        try:
            sock = bind_listener(self.listen_address)
        except OSError as exc:
            raise listen_failed(str(self.listen_address), exc.strerror or str(exc)) from exc
        self.listen_address = bound_address(sock)
        self.listen = str(self.listen_address)
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
        """Toxiproxy's update: a new address restarts the listener; `enabled` starts or stops it."""
        listen_address = parse_address(listen, "listen")
        upstream_address = parse_address(upstream, "upstream")
        if listen != self.listen or upstream != self.upstream:
            self.stop()
            self.listen, self.listen_address = listen, listen_address
            self.upstream, self.upstream_address = upstream, upstream_address
        if enabled:
            await self.start()
        else:
            self.stop()

    def _accept(self) -> asyncio.Protocol:
        self._accepted += 1
        conn = Connection(self, self._accepted)
        self.connections.add(conn)
        return conn.client

    def connection_gone(self, conn: Connection) -> None:
        self.connections.discard(conn)
