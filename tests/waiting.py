"""The one way tests wait: poll a condition until it holds, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "the condition",
               interval: float = 0.02) -> None:
    """Poll `condition` until it is true; fail the test after `timeout` seconds, naming `what`. The condition
    is checked once more at the deadline, so a busy machine that slept past it never fails a true one."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            if condition():
                return
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(interval)
