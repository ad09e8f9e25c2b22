"""One proxied TCP connection: two sockets on asyncio Protocols and one toxic chain per direction.

With no toxic in a direction, bytes go straight from one transport to the other (the fast path);
otherwise they travel as timestamped chunks through the stages. Reading pauses while the other
side's write buffer is full, or while the stages hold more than BACKLOG_HIGH bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.faultproxy.addresses import parse_address
from harness.faultproxy.toxic_collection import ToxicCollection, ToxicLinks, ToxicSpec
from harness.faultproxy.toxics import Chunk, Stage, StageContext
from harness.faultproxy.toxics.base import Sink

log = logging.getLogger("harness.faultproxy")

PAUSE_DEST_FULL = 1
PAUSE_BACKLOG = 2
PAUSE_CONNECTING = 4
BACKLOG_HIGH = 4 * 1024 * 1024
BACKLOG_LOW = 1024 * 1024
_LINGER_RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST instead of FIN

ByteCounters = tuple[Callable[[float], None], Callable[[float], None]]  # (received, sent) of one direction


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What a connection may use of its proxy, taken when the client is accepted (a new listen or
    upstream address restarts the proxy, which closes its connections, so these cannot go stale)."""

    proxy_name: str  # for logs and seeded draws
    upstream: str  # parsed only at connect time, as Toxiproxy does
    seed: int | None
    toxics: ToxicCollection  # its chains are read when the upstream socket is connected
    byte_counters: Callable[[str], ByteCounters | None]  # per direction; None when metrics are off


class Side(asyncio.Protocol):
    """One socket of a connection, the client's or the upstream's."""

    def __init__(self, conn: Connection, role: str) -> None:
        self.conn = conn
        self.role = role
        self.transport: asyncio.Transport | None = None
        self.out: Pipe  # what this side sends
        self.into: Pipe  # what is sent to this side
        self.paused = 0
        self.lost = False
        self.relay: DirectRelay | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a TCP socket's transport; asyncio types its base
        self.conn.side_made(self)

    def data_received(self, data: bytes) -> None:
        self.out.feed(data)

    def eof_received(self) -> bool:
        self.out.source_ended()
        return True  # keep our write side open: the other direction may still be flowing

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.conn.side_lost(self)

    def pause_writing(self) -> None:
        self.into.source.pause(PAUSE_DEST_FULL)

    def resume_writing(self) -> None:
        self.into.source.resume(PAUSE_DEST_FULL)

    def pause(self, reason: int) -> None:
        if not self.paused and self.transport is not None and not self.lost:
            self.transport.pause_reading()
        self.paused |= reason

    def resume(self, reason: int) -> None:
        if not self.paused & reason:
            return
        self.paused &= ~reason
        if not self.paused and self.transport is not None and not self.lost:
            self.transport.resume_reading()

    def writable(self) -> bool:
        return self.transport is not None and not self.lost and not self.transport.is_closing()

    def relay_to(self, write: Callable[[bytes], None] | None) -> None:
        """Hand reads straight to `write` (None: back through the pipe and its toxics)."""
        if self.transport is None or self.lost or (write is None and self.relay is None):
            return
        self.relay = DirectRelay(self, write) if write is not None else None
        self.transport.set_protocol(self.relay or self)


class DirectRelay(asyncio.BaseProtocol):  # not asyncio.Protocol: its data_received is a method, ours an attribute
    """The protocol of a socket whose direction has no toxic: the transport calls the other socket's
    `write` (a C method) for every read, with no Python frame in between. Everything else goes to the Side."""

    data_received: Callable[[bytes], None]  # the other socket's bound write, called by the transport

    def __init__(self, side: Side, write: Callable[[bytes], None]) -> None:
        self.side = side
        self.data_received = write

    def eof_received(self) -> bool:
        return self.side.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.side.connection_lost(exc)

    def pause_writing(self) -> None:
        self.side.pause_writing()

    def resume_writing(self) -> None:
        self.side.resume_writing()


