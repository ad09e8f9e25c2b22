"""slicer: chunks are cut into pieces of about `average_size` ± `size_variation` bytes, `delay` µs apart.

Pieces are cut lazily as they go out, so a connection holds its bytes and a few integers, never one
object per piece (with average_size 1, a megabyte would otherwise become a million objects).
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from harness.faultproxy.errors import bad_body
from harness.faultproxy.toxics.base import (
    Chunk,
    DueTimer,
    Stage,
    StageContext,
    ToxicParams,
    attribute,
    negative_notes,
    register,
)

_PIECES_PER_TURN = 1024  # with no delay, yield to the loop after this many pieces
_CATCH_UP = 0.005  # a timer this late still sends the pieces it owes; later than that, the spacing restarts


@register("slicer")
@dataclass(frozen=True)
class Slicer(ToxicParams):
    """chunks are cut into pieces of about average_size ± size_variation, `delay` apart"""
    average_size: int = attribute("bytes", required=True, minimum=1)
    size_variation: int = attribute("bytes", note="< average_size")
    delay: int = attribute("microseconds")

    def validate(self) -> None:
        # Each of these sends Toxiproxy's cutting into endless recursion or a bad slice: it crashes.
        if self.average_size < 1:
            raise bad_body(f"attributes.average_size must be >= 1 (bytes), got {self.average_size}")
        if self.size_variation >= self.average_size:
            raise bad_body("attributes.size_variation must be less than attributes.average_size "
                           f"({self.size_variation} >= {self.average_size})")
        if self.average_size + self.size_variation < 1:
            raise bad_body("attributes.average_size + attributes.size_variation must be >= 1 (bytes), "
                           f"got {self.average_size + self.size_variation}")

    def notes(self) -> list[str]:
        return negative_notes(self, "delay") + negative_notes(
            self, "size_variation", meaning="cuts pieces of at most average_size + size_variation bytes")

    def new_stage(self, ctx: StageContext) -> Stage:
        return SlicerStage(ctx, self)


def piece_sizes(size: int, average: int, variation: int, rng: random.Random) -> Iterator[int]:
    """Sizes of the pieces of `size` bytes, in order: halve around the middle (± variation, when
    positive) until a piece is at most average + variation. Lazy, depth-first: memory O(log size)."""
    stack = [size]
    while stack:
        length = stack.pop()
        if length - average <= variation or length < 2:
            yield length
            continue
        offset = rng.randint(-variation, variation) if variation > 0 else 0
        left = min(length - 1, max(1, length // 2 + offset))
        stack += [length - left, left]


def slice_bounds(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Cut points 0 < ... < size of `piece_sizes` (for tests and documentation)."""
    bounds = [0]
    for length in piece_sizes(size, average, variation, rng):
        bounds.append(bounds[-1] + length)
    return bounds


class SlicerStage(Stage):
    def __init__(self, ctx: StageContext, params: Slicer) -> None:
        super().__init__(ctx)
        self.params = params
        self.gap = max(0, params.delay) / 1_000_000
        self.held: deque[Chunk] = deque()
        self.sizes: Iterator[int] | None = None  # pieces of the head chunk still to cut
        self.offset = 0  # how much of the head chunk is already sent
        self.held_bytes = 0
        self.end_held = False
        self.next_due = 0.0
        # Not precise: a delay of a few µs must not spin the loop; pieces due together go out together.
        self.timer = DueTimer(ctx.loop, self._release)

    def push(self, chunk: Chunk) -> None:
        self.held.append(chunk)
        self.held_bytes += len(chunk.data)
        if not self.timer.armed:
            self.timer.arm(max(self.next_due, time.monotonic()))

    def end(self) -> None:
        if self.held:
            self.end_held = True
        else:
            self.next.end()

    def pending_bytes(self) -> int:
        return self.held_bytes

    def _release(self) -> None:
        now = time.monotonic()
        if self.next_due < now - max(self.gap, _CATCH_UP):
            self.next_due = now  # idle (or the loop stalled): the spacing restarts now, no burst to catch up
        sent = 0
        # Pieces due by `now` on the virtual schedule go out together: a delay shorter than the loop's
        # timer resolution thins the writes without spinning the loop.
        while self.held and self.next_due <= now and sent < _PIECES_PER_TURN:
            self._send_piece()
            self.next_due += self.gap
            sent += 1
        if self.held:
            self.timer.arm(max(self.next_due, now))
        elif self.end_held:
            self.end_held = False
            self.next.end()

    def _send_piece(self) -> None:
        head = self.held[0]
        if self.sizes is None:
            self.sizes = piece_sizes(len(head.data), self.params.average_size, self.params.size_variation,
                                     self.ctx.rng)
        size = next(self.sizes, len(head.data) - self.offset)
        piece = head.data[self.offset:self.offset + size]
        self.offset += len(piece)
        if self.offset >= len(head.data):
            self.held.popleft()
            self.sizes, self.offset = None, 0
        self.held_bytes -= len(piece)
        self.next.push(Chunk(piece, head.ts))

    def detach(self) -> tuple[list[Chunk], bool]:
        self.timer.cancel()
        chunks = list(self.held)
        if chunks and self.offset:
            chunks[0] = Chunk(chunks[0].data[self.offset:], chunks[0].ts)
        self.held.clear()
        self.sizes, self.offset = None, 0
        self.held_bytes = 0
        end_held, self.end_held = self.end_held, False
        return chunks, end_held
