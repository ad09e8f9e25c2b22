"""limit_data: the connection is closed once `bytes` bytes have passed in this direction."""

from __future__ import annotations

from dataclasses import dataclass

from harness.faultproxy.toxics.base import Chunk, Stage, StageContext, ToxicParams, attribute, register


@register("limit_data")
@dataclass(frozen=True)
class LimitData(ToxicParams):
    """the connection is closed once `bytes` have passed in that direction (the count survives updates)"""
    bytes: int = attribute("bytes", required=True)

    def new_stage(self, ctx: StageContext) -> Stage:
        return LimitDataStage(ctx, self)


class LimitDataStage(Stage):
    def __init__(self, ctx: StageContext, params: LimitData) -> None:
        super().__init__(ctx)
        self.limit = params.bytes
        self.transmitted = 0  # kept across updates of the toxic, as Toxiproxy's stateful toxics are

    def adopt(self, old: Stage) -> None:
        if isinstance(old, LimitDataStage):
            self.transmitted = old.transmitted

    def push(self, chunk: Chunk) -> None:
        remaining = self.limit - self.transmitted
        if remaining <= 0:
            self.ctx.close()
            return
        if len(chunk.data) > remaining:
            chunk = Chunk(chunk.data[:remaining], chunk.ts)
        self.transmitted += len(chunk.data)
        self.next.push(chunk)
        if self.transmitted >= self.limit:
            self.ctx.close()
