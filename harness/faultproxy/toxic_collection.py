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

STREAMS = ("upstream", "downstream")  # Toxiproxy lists upstream toxics first


@dataclass
class ToxicSpec:
    """A toxic as the API shows it; `generation` counts updates so seeded draws stay reproducible."""

    name: str
    type: str
    stream: str
    toxicity: float
    params: ToxicParams
    generation: int = 0

    def as_json(self) -> dict[str, object]:
        return {"attributes": self.params.as_json(), "name": self.name, "type": self.type,
                "stream": self.stream, "toxicity": self.toxicity}


def _optional_string(body: dict[str, object], key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise bad_body(f"{key} must be a string, got {value!r}")
    return value


def parse_toxicity(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_body(f"toxicity must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise bad_body(f"toxicity must be between 0 and 1, got {value}")
    return float(value)


def parse_new_toxic(body: dict[str, object]) -> ToxicSpec:
    """A toxic from POST /proxies/{proxy}/toxics, with Toxiproxy's defaults; attributes checked later."""
    stream = _optional_string(body, "stream", "downstream")
    if stream not in STREAMS:
        raise INVALID_STREAM
    toxic_type = _optional_string(body, "type", "")
    name = _optional_string(body, "name", "") or f"{toxic_type}_{stream}"
    if toxic_type not in REGISTRY:
        raise INVALID_TOXIC_TYPE
    toxicity = parse_toxicity(body.get("toxicity", 1.0))
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
        spec.params = type(spec.params).from_json(body.get("attributes"))
        self.chains[spec.stream].append(spec)
        for link in list(links):
            link.toxic_added(spec)
        return spec

    def update(self, name: str, body: dict[str, object], links: Iterable[ToxicLinks]) -> ToxicSpec:
        spec = self.get(name)
        params = type(spec.params).from_json(body.get("attributes"), current=spec.params)
        toxicity = parse_toxicity(body["toxicity"]) if "toxicity" in body else spec.toxicity
        spec.params, spec.toxicity, spec.generation = params, toxicity, spec.generation + 1
        for link in list(links):
            link.toxic_updated(spec)
        return spec

    def remove(self, name: str, links: Iterable[ToxicLinks]) -> None:
        spec = self.get(name)
        self.chains[spec.stream].remove(spec)
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