class Pipe:
    """One direction of one connection: bytes read from `source` pass the stages and are written to `dest`.

    The pipe is itself the sink of its last stage (`push`/`end`).
    """

    def __init__(self, conn: Connection, stream: str, source: Side, dest: Side) -> None:
        self.conn = conn
        self.stream = stream
        self.source = source
        self.dest = dest
        self.stages: list[Stage] = []
        self.names: list[str] = []
        self.live = False  # both sockets connected
        self.ended = False  # the source's end of stream went into the chain
        self.finished = False  # nothing more will be written to dest
        self.direct = False  # no stages: write straight through
        self.early: list[bytes] = []  # read before the upstream socket was connected
        self.received: Callable[[float], None] | None = None  # byte counters, when metrics are on
        self.sent: Callable[[float], None] | None = None

    def start(self, specs: list[ToxicSpec]) -> None:
        """Both sockets are connected: build the chain, then relay what came early and its end, in order."""
        self.live = True
        counters = self.conn.ctx.byte_counters(self.stream)
        if counters is not None:
            self.received, self.sent = counters
        for spec in specs:
            self.stages.append(self._new_stage(spec))
            self.names.append(spec.name)
        self._rewire()
        early, self.early = self.early, []
        for data in early:
            self.feed(data)
        if self.ended:
            self.ended = False
            self.source_ended()

    def feed(self, data: bytes) -> None:
        if self.direct:  # set only while dest is connected and writable
            self.dest.transport.write(data)  # type: ignore[union-attr]
            return
        if not self.live:
            self.early.append(data)  # the transport may deliver data before pause_reading takes effect
            return
        if self.finished:
            return
        if self.received is not None:
            self.received(len(data))
        self._head().push(Chunk(data, time.monotonic()))
        if self.backlog() > BACKLOG_HIGH:
            self.source.pause(PAUSE_BACKLOG)

    def _head(self) -> Stage | Pipe:
        return self.stages[0] if self.stages else self

    def source_ended(self) -> None:
        if self.ended or self.finished:
            return
        self.ended = True
        self._stop_direct()
        if self.live:
            self._head().end()

    def backlog(self) -> int:
        return sum(stage.pending_bytes() for stage in self.stages)

    # The sink of the last stage.
    def push(self, chunk: Chunk) -> None:
        if not self.finished and self.dest.writable():
            self.dest.transport.write(chunk.data)  # type: ignore[union-attr]  # writable(): it is set
            if self.sent is not None:
                self.sent(len(chunk.data))
        if self.source.paused & PAUSE_BACKLOG and self.backlog() < BACKLOG_LOW:
            self.source.resume(PAUSE_BACKLOG)

    def end(self) -> None:
        if not self.finished:
            self.finished = True
            self._stop_direct()
            self.conn.pipe_finished(self)

    def abandon(self) -> None:
        """The destination is gone: drop what the stages hold, stop their timers."""
        self.finished = True
        self._stop_direct()
        for stage in self.stages:
            stage.close()

    # Live toxic changes. Held chunks are handed on, never dropped.
    def add(self, spec: ToxicSpec) -> None:
        if self.live and not self.finished:
            self.stages.append(self._new_stage(spec))
            self.names.append(spec.name)
            self._rewire()

    def update(self, spec: ToxicSpec) -> None:
        if not self.live or spec.name not in self.names:
            return
        index = self.names.index(spec.name)
        old, new = self.stages[index], self._new_stage(spec)
        new.adopt(old)
        chunks, end_held = old.detach()
        self.stages[index] = new
        self._rewire()
        self._hand_on(new, chunks, end_held)

    def remove(self, spec: ToxicSpec) -> None:
        if not self.live or spec.name not in self.names:
            return
        index = self.names.index(spec.name)
        old = self.stages.pop(index)
        self.names.pop(index)
        chunks, end_held = old.detach()
        self._rewire()
        self._hand_on(old.next, chunks, end_held)
        old.on_removed()
        if self.source.paused & PAUSE_BACKLOG and self.backlog() < BACKLOG_LOW:
            self.source.resume(PAUSE_BACKLOG)

    def _hand_on(self, target: Sink, chunks: list[Chunk], end_held: bool) -> None:
        for chunk in chunks:
            target.push(chunk)
        if end_held:
            target.end()

    def _stop_direct(self) -> None:
        self.direct = False
        self.source.relay_to(None)

    def _rewire(self) -> None:
        hops: list[Sink] = [*self.stages[1:], self]
        for stage, after in zip(self.stages, hops, strict=False):
            stage.next = after
        self.direct = (self.live and not self.stages and not self.ended and not self.finished
                       and self.received is None)  # counting bytes needs the Python path
        if self.direct and self.dest.writable():
            self.source.relay_to(self.dest.transport.write)  # type: ignore[union-attr]  # writable(): it is set
        else:
            self.source.relay_to(None)

    def _new_stage(self, spec: ToxicSpec) -> Stage:
        rng = self.conn.rng_for(self.stream, spec)
        ctx = StageContext(self.conn.loop, rng, close=self.conn.close, reset=self.conn.reset_peer)
        # Toxicity is drawn once per connection (and per update), here, not in each toxic.
        if rng.random() < spec.toxicity:
            return spec.params.new_stage(ctx)
        return Stage(ctx)


