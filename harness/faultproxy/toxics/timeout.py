"""timeout: no data passes; the connection closes after `timeout` ms (0 = held open until the toxic goes).

Like Toxiproxy, deleting an active timeout toxic closes the connections it was holding: the bytes it
swallowed leave them in an unknown state.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.faultproxy.toxics.base import Chunk, Stage, StageContext, ToxicParams, attribute, register


@register("timeout")
@dataclass(frozen=True)
class Timeout(ToxicParams):
    timeout: int = attribute("milliseconds")

    def new_stage(self, ctx: StageContext) -> Stage:
        return TimeoutStage(ctx, self)


class TimeoutStage(Stage):
    def __init__(self, ctx: StageContext, params: Timeout) -> None:
        super().__init__(ctx)
        self.timer: asyncio.TimerHandle | None = None
        if params.timeout > 0:
            self.timer = ctx.loop.call_later(params.timeout / 1000, ctx.close)

    def push(self, chunk: Chunk) -> None:
        pass  # dropped on the floor, as a black-holed network would

    def end(self) -> None:
        self.ctx.close()

    def detach(self) -> tuple[list[Chunk], bool]:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        return [], False

    def on_removed(self) -> None:
        self.ctx.close()
