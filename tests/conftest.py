"""Shared test set-up; the fixtures themselves live in harness.pytest_plugin (loaded via pytest11)."""

from __future__ import annotations

import pytest

JUDGED_GROUP = "judged-load"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs the suite on two pytest-xdist workers with --dist loadgroup. Tests marked `judged` (real
    load held to a success target, a rate or a time bound) share one group, so they run one after another on
    one worker and never beside each other; the other worker takes everything else."""
    if not config.pluginmanager.hasplugin("xdist"):
        return  # run without pytest-xdist (-p no:xdist): one process, nothing to group
    for item in items:
        if item.get_closest_marker("judged"):
            item.add_marker(pytest.mark.xdist_group(JUDGED_GROUP))
