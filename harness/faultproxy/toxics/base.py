"""What every toxic shares: chunks, the per-connection stage, a due-time queue, attributes and the registry.

Rules every stage keeps (as Toxiproxy's toxics do): data in flight is never dropped when a stage is
swapped or removed (`detach` hands it over), every wait is a cancellable timer, and end of stream
is passed on only after the data before it.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from dataclasses import field as dataclass_field
from typing import Any, ClassVar, Protocol, Self, TypeVar

from harness.faultproxy.errors import bad_body


@dataclass(slots=True)
class Chunk:
    """Bytes read from one side, stamped with when they reached the proxy (time.monotonic seconds)."""

    data: bytes
    ts: float


class Sink(Protocol):
    """The next hop of a stage: another stage, or the writer to the destination socket."""

    def push(self, chunk: Chunk) -> None: ...

    def end(self) -> None: ...


@dataclass(slots=True)
class StageContext:
    """What a stage may use of its connection: the loop, its own random source, and two ways to end it."""

    loop: asyncio.AbstractEventLoop
    rng: random.Random
    close: Callable[[], None]  # close the whole connection after the bytes already written
    reset: Callable[[], None]  # abort both sides with a TCP RST (SO_LINGER 0)


class Stage:
    """One toxic on one direction of one connection; this base passes everything straight through."""

    def __init__(self, ctx: StageContext) -> None:
        self.ctx = ctx
        self.next: Sink = _NOWHERE

    def push(self, chunk: Chunk) -> None:
        self.next.push(chunk)

    def end(self) -> None:
        self.next.end()

    def pending_bytes(self) -> int:
        """Bytes held here, for backpressure on the source."""
        return 0

    def detach(self) -> tuple[list[Chunk], bool]:
        """Stop timers and hand over what is held: (chunks in order, whether end of stream was held too)."""
        return [], False

    def adopt(self, old: Stage) -> None:
        """Take per-connection state over from the stage this one replaces on an update."""

    def on_removed(self) -> None:
        """The toxic was deleted while this stage ran (Toxiproxy's CleanupToxic)."""

    def close(self) -> None:
        """The connection is gone: cancel timers, drop what is held."""
        self.detach()


class _Nowhere:
    def push(self, chunk: Chunk) -> None:
        pass

    def end(self) -> None:
        pass


_NOWHERE = _Nowhere()


_TIMER_SLACK = 0.0012  # uvloop timers fire up to ~1.2 ms early


class TimedQueue(Stage):
    """A stage that releases chunks in order, each at its due time and never before it.

    uvloop's timers have millisecond resolution and can fire up to ~1.2 ms early, so the release
    checks the clock and re-arms instead of trusting the timer.
    """

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        self.queue: deque[tuple[float, Chunk]] = deque()
        self.held_bytes = 0
        self.end_held = False
        self.timer: asyncio.TimerHandle | asyncio.Handle | None = None

    def schedule(self, due: float, chunk: Chunk) -> None:
        if not self.queue and due <= time.monotonic():
            self.next.push(chunk)
            return
        self.queue.append((due, chunk))
        self.held_bytes += len(chunk.data)
        if self.timer is None:
            self._arm(due)

    def last_due(self) -> float:
        return self.queue[-1][0] if self.queue else 0.0

    def end(self) -> None:
        if self.queue:
            self.end_held = True
        else:
            self.next.end()

    def pending_bytes(self) -> int:
        return self.held_bytes

    def detach(self) -> tuple[list[Chunk], bool]:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        chunks = [chunk for _, chunk in self.queue]
        self.queue.clear()
        self.held_bytes = 0
        end_held, self.end_held = self.end_held, False
        return chunks, end_held

    def _arm(self, due: float) -> None:
        remaining = due - time.monotonic()
        if remaining < _TIMER_SLACK:
            # libuv's clock is coarse (whole, possibly stale milliseconds): the last stretch is
            # waited out one loop iteration at a time, so release is neither early nor a timer tick late.
            self.timer = self.ctx.loop.call_soon(self._release)
        else:
            self.timer = self.ctx.loop.call_later(math.ceil(remaining * 1000) / 1000, self._release)

    def _release(self) -> None:
        self.timer = None
        now = time.monotonic()
        queue = self.queue
        while queue and queue[0][0] <= now:
            due, chunk = queue.popleft()
            self.held_bytes -= len(chunk.data)
            # The chunk now "arrived" at its due time, so a later delaying stage adds its own delay.
            chunk.ts = max(chunk.ts, due)
            self.next.push(chunk)
        if queue:
            if self.timer is None:
                self._arm(queue[0][0])
        elif self.end_held:
            self.end_held = False
            self.next.end()


def attribute(unit: str, *, required: bool = False) -> Any:
    """A toxic attribute: a non-negative integer in `unit`; `required` ones have no default."""
    return dataclass_field(default=0, metadata={"unit": unit, "required": required})


@dataclass(frozen=True)
class ToxicParams:
    """The attributes of one toxic type; subclasses are dataclasses of `attribute(...)` fields."""

    type_name: ClassVar[str] = ""

    def new_stage(self, ctx: StageContext) -> Stage:
        raise NotImplementedError

    def validate(self) -> None:
        """Checks across attributes; raise `bad_body(...)`."""

    def as_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: object, current: Self | None = None) -> Self:
        """Attributes from a request body; on update, the ones given replace those of `current`."""
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            raise bad_body(f"attributes must be a JSON object, got {raw!r}")
        values: dict[str, int] = asdict(current) if current is not None else {}
        for spec in fields(cls):
            if spec.name in raw:
                values[spec.name] = _non_negative_int(raw[spec.name], spec.name, spec.metadata["unit"])
            elif spec.name not in values:
                if spec.metadata["required"]:
                    raise bad_body(f"attributes.{spec.name} is required ({spec.metadata['unit']})")
                values[spec.name] = spec.default  # type: ignore[assignment]
        params = cls(**values)
        params.validate()
        return params


_ATTRIBUTE_MAX = 10**12  # ~31 years in ms: beyond this a timer or a sum would overflow


def _non_negative_int(value: object, name: str, unit: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_body(f"attributes.{name} must be an integer ({unit}), got {value!r}")
    if value < 0:
        raise bad_body(f"attributes.{name} must be >= 0 ({unit}), got {value}")
    if value > _ATTRIBUTE_MAX:
        raise bad_body(f"attributes.{name} must be at most {_ATTRIBUTE_MAX} ({unit}), got {value}")
    return value


REGISTRY: dict[str, type[ToxicParams]] = {}
_ParamsType = TypeVar("_ParamsType", bound=type[ToxicParams])


def register(type_name: str) -> Callable[[_ParamsType], _ParamsType]:
    """Class decorator: make a toxic available under `type_name` in the API."""

    def decorate(cls: _ParamsType) -> _ParamsType:
        cls.type_name = type_name
        REGISTRY[type_name] = cls
        return cls

    return decorate
