"""slow_close: the end of the stream (the peer's FIN) is passed on `delay` ms late."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.faultproxy.toxics.base import Chunk, Stage, StageContext, ToxicParams, attribute, register


@register("slow_close")
@dataclass(frozen=True)
class SlowClose(ToxicParams):
    delay: int = attribute("milliseconds", required=True)

    def new_stage(self, ctx: StageContext) -> Stage:
        return SlowCloseStage(ctx, self)


class SlowCloseStage(Stage):
    def __init__(self, ctx: StageContext, params: SlowClose) -> None:
        super().__init__(ctx)
        self.delay = params.delay / 1000
        self.timer: asyncio.TimerHandle | None = None

    def push(self, chunk: Chunk) -> None:
        self.next.push(chunk)

    def end(self) -> None:
        if self.timer is None:
            self.timer = self.ctx.loop.call_later(self.delay, self._pass_end)

    def _pass_end(self) -> None:
        self.next.end()

    def detach(self) -> tuple[list[Chunk], bool]:
        if self.timer is None:
            return [], False
        self.timer.cancel()
        self.timer = None
        return [], True
