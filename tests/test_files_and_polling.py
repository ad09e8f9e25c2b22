"""The harness's one atomic write and its one poll-until."""

from __future__ import annotations

import json
import time

import pytest

from harness.files import atomic_path, write_atomic, write_json_atomic
from harness.polling import poll_until


def test_write_atomic_replaces_the_whole_file_and_leaves_no_partial(tmp_path):
    """Text or bytes land whole under the final name; no hidden partial file is left beside it."""
    target = tmp_path / "sub" / "state.json"
    write_atomic(target, "old")
    write_json_atomic(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    write_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in target.parent.iterdir()) == ["state.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_partial(tmp_path):
    """A writer that raises half-way leaves the previous content in place, and nothing else."""
    target = tmp_path / "part.parquet"
    write_atomic(target, "complete")
    with pytest.raises(RuntimeError), atomic_path(target) as partial:
        partial.write_text("half")
        raise RuntimeError("writer failed")
    assert target.read_text() == "complete"
    assert [p.name for p in tmp_path.iterdir()] == ["part.parquet"]


def test_poll_until_returns_the_first_truthy_answer():
    """The value `check` returns, as soon as it is truthy."""
    answers = iter([None, 0, "ready"])
    assert poll_until(lambda: next(answers), timeout_s=30, interval_s=0.001) == "ready"


def test_poll_until_gives_up_no_earlier_than_the_timeout_and_asks_at_the_deadline():
    """None after the timeout, never before it, with a last question asked at or after the deadline."""
    asked: list[float] = []
    start = time.monotonic()
    assert poll_until(lambda: asked.append(time.monotonic()), timeout_s=0.2, interval_s=0.05) is None
    assert asked[-1] - start >= 0.2
    assert time.monotonic() - start < 10


def test_poll_until_stops_at_once_when_check_raises():
    """A check may end the wait early (a process that exited will never be ready)."""
    def check() -> bool:
        raise LookupError("gone")

    with pytest.raises(LookupError):
        poll_until(check, timeout_s=30)
