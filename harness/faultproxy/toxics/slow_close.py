"""slow_close: the end of the stream (the peer's FIN) is passed on `delay` ms late."""

from __future__ import annotations

from dataclasses import dataclass

from harness.faultproxy.toxics.base import Chunk, DueTimer, Stage, StageContext, ToxicParams, attribute, register


@register("slow_close")
@dataclass(frozen=True)
class SlowClose(ToxicParams):
    """the end of the stream (FIN) is passed on `delay` late"""
    delay: int = attribute("milliseconds", required=True)

    def new_stage(self, ctx: StageContext) -> Stage:
        return SlowCloseStage(ctx, self)


class SlowCloseStage(Stage):
    def __init__(self, ctx: StageContext, params: SlowClose) -> None:
        super().__init__(ctx)
        self.delay = max(0, params.delay) / 1000
        self.timer = DueTimer(ctx.loop, self._pass_end)

    def push(self, chunk: Chunk) -> None:
        self.next.push(chunk)

    def end(self) -> None:
        if not self.timer.armed:
            self.timer.arm_in(self.delay)

    def _pass_end(self) -> None:
        self.next.end()

    def detach(self) -> tuple[list[Chunk], bool]:
        if not self.timer.armed:
            return [], False
        self.timer.cancel()
        return [], True
