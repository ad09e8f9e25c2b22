"""reset_peer: once data or the end of stream arrives, wait `timeout` ms and reset the connection.

As in Toxiproxy, the data that triggers it is dropped, and a reset once triggered happens at its time
even if the toxic is removed or updated meanwhile (Toxiproxy's removal waits for it).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.faultproxy.toxics.base import Chunk, DueTimer, Stage, StageContext, ToxicParams, attribute, register


@register("reset_peer")
@dataclass(frozen=True)
class ResetPeer(ToxicParams):
    """once data or the end of stream arrives, wait `timeout`, then reset both sockets (TCP RST via SO_LINGER 0);
    the triggering data is dropped. Only connections opened while the toxic exists get the RST; older ones are
    closed normally (FIN), as in Toxiproxy. A reset once triggered happens at its time even if the toxic is
    removed"""
    timeout: int = attribute("milliseconds")

    def new_stage(self, ctx: StageContext) -> Stage:
        return ResetPeerStage(ctx, self)


class ResetPeerStage(Stage):
    def __init__(self, ctx: StageContext, params: ResetPeer) -> None:
        super().__init__(ctx)
        self.delay = max(0, params.timeout) / 1000
        self.timer = DueTimer(ctx.loop, ctx.reset)
        self.end_seen = False

    def push(self, chunk: Chunk) -> None:
        self._trigger()

    def end(self) -> None:
        self.end_seen = True
        self._trigger()

    def _trigger(self) -> None:
        if not self.timer.armed:
            self.timer.arm_in(self.delay)

    def detach(self) -> tuple[list[Chunk], bool]:
        # The triggered reset keeps its time; the end of stream it saw goes on to the next stage.
        end_seen, self.end_seen = self.end_seen, False
        return [], end_seen

    def close(self) -> None:
        self.timer.cancel()
