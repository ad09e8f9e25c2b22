"""latency: every chunk is held `latency` ± `jitter` ms counted from when it reached the proxy, in order."""

from __future__ import annotations

from dataclasses import dataclass

from harness.faultproxy.toxics.base import (
    Chunk,
    Stage,
    StageContext,
    TimedQueue,
    ToxicParams,
    attribute,
    negative_notes,
    register,
)


@register("latency")
@dataclass(frozen=True)
class Latency(ToxicParams):
    """each chunk is delayed latency ± jitter, counted from when it reached the proxy; order kept; never released
    early"""
    latency: int = attribute("milliseconds", required=True)
    jitter: int = attribute("milliseconds")

    def new_stage(self, ctx: StageContext) -> Stage:
        return LatencyStage(ctx, self)

    def notes(self) -> list[str]:
        return negative_notes(self, "latency") + negative_notes(self, "jitter", meaning="has no effect")


class LatencyStage(TimedQueue):
    def __init__(self, ctx: StageContext, params: Latency) -> None:
        super().__init__(ctx)
        self.params = params

    def push(self, chunk: Chunk) -> None:
        delay_ms = float(self.params.latency)
        if self.params.jitter > 0:  # a negative jitter is ignored, as in Toxiproxy
            delay_ms += self.ctx.rng.uniform(-self.params.jitter, self.params.jitter)
        # Counted from arrival, so time spent queued behind earlier chunks is not added twice;
        # never before the previous chunk, so order within the connection is kept.
        self.schedule(max(chunk.ts + max(0.0, delay_ms) / 1000, self.last_due()), chunk)
