"""Load models of the scenario file: arrival rate, stages, named mobile networks and latency objectives.

`[load] arrival_rate` (open model), `[[load.stages]]` (peaks, ramps, steps), `[load] mobile_network =
"slow-4g"` and `[target] latency = { p99_ms = 50 }`; docs/load-models.md says what each means and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.records import LATENCY_QUANTILES as QUANTILE_KEYS
from harness.records import OBJECTIVE_PHASES as PHASES


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class NetworkPreset:
    """A published throttling profile: round trip, download and upload in kbit/s, and where it comes from."""

    rtt_ms: int
    down_kbit_s: float
    up_kbit_s: float
    source: str


# Each from a named, published table (docs/load-models.md gives the full citation and the conversion).
NETWORK_PRESETS: dict[str, NetworkPreset] = {
    "slow-4g": NetworkPreset(150, 1638.4, 750, "Lighthouse mobileSlow4G (DevTools 'Slow 4G', was 'Fast 3G')"),
    "3g-slow": NetworkPreset(400, 400, 400, "WebPageTest 3GSlow ('Mobile 3G - Slow')"),
    "3g": NetworkPreset(300, 1600, 768, "WebPageTest 3G"),
    "3g-fast": NetworkPreset(150, 1600, 768, "WebPageTest 3GFast ('Mobile 3G - Fast')"),
    "4g": NetworkPreset(170, 9000, 9000, "WebPageTest 4G"),
    "lte": NetworkPreset(70, 12000, 12000, "WebPageTest LTE"),
    "edge": NetworkPreset(840, 240, 200, "WebPageTest Edge ('Mobile Edge')"),
    "2g": NetworkPreset(800, 280, 256, "WebPageTest 2G"),
    "dsl": NetworkPreset(50, 1500, 384, "WebPageTest DSL"),
    "cable": NetworkPreset(28, 5000, 1000, "WebPageTest Cable"),
    "wifi": NetworkPreset(2, 30000, 15000, "Chrome DevTools' former 'WiFi' preset"),
}


def kbytes_per_s(kbit_s: float) -> int:
    """A bandwidth toxic's rate (KB/s, 1 KB = 1000 bytes in Toxiproxy) from kbit/s, at least 1."""
    return max(1, round(kbit_s / 8))


def preset_profile(name: str) -> dict[str, Any]:
    """The edge proxy's settings for a named network: half the round trip on each direction.

    Upstream is client -> service (the upload), downstream service -> client (the download).
    """
    preset = NETWORK_PRESETS.get(name)
    if preset is None:
        raise ValueError(f"unknown network {name!r}; allowed: {', '.join(NETWORK_PRESETS)}, or a table "
                         "{ latency_ms, jitter_ms, bandwidth_kbps }")
    return {"preset": name, "latency_ms": preset.rtt_ms // 2, "jitter_ms": 0,
            "upstream_kbps": kbytes_per_s(preset.up_kbit_s), "downstream_kbps": kbytes_per_s(preset.down_kbit_s)}


class Stage(_Strict):
    """One stage: the load moves linearly from the level before it to `users` or `arrival_rate` over `duration`."""

    duration: float = Field(gt=0)
    users: int | None = Field(None, ge=0)
    arrival_rate: float | None = Field(None, ge=0, le=100_000)   # flows per second
    name: str = ""

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        from harness.scenario.model import parse_duration  # here: harness.scenario.model imports this module

        return parse_duration(value)

    @model_validator(mode="after")
    def _one_level(self) -> Stage:
        if (self.users is None) == (self.arrival_rate is None):
            raise ValueError("give either users or arrival_rate")
        return self


def check_stages(stages: list[Stage]) -> list[Stage]:
    if stages and len({s.users is None for s in stages}) > 1:
        raise ValueError("every stage gives users, or every stage gives arrival_rate; not a mix")
    return stages


class LatencyObjective(_Strict):
    """`[target] latency`: quantile bounds (ms) for a flow (default: the judged one) or a request, over a phase."""

    p50_ms: float | None = Field(None, gt=0)
    p90_ms: float | None = Field(None, gt=0)
    p95_ms: float | None = Field(None, gt=0)
    p99_ms: float | None = Field(None, gt=0)
    p999_ms: float | None = Field(None, gt=0)
    flow: str | None = None
    request: str | None = None
    phase: str = "all"

    @field_validator("phase")
    @classmethod
    def _known_phase(cls, phase: str) -> str:
        if phase not in PHASES and not phase.startswith("stage:"):
            raise ValueError(f"must be one of {', '.join(PHASES)} or \"stage:<name>\", got {phase!r}")
        return phase

    @model_validator(mode="after")
    def _some_bound(self) -> LatencyObjective:
        if all(getattr(self, key) is None for key in QUANTILE_KEYS):
            raise ValueError(f"give at least one of {', '.join(QUANTILE_KEYS)}")
        if self.flow and self.request:
            raise ValueError("give flow or request, not both")
        return self


def as_objective_list(value: Any) -> Any:
    """`latency = { ... }` or `latency = [{ ... }, ...]`, always a list."""
    return [value] if isinstance(value, dict) else value


ArrivalSpacing = Literal["poisson", "even"]
