"""Scenario files mutated by hypothesis, through the real validator: every file is either refused with one
printable ScenarioError line (exit 2 in the CLI) or accepted as one that cannot break later.

A fixed budget and derandomized examples: the same few hundred mutations in every CI run, in seconds.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.authsvc.flags import resolve_flags
from harness.errors import ScenarioError
from harness.scenario import MAX_SECONDS, TOXICS, Scenario, flag_text, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
CATALOGUE = sorted(SCENARIOS.glob("*.toml"))
DATA = [tomllib.loads(path.read_text()) for path in CATALOGUE]
BUDGET = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

HOSTILE_TEXT = st.sampled_from(["", "\x00", "a\nb", "../../escaped", "a/b", "n" * 300, "10s", "inf", "-1s",
                                "1" + "0" * 400, "nan", "latency", "slicer", "fixed", "\ud7ff", "é" * 3])
SCALARS = st.one_of(st.booleans(), st.integers(), st.integers(min_value=-2**80, max_value=2**80),
                    st.floats(), st.text(max_size=30), HOSTILE_TEXT)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=12) | HOSTILE_TEXT, inner, max_size=3), max_leaves=6)
KEYS = st.sampled_from(["name", "duration", "at", "type", "attributes", "latency", "average_size",
                        "size_variation", "rate", "wait", "flags", "redis_timeout_ms", "users", "toxicity",
                        "classes", "locustfile", "nope"]) | st.text(max_size=8)


def mutate(data: Any, draw: Any, root: bool = False) -> Any:
    """One change at a random place: a value replaced, a key dropped or added, or a level nested deeply.
    The root stays a table, as tomllib always gives one."""
    if isinstance(data, dict) and data and (root or draw(st.booleans())):
        key = draw(st.sampled_from(sorted(data)))
        return {**data, key: mutate(data[key], draw)}
    if isinstance(data, list) and data and draw(st.booleans()):
        index = draw(st.integers(0, len(data) - 1))
        return [*data[:index], mutate(data[index], draw), *data[index + 1:]]
    action = draw(st.sampled_from(["replace", "drop", "add", "nest"]))
    if action == "drop" and isinstance(data, dict) and data:
        key = draw(st.sampled_from(sorted(data)))
        return {k: v for k, v in data.items() if k != key}
    if action == "add" and isinstance(data, dict):
        return {**data, draw(KEYS): draw(VALUES)}
    if action == "nest":
        depth = draw(st.integers(1, 1500))
        nested: Any = data
        for _ in range(depth):
            nested = [nested]
        return nested
    return draw(VALUES)


def assert_refusal_is_one_line(exc: ScenarioError, shown_path: str) -> None:
    message = str(exc)
    assert exc.exit_code == 2
    assert message.startswith(f"{shown_path}: "), message
    assert message.isprintable() and len(message) < 600, repr(message)


def assert_cannot_break_later(scenario: Scenario) -> None:
    """What an accepted file promises: names that stay inside --out, finite times, faults a proxy takes."""
    for name in [scenario.name, *scenario.variants]:
        assert "/" not in name and "\x00" not in name and name != ".." and len(name) <= 100
    assert math.isfinite(scenario.load.duration) and scenario.load.duration <= MAX_SECONDS
    for user_class in scenario.load.classes.values():
        assert all(math.isfinite(w) for w in user_class.wait)
    for fault in scenario.faults:
        assert math.isfinite(fault.at) and (fault.duration is None or math.isfinite(fault.duration))
        for key, value in fault.attributes.items():
            spec = TOXICS[str(fault.type)][key]
            assert spec.minimum <= value <= spec.maximum
    for variant in scenario.variants.values():
        resolve_flags(variant.profile, [f"{k}={flag_text(v)}" for k, v in variant.flags.items()])


@BUDGET
@given(st.sampled_from(range(len(DATA))), st.data())
def test_mutated_scenario_tables_are_refused_in_one_line_or_safe(index: int, data: st.DataObject) -> None:
    mutated = DATA[index]
    for _ in range(data.draw(st.integers(1, 3))):
        mutated = mutate(mutated, data.draw, root=True)
    try:
        scenario = parse_scenario(mutated, "fuzz.toml")
    except ScenarioError as exc:
        assert_refusal_is_one_line(exc, "fuzz.toml")
        return
    assert_cannot_break_later(scenario)


@BUDGET
@given(st.sampled_from(CATALOGUE), st.data())
def test_mutated_scenario_files_are_refused_in_one_line_or_safe(tmp_path_factory: Any, source: Path,
                                                                 data: st.DataObject) -> None:
    raw = bytearray(source.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw)))
        edit = data.draw(st.sampled_from(["insert", "delete", "utf16", "repeat"]))
        if edit == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
                [b"\xff", b"\x00", b"[", b"{a=", b"\n[load]\n", b"= inf", b"\n\n", b'"\\u0000"']))
        elif edit == "delete":
            del raw[at:at + data.draw(st.integers(1, 40))]
        elif edit == "utf16":
            raw = bytearray(bytes(raw).decode("utf-8", "replace").encode("utf-16"))
        else:
            raw[at:at] = data.draw(st.sampled_from([b"[", b"{a = "])) * data.draw(st.integers(100, 1200))
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / source.name
    path.write_bytes(bytes(raw))
    for helper in SCENARIOS.glob("*.py"):  # the catalogue's locustfiles, so accepted files fully load
        (folder / helper.name).symlink_to(helper)
    try:
        scenario = load_scenario(path)
    except ScenarioError as exc:
        assert_refusal_is_one_line(exc, str(path))
        return
    assert_cannot_break_later(scenario)
