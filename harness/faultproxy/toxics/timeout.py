"""timeout: no data passes; the connection closes after `timeout` ms without new data (0 = held open).

As in Toxiproxy's code, the timer starts with the toxic and every chunk that arrives restarts it: an
idle timeout, not a deadline. Deleting an active timeout toxic closes the connections it was holding
(the bytes it swallowed leave them in an unknown state).
"""

from __future__ import annotations

from dataclasses import dataclass

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


@register("timeout")
@dataclass(frozen=True)
class Timeout(ToxicParams):
    """no data passes; the connection is closed after `timeout` **without new data** (every chunk restarts the
    timer, as in Toxiproxy's code); 0 holds it open, swallowing data, until the toxic is removed (removal then
    closes it, as Toxiproxy does)"""
    timeout: int = attribute("milliseconds", note="0 = never")

    def new_stage(self, ctx: StageContext) -> Stage:
        return TimeoutStage(ctx, self)

    def notes(self) -> list[str]:
        return negative_notes(self, "timeout", meaning="acts as 0 (held open)")


class TimeoutStage(Stage):
    def __init__(self, ctx: StageContext, params: Timeout) -> None:
        super().__init__(ctx)
        self.idle = params.timeout / 1000
        self.timer = DueTimer(ctx.loop, ctx.close)
        self._restart()

    def _restart(self) -> None:
        if self.idle > 0:
            self.timer.arm_in(self.idle)

    def push(self, chunk: Chunk) -> None:
        self._restart()  # dropped on the floor, as a black-holed network would

    def end(self) -> None:
        self.ctx.close()

    def detach(self) -> tuple[list[Chunk], bool]:
        self.timer.cancel()
        return [], False

    def on_removed(self) -> None:
        self.ctx.close()