class Connection(ToxicLinks):
    """A client socket, its own upstream socket, and the two pipes between them.

    `gone` is called once both sockets are closed, so the proxy can forget the connection."""

    def __init__(self, ctx: ConnectionContext, number: int, gone: Callable[[Connection], None]) -> None:
        self.ctx = ctx
        self.number = number
        self.gone = gone
        self.loop = asyncio.get_running_loop()
        self.client = Side(self, "client")
        self.upstream = Side(self, "upstream")
        self.up = Pipe(self, "upstream", self.client, self.upstream)
        self.down = Pipe(self, "downstream", self.upstream, self.client)
        self.client.out, self.client.into = self.up, self.down
        self.upstream.out, self.upstream.into = self.down, self.up
        self.connecting: asyncio.Task[None] | None = None
        self.closed = False
        # Toxiproxy sets SO_LINGER 0 only when a connection starts with a reset_peer toxic in place:
        # a reset_peer added later ends older connections with an ordinary close.
        self.linger_reset = False

    def pipe(self, stream: str) -> Pipe:
        return self.up if stream == "upstream" else self.down

    def rng_for(self, stream: str, spec: ToxicSpec) -> random.Random:
        if self.ctx.seed is None:
            return random.Random()
        # Seeded per connection, direction, toxic and update, so draws do not depend on timing.
        return random.Random(f"{self.ctx.seed}/{self.ctx.proxy_name}/{self.number}/{stream}/"
                             f"{spec.name}/{spec.generation}")

    def side_made(self, side: Side) -> None:
        if side is self.client:
            side.pause(PAUSE_CONNECTING)
            self.connecting = self.loop.create_task(self._connect_upstream())

    async def _connect_upstream(self) -> None:
        try:
            # Toxiproxy takes any upstream string and fails at connect time, so parse it here.
            address = parse_address(self.ctx.upstream, "upstream")
            await self.loop.create_connection(lambda: self.upstream, address.host, address.port)
        except Exception as exc:  # whatever the failure, this client is closed and the reason said once
            reason = getattr(exc, "strerror", None) or exc
            log.warning("proxy %s: cannot connect to upstream %s (%s); closing the client connection",
                        self.ctx.proxy_name, self.ctx.upstream, reason)
            self.close()
            return
        if self.closed:
            return
        chains = self.ctx.toxics.chains
        self.linger_reset = any(spec.type == "reset_peer" for stream in chains.values() for spec in stream)
        self.up.start(chains["upstream"])
        self.down.start(chains["downstream"])
        self.client.resume(PAUSE_CONNECTING)

    def side_lost(self, side: Side) -> None:
        if not self.closed:
            side.into.abandon()
            side.out.source_ended()
            if self.up.finished and self.down.finished:
                self.close()  # nothing can flow any more: do not leave the other socket half-open
        if all(s.transport is None or s.lost for s in (self.client, self.upstream)):
            self._forget()

    def pipe_finished(self, pipe: Pipe) -> None:
        other = self.down if pipe is self.up else self.up
        if other.finished or not pipe.dest.writable():
            self.close()
        elif pipe.dest.transport is not None and pipe.dest.transport.can_write_eof():
            pipe.dest.transport.write_eof()  # pass the half-close on; the other direction keeps flowing

    def close(self) -> None:
        """Close both sockets after the bytes already written to them."""
        self._shut(lambda transport: transport.close())

    def reset(self) -> None:
        """Abort both sockets with a TCP RST."""
        self._shut(_abort_with_reset)

    def reset_peer(self) -> None:
        """The end of a reset_peer toxic: RST when the toxic was there at connect time, else a close."""
        if self.linger_reset:
            self.reset()
        else:
            self.close()

    def abort(self) -> None:
        """Close both sockets now, dropping what is not yet written (proxy disabled or deleted)."""
        self._shut(lambda transport: transport.abort())

    def _shut(self, how: Callable[[asyncio.Transport], None]) -> None:
        first = not self.closed
        self.closed = True
        if first:
            self.up.abandon()
            self.down.abandon()
        if self.connecting is not None and not self.connecting.done():
            self.connecting.cancel()
        for side in (self.client, self.upstream):
            if side.transport is not None and not side.lost:
                how(side.transport)
        if self.upstream.transport is None and (self.client.transport is None or self.client.lost):
            self._forget()

    def _forget(self) -> None:
        self.gone(self)

    # ToxicLinks: the proxy's toxics changed.
    def toxic_added(self, spec: ToxicSpec) -> None:
        self.pipe(spec.direction).add(spec)

    def toxic_updated(self, spec: ToxicSpec) -> None:
        self.pipe(spec.direction).update(spec)

    def toxic_removed(self, spec: ToxicSpec) -> None:
        self.pipe(spec.direction).remove(spec)


def _abort_with_reset(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):  # already gone: abort() still closes it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    transport.abort()
