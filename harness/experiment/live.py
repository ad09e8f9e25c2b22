"""The progress line of a running variant: its clock against the duration, and the live tally."""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from harness.analysis.live_tally import LiveTally


class LiveProgress:
    """A rich progress bar for one variant; `show` redraws it with the seconds run and the counts so far."""

    def __init__(self, console: Console, name: str, duration_s: float) -> None:
        self.name, self.duration_s = name, duration_s
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[clock]}"),
                   TextColumn("{task.fields[stats]}"), TimeElapsedColumn())
        self._progress = Progress(*columns, console=console, transient=False)
        self._task: TaskID | None = None

    def __enter__(self) -> LiveProgress:
        self._progress.__enter__()
        self._task = self._progress.add_task(self.name, total=self.duration_s, clock="", stats="")
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._progress.__exit__(kind, exc, traceback)

    def show(self, ran_s: float, tally: LiveTally) -> None:
        assert self._task is not None
        ran_s = min(ran_s, self.duration_s)
        self._progress.update(self._task, completed=ran_s, stats=tally.describe(),
                              clock=f"{ran_s:.0f}/{self.duration_s:.0f} s")
