"""The toxic attribute table is derived from the toxic registry: the docs and scenario checks cannot drift."""

from __future__ import annotations

from pathlib import Path

from harness.faultproxy.toxic_table import BEGIN, COMMAND, END, markdown_table, with_table
from harness.faultproxy.toxics import REGISTRY
from harness.scenario import TOXICS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "faultproxy.md"


def test_the_docs_table_of_toxics_is_the_generated_one():
    """docs/faultproxy.md carries the table the registry generates; if not, the message says how to regenerate."""
    text = DOCS.read_text()
    assert BEGIN in text and END in text
    assert with_table(text) == text, f"the toxic table in docs/faultproxy.md is out of date: run `{COMMAND}`"


def test_every_registered_toxic_and_attribute_has_a_row_and_a_scenario_check():
    """Each toxic type is a row naming its attributes, and scenario files check exactly those attributes."""
    table = markdown_table()
    for name, params in REGISTRY.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| {name} |"))
        assert all(f"`{key}`" in row for key in params.attribute_specs())
        assert set(TOXICS[name]) == set(params.attribute_specs())
    assert list(TOXICS) == list(REGISTRY)


def test_scenario_bounds_follow_the_registry_units():
    """A time in a scenario is at most a week in its unit; required and minimum come from the registry."""
    assert TOXICS["latency"]["latency"].maximum == 7 * 86_400 * 1000
    assert TOXICS["slicer"]["delay"].maximum == 7 * 86_400 * 1_000_000
    assert TOXICS["slicer"]["average_size"].minimum == 1 and TOXICS["slicer"]["average_size"].required
    assert not TOXICS["timeout"]["timeout"].required
