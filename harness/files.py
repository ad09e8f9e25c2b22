"""Writing a file so that no reader (a poller, a browser, `harness down`, a crash) ever sees half of it."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A hidden path beside `path` to write to (by any library); renamed over `path` once the block ends.

    The rename is atomic on one file system: readers see the old file or the whole new one. The partial
    name ends in `.partial`, so globs such as `*.parquet` never pick it up; it is removed if the write fails.
    It carries the writer's PID, so two processes writing one file (a shared cache) never write into one partial.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write `data` (text as UTF-8) to `path` atomically; returns `path`."""
    with atomic_path(path) as partial:
        partial.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def write_json_atomic(path: Path, value: Any, indent: int | None = 2) -> Path:
    """`value` as JSON, atomically; objects JSON does not know (datetimes, paths) are written as their text."""
    return write_atomic(path, json.dumps(value, indent=indent, default=str))
