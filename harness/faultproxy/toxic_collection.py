"""The toxics of one proxy: parsing the API's toxic objects, and one ordered chain per direction.

Every change is pushed to the live connections, which apply it at once (see link.Pipe).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from harness.faultproxy.errors import (
    INVALID_STREAM,
    INVALID_TOXIC_TYPE,
    TOXIC_ALREADY_EXISTS,
    TOXIC_NOT_FOUND,
    bad_body,
)
from harness.faultproxy.toxics import REGISTRY, ToxicParams
from harness.faultproxy.toxics.base import go_field, go_string

STREAMS = ("upstream", "downstream")  # Toxiproxy lists upstream toxics first


FLOAT32_MAX = 3.4028234663852886e38  # Toxiproxy keeps toxicity in a float32


@dataclass
class ToxicSpec:
    """A toxic as the API shows it. `stream` is kept as given (Toxiproxy echoes "UPSTREAM" back);
    `direction` is its lower-case meaning. `generation` counts updates so seeded draws stay reproducible."""

    name: str
    type: str
    stream: str
    toxicity: float
    params: ToxicParams
    generation: int = 0

    @property
    def direction(self) -> str:
        return self.stream.lower()

    def as_json(self) -> dict[str, object]:
        return {"attributes": self.params.as_json(), "name": self.name, "type": self.type,
                "stream": self.stream, "toxicity": _go_number(self.toxicity)}

    def notes(self) -> list[str]:
        """Values accepted that do not do what they say (logged once, as a warning)."""
        notes = self.params.notes()
        if self.toxicity <= 0:
            notes.append(f"toxicity {_go_number(self.toxicity)} <= 0: the toxic never applies")
        elif self.toxicity > 1:
            notes.append(f"toxicity {_go_number(self.toxicity)} > 1 acts as 1")
        return notes


def _go_number(value: float) -> float | int:
    """1.0 is written 1, as Go's encoder writes a float32."""
    return int(value) if value.is_integer() else value




def parse_toxicity(value: object, current: float) -> float:
    """A number, any value (below 0 never applies, above 1 always does); null keeps `current`."""
    if value is None:
        return current
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_body(f"toxicity must be a number, got {value!r}")
    if abs(value) > FLOAT32_MAX:
        raise bad_body(f"toxicity must fit a 32-bit float, got {value}")
    return float(value)


def parse_new_toxic(body: dict[str, object]) -> ToxicSpec:
    """A toxic from POST /proxies/{proxy}/toxics with Toxiproxy's defaults, checked in Toxiproxy's
    order (field types, stream, type); attributes are parsed once the name is known to be free."""
    stream = go_string(body, "stream", "downstream")
    toxic_type = go_string(body, "type", "")
    name = go_string(body, "name", "")
    toxicity = parse_toxicity(go_field(body, "toxicity"), 1.0)
    if stream.lower() not in STREAMS:
        raise INVALID_STREAM
    name = name or f"{toxic_type}_{stream}"
    if toxic_type not in REGISTRY:
        raise INVALID_TOXIC_TYPE
    return ToxicSpec(name, toxic_type, stream, toxicity, params=REGISTRY[toxic_type]())


@dataclass
class ToxicCollection:
    """The toxics of one proxy in chain order, per stream; every change is applied to `links` at once."""

    chains: dict[str, list[ToxicSpec]] = field(default_factory=lambda: {s: [] for s in STREAMS})

    def all(self) -> list[ToxicSpec]:
        return [spec for stream in STREAMS for spec in self.chains[stream]]

    def get(self, name: str) -> ToxicSpec:
        for spec in self.all():
            if spec.name == name:
                return spec
        raise TOXIC_NOT_FOUND

    def find(self, name: str) -> ToxicSpec | None:
        return next((spec for spec in self.all() if spec.name == name), None)

    def add(self, body: dict[str, object], links: Iterable[ToxicLinks]) -> ToxicSpec:
        spec = parse_new_toxic(body)
        if self.find(spec.name) is not None:
            raise TOXIC_ALREADY_EXISTS
        spec.params = type(spec.params).from_json(go_field(body, "attributes"))
        self.chains[spec.direction].append(spec)
        for link in list(links):
            link.toxic_added(spec)
        return spec

    def update(self, name: str, body: dict[str, object], links: Iterable[ToxicLinks]) -> ToxicSpec:
        spec = self.get(name)
        params = type(spec.params).from_json(go_field(body, "attributes"), current=spec.params)
        toxicity = parse_toxicity(go_field(body, "toxicity"), spec.toxicity)
        spec.params, spec.toxicity, spec.generation = params, toxicity, spec.generation + 1
        for link in list(links):
            link.toxic_updated(spec)
        return spec

    def remove(self, name: str, links: Iterable[ToxicLinks]) -> None:
        spec = self.get(name)
        self.chains[spec.direction].remove(spec)
        for link in list(links):
            link.toxic_removed(spec)

    def clear(self, links: Iterable[ToxicLinks]) -> None:
        live = list(links)
        for spec in self.all():
            self.remove(spec.name, live)


class ToxicLinks:
    """What a live connection does when its proxy's toxics change (implemented by link.Connection)."""

    def toxic_added(self, spec: ToxicSpec) -> None:
        raise NotImplementedError

    def toxic_updated(self, spec: ToxicSpec) -> None:
        raise NotImplementedError

    def toxic_removed(self, spec: ToxicSpec) -> None:
        raise NotImplementedError
