"""slicer: chunks are cut into pieces of about `average_size` ± `size_variation` bytes, `delay` µs apart."""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import dataclass

from harness.faultproxy.errors import bad_body
from harness.faultproxy.toxics.base import Chunk, Stage, StageContext, TimedQueue, ToxicParams, attribute, register


@register("slicer")
@dataclass(frozen=True)
class Slicer(ToxicParams):
    average_size: int = attribute("bytes", required=True)
    size_variation: int = attribute("bytes")
    delay: int = attribute("microseconds")

    def validate(self) -> None:
        if self.average_size < 1:
            raise bad_body(f"attributes.average_size must be >= 1 (bytes), got {self.average_size}")
        if self.size_variation >= self.average_size:
            raise bad_body("attributes.size_variation must be less than attributes.average_size "
                           f"({self.size_variation} >= {self.average_size})")

    def new_stage(self, ctx: StageContext) -> Stage:
        return SlicerStage(ctx, self)


def slice_bounds(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Cut points 0 < ... < size: halve around the middle ± variation until pieces are near `average`."""
    cuts = [0, size]
    pending = [(0, size)]
    while pending:
        start, end = pending.pop()
        if (end - start) - average <= variation:
            continue
        offset = rng.randint(-variation, variation) if variation else 0
        middle = min(end - 1, max(start + 1, start + (end - start) // 2 + offset))
        cuts.append(middle)
        pending += [(start, middle), (middle, end)]
    return sorted(cuts)


class SlicerStage(TimedQueue):
    def __init__(self, ctx: StageContext, params: Slicer) -> None:
        super().__init__(ctx)
        self.params = params
        self.gap = params.delay / 1_000_000
        self.free_at = 0.0

    def push(self, chunk: Chunk) -> None:
        bounds = slice_bounds(len(chunk.data), self.params.average_size, self.params.size_variation, self.ctx.rng)
        for start, end in itertools.pairwise(bounds):
            due = max(self.free_at, time.monotonic())
            self.free_at = due + self.gap
            self.schedule(due, Chunk(chunk.data[start:end], chunk.ts))
