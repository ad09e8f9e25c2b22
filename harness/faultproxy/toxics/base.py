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
    reset: Callable[[], None]  # reset_peer's end: a TCP RST, or a close on connections older than the toxic


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


def negative_notes(params: object, *names: str, meaning: str = "acts as 0") -> list[str]:
    """One note per attribute among `names` below zero: what the value does instead."""
    return [f"{name} {getattr(params, name)} < 0 {meaning}" for name in names if getattr(params, name) < 0]


class _Nowhere:
    def push(self, chunk: Chunk) -> None:
        pass

    def end(self) -> None:
        pass


_NOWHERE = _Nowhere()


_SPIN_WINDOW = 0.0012  # uvloop timers fire up to ~1.2 ms early; the last stretch is waited out per loop turn


class DueTimer:
    """Calls `callback` once at or after an absolute `time.monotonic()` due time, never before it.

    uvloop's timers have millisecond resolution and a cached clock, so they can fire up to ~1.2 ms
    early: the timer checks the clock when it fires and re-arms if it is early. Every timed toxic
    uses it. `precise` ones (latency, bandwidth) wait out the last ~1.2 ms one loop turn at a time,
    so release is neither early nor a tick late; the others re-arm a 1 ms timer instead of spinning.
    """

    __slots__ = ("callback", "due", "handle", "loop", "precise")

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None], *, precise: bool = False) -> None:
        self.loop = loop
        self.callback = callback
        self.precise = precise
        self.due = 0.0
        self.handle: asyncio.TimerHandle | asyncio.Handle | None = None

    @property
    def armed(self) -> bool:
        return self.handle is not None

    def arm(self, due: float) -> None:
        """(Re)arm for `due`; an earlier arming is replaced."""
        self.cancel()
        self.due = due
        self._schedule()

    def arm_in(self, seconds: float) -> None:
        self.arm(time.monotonic() + max(0.0, seconds))

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _schedule(self) -> None:
        remaining = self.due - time.monotonic()
        if remaining <= 0 or (self.precise and remaining < _SPIN_WINDOW):
            self.handle = self.loop.call_soon(self._fire)
        else:
            self.handle = self.loop.call_later(max(0.001, math.ceil(remaining * 1000) / 1000), self._fire)

    def _fire(self) -> None:
        if time.monotonic() < self.due:
            self._schedule()  # early: the loop's clock was behind
            return
        self.handle = None
        self.callback()


class TimedQueue(Stage):
    """A stage that releases chunks in order, each at its due time and never before it (see DueTimer)."""

    precise = True

    def __init__(self, ctx: StageContext) -> None:
        super().__init__(ctx)
        self.queue: deque[tuple[float, Chunk]] = deque()
        self.held_bytes = 0
        self.end_held = False
        self.timer = DueTimer(ctx.loop, self._release, precise=self.precise)

    def schedule(self, due: float, chunk: Chunk) -> None:
        if not self.queue and due <= time.monotonic():
            self.next.push(chunk)
            return
        self.queue.append((due, chunk))
        self.held_bytes += len(chunk.data)
        if not self.timer.armed:
            self.timer.arm(due)

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
        self.timer.cancel()
        chunks = [chunk for _, chunk in self.queue]
        self.queue.clear()
        self.held_bytes = 0
        end_held, self.end_held = self.end_held, False
        return chunks, end_held

    def _release(self) -> None:
        now = time.monotonic()
        queue = self.queue
        while queue and queue[0][0] <= now:
            due, chunk = queue.popleft()
            self.held_bytes -= len(chunk.data)
            # The chunk now "arrived" at its due time, so a later delaying stage adds its own delay.
            chunk.ts = max(chunk.ts, due)
            self.next.push(chunk)
        if queue:
            if not self.timer.armed:
                self.timer.arm(queue[0][0])
        elif self.end_held:
            self.end_held = False
            self.next.end()


# The short form of a unit in tables and scenario messages, and how many of it make a second (time units).
UNIT_SYMBOLS = {"milliseconds": "ms", "microseconds": "µs"}
UNITS_PER_SECOND = {"milliseconds": 1000, "microseconds": 1_000_000}


