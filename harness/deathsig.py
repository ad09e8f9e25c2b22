"""A child that dies with its parent (Linux's PDEATHSIG), for every process the harness or its servers start."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import signal
import sys
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1

DIE_WITH_PARENT = sys.platform.startswith("linux")  # elsewhere the harness says once what is lost


def _die_with_parent(death_signal: int) -> None:  # pragma: no cover - runs between fork and exec
    # A child of a process killed with -9 must not outlive it (and keep faults in place).
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, death_signal)


def die_with_parent(death_signal: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A `preexec_fn` for subprocess.Popen that ties the child to this process, or None where it cannot."""
    return functools.partial(_die_with_parent, death_signal) if DIE_WITH_PARENT else None
