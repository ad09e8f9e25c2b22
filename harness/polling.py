"""Waiting for something to become true by asking again at an interval: readiness, exits, agreements."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(check: Callable[[], T], timeout_s: float, interval_s: float = 0.05) -> T | None:
    """The first truthy value `check` returns, asked every `interval_s`; None once `timeout_s` passed without one.

    `check` is asked once more at the deadline, so a sleep that overran it never hides an answer that came in
    time; it may raise to stop waiting early (a process that exited will never become ready).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(interval_s, remaining))
