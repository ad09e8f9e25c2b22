"""reset_peer: once data arrives, wait `timeout` ms and reset the connection (TCP RST via SO_LINGER 0)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from harness.faultproxy.toxics.base import Chunk, Stage, StageContext, ToxicParams, attribute, register


@register("reset_peer")
@dataclass(frozen=True)
class ResetPeer(ToxicParams):
    timeout: int = attribute("milliseconds")

    def new_stage(self, ctx: StageContext) -> Stage:
        return ResetPeerStage(ctx, self)


class ResetPeerStage(Stage):
    def __init__(self, ctx: StageContext, params: ResetPeer) -> None:
        super().__init__(ctx)
        self.delay = params.timeout / 1000
        self.timer: asyncio.TimerHandle | None = None

    def push(self, chunk: Chunk) -> None:
        # The data that triggers the reset is not delivered, as in Toxiproxy.
        self._trigger()

    def end(self) -> None:
        self._trigger()

    def _trigger(self) -> None:
        if self.timer is None:
            self.timer = self.ctx.loop.call_later(self.delay, self.ctx.reset)

    def detach(self) -> tuple[list[Chunk], bool]:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        return [], False
