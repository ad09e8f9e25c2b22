"""bandwidth: data passes at most `rate` KB/s (1 KB = 1000 bytes, as Toxiproxy counts); 0 = unlimited."""

from __future__ import annotations

import time
from dataclasses import dataclass

from harness.faultproxy.errors import bad_body
from harness.faultproxy.toxics.base import Chunk, Stage, StageContext, TimedQueue, ToxicParams, attribute, register

_SLICE_SECONDS = 0.1  # large chunks go out in 100 ms slices, so a slow link still trickles


@register("bandwidth")
@dataclass(frozen=True)
class Bandwidth(ToxicParams):
    """data passes at most at `rate`, large chunks in 100 ms slices"""
    rate: int = attribute("KB/s", required=True, note="1 KB = 1000 bytes; 0 = unlimited")

    def validate(self) -> None:
        if self.rate < 0:  # Toxiproxy slices data[:rate*100] and panics, taking the whole server down
            raise bad_body(f"attributes.rate must be >= 0 (KB/s; 0 = unlimited), got {self.rate}")

    def notes(self) -> list[str]:
        return ["rate 0 means unlimited here (Toxiproxy 2.12 would hold the data)"] if self.rate == 0 else []

    def new_stage(self, ctx: StageContext) -> Stage:
        return BandwidthStage(ctx, self)


class BandwidthStage(TimedQueue):
    def __init__(self, ctx: StageContext, params: Bandwidth) -> None:
        super().__init__(ctx)
        self.bytes_per_second = params.rate * 1000
        self.free_at = 0.0  # when the simulated link has sent everything given to it so far

    def push(self, chunk: Chunk) -> None:
        if not self.bytes_per_second:
            self.schedule(self.last_due(), chunk)
            return
        slice_size = max(1, int(self.bytes_per_second * _SLICE_SECONDS))
        for start in range(0, len(chunk.data), slice_size):
            piece = chunk.data[start:start + slice_size]
            # A virtual clock, not a sleep per chunk: timer error does not accumulate into the rate.
            self.free_at = max(self.free_at, time.monotonic()) + len(piece) / self.bytes_per_second
            self.schedule(self.free_at, Chunk(piece, chunk.ts))