@dataclass(frozen=True)
class AttributeSpec:
    """One integer attribute of a toxic: the fault proxy's API checks its unit and bound, the harness's scenario
    files also `required` and `minimum` (the API, like Toxiproxy, takes a missing one as 0)."""

    unit: str             # as the API's messages name it: "milliseconds", "KB/s", "bytes"
    required: bool        # a scenario must give it: without it the toxic does nothing, or nothing sensible
    minimum: int          # the least a scenario may give
    note: str             # what a special value means, or a bound against another attribute

    @property
    def symbol(self) -> str:
        return UNIT_SYMBOLS.get(self.unit, self.unit)

    def described(self) -> str:
        """The unit and its conditions, as a table or an error message shows them: "bytes, ≥ 1"."""
        parts = [self.symbol, *([f"≥ {self.minimum}"] if self.minimum else []), *([self.note] if self.note else [])]
        return ", ".join(parts)


def attribute(unit: str, *, required: bool = False, minimum: int = 0, note: str = "") -> Any:
    """A toxic attribute: an integer in `unit`; a missing one is 0, as Go's zero value is in Toxiproxy."""
    return dataclass_field(default=0, metadata={"spec": AttributeSpec(unit, required, minimum, note)})


@dataclass(frozen=True)
class ToxicParams:
    """The attributes of one toxic type; subclasses are dataclasses of `attribute(...)` fields."""

    type_name: ClassVar[str] = ""  # the class docstring says what the toxic does: docs/faultproxy.md shows it

    @classmethod
    def attribute_specs(cls) -> dict[str, AttributeSpec]:
        return {spec.name: spec.metadata["spec"] for spec in fields(cls)}

    def new_stage(self, ctx: StageContext) -> Stage:
        raise NotImplementedError

    def validate(self) -> None:
        """Refuse (raise `bad_body(...)`) only values that would crash or hang a real Toxiproxy."""

    def notes(self) -> list[str]:
        """Values accepted but without the effect their name suggests (logged as one warning line); by default,
        a negative attribute acts as 0, as in Toxiproxy."""
        return negative_notes(self, *self.attribute_specs())

    def as_json(self) -> dict[str, int]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: object, current: Self | None = None) -> Self:
        """Attributes from a request body, decoded as Go's encoding/json fills Toxiproxy's structs:
        keys match in any case, a missing key or a null keeps the current value (0 on create)."""
        if raw is not None and not isinstance(raw, dict):
            raise bad_body(f"attributes must be a JSON object, got {json_kind(raw)}")
        values: dict[str, int] = asdict(current) if current is not None else {}
        for spec in fields(cls):
            value = go_field(raw or {}, spec.name)
            if value is not None:
                values[spec.name] = _integer(value, spec.name, spec.metadata["spec"].unit)
            values.setdefault(spec.name, 0)
        params = cls(**values)
        params.validate()
        return params


_MISSING = object()
_Value = TypeVar("_Value")


def go_field(body: dict[str, object], key: str) -> object:
    """The value Go's decoder would put in field `key`: exact key, else the last key equal in any case.
    None when absent or null (Go leaves the field as it was)."""
    if key in body:
        return body[key]
    value = _MISSING
    for name, item in body.items():
        if name.lower() == key:
            value = item
    return None if value is _MISSING else value


def go_string(body: dict[str, object], key: str, default: str) -> str:
    """Field `key` decoded into a Go string: absent or null keeps `default`; another JSON type is a 400."""
    return _go_typed(body, key, default, str, "a string")


def go_boolean(body: dict[str, object], key: str, default: bool) -> bool:
    """Field `key` decoded into a Go bool: absent or null keeps `default`; another JSON type is a 400."""
    return _go_typed(body, key, default, bool, "true or false")


def _go_typed(body: dict[str, object], key: str, default: _Value, kind: type[_Value], expected: str) -> _Value:
    value = go_field(body, key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise bad_body(f"{key} must be {expected}, got {json_kind(value)}")
    return value


def json_kind(value: object) -> str:
    kinds = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return kinds.get(type(value), "a number")


ATTRIBUTE_LIMIT = 10**12  # ~31 years in ms: beyond this a timer or a sum would overflow


def _integer(value: object, name: str, unit: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad_body(f"attributes.{name} must be an integer ({unit}), got {json_kind(value)}")
    if abs(value) > ATTRIBUTE_LIMIT:
        raise bad_body(f"attributes.{name} must be between -{ATTRIBUTE_LIMIT} and {ATTRIBUTE_LIMIT} ({unit}), "
                       f"got {value}")
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
