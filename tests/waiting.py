"""The one way tests wait: poll a condition until it holds, never a fixed sleep."""

from __future__ import annotations

from collections.abc import Callable

from harness.polling import poll_until


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "the condition",
               interval: float = 0.02) -> None:
    """Poll `condition` until it is true; fail the test after `timeout` seconds, naming `what`. The harness's
    own poll loop asks once more at the deadline, so a busy machine that slept past it never fails a true one."""
    if not poll_until(condition, timeout, interval):
        raise AssertionError(f"not within {timeout:g} s: {what}")
