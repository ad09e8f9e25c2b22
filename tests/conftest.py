"""Shared test set-up; the fixtures themselves live in harness.pytest_plugin (loaded via pytest11)."""

from __future__ import annotations

import pytest

JUDGED_GROUP = "judged-load"


def pytest_itemcollected(item: pytest.Item) -> None:
    """`make test` runs the suite on two pytest-xdist workers with --dist loadgroup. Tests marked `judged` (real
    load held to a success target, a rate or a time bound) share one group, so they run one after another on
    one worker and never beside each other; the other worker takes everything else. The group is set as each
    test is collected, since pytest-xdist reads it in its own collection_modifyitems, which runs before ours."""
    if not item.config.pluginmanager.hasplugin("xdist"):
        return  # run without pytest-xdist (-p no:xdist): one process, nothing to group
    if item.get_closest_marker("judged"):
        item.add_marker(pytest.mark.xdist_group(JUDGED_GROUP))
