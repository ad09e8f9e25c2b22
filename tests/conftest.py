"""Shared test set-up; the fixtures themselves live in harness.pytest_plugin (loaded via pytest11).

`make test` runs the suite on two pytest-xdist workers. Tests marked `judged` hold real load to a success
target, a rate or a time bound, so no two of them may run side by side: they form one work unit that one
worker runs in order, first, while the other worker takes every other module (docs/development.md).
xdist's own `--dist loadgroup` cannot do this under pytest 9.2 (pytest-xdist issue 1386: the group is
carried in a rewritten test id, which pytest no longer honours), so the grouping is done here, by id: each
worker writes the ids of the judged tests it collected to a file the controller's scheduler reads.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

import pytest

JUDGED_UNIT = "judged tests, one at a time"


def pytest_configure(config: pytest.Config) -> None:
    """Ctrl-C reaches the runs the tests start. A suite started in the background by a non-interactive shell
    (`nohup make test &` in a CI script) inherits SIGINT ignored, an ignored signal stays ignored across
    exec, and the tests that press Ctrl-C on a `harness run` would wait for a stop that never comes. A
    handler, unlike SIG_IGN, is reset to the default in every child."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Judged tests first, then the other slow ones, then the rest (a stable sort: files keep their order).
    The longest unit starts first, so the two workers finish close together."""
    items.sort(key=lambda item: (item.get_closest_marker("judged") is None, item.get_closest_marker("slow") is None))
    judged_list = getattr(config, "workerinput", {}).get("judged_list")
    if judged_list:
        from harness.files import write_atomic

        judged = [item.nodeid for item in items if item.get_closest_marker("judged") is not None]
        write_atomic(Path(judged_list), "".join(f"{nodeid}\n" for nodeid in judged))


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Controller side: tell each worker where to write the ids of its judged tests."""
    node.workerinput["judged_list"] = str(_judged_list(node.config))


def _judged_list(config: pytest.Config) -> Path:
    folder = getattr(config, "_judged_dir", None)
    if folder is None:
        folder = config._judged_dir = Path(tempfile.mkdtemp(prefix="harness-judged-"))  # type: ignore[attr-defined]
    return folder / "judged.txt"


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = getattr(config, "_judged_dir", None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`-n N` alone (xdist's `load`) gets the judged unit; an explicit other `--dist` is left to xdist."""
    if config.getoption("dist") != "load":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class JudgedTogether(LoadScopeScheduling):  # type: ignore[misc]
        """Every judged test in one unit, first; every other module a unit of its own, in collection order."""

        judged: set[str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.judged is None:  # read once every worker has collected (schedule() runs after that)
                path = _judged_list(config)
                self.judged = set(path.read_text().splitlines()) if path.exists() else set()
            return JUDGED_UNIT if nodeid in self.judged else str(super()._split_scope(nodeid))

    config.option.loadscopereorder = False  # keep collection order: the judged unit first
    return JudgedTogether(config, log)
