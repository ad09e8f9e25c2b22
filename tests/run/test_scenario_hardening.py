"""Scenario files that fuzzing broke (#16): each is refused in one printable line, exit 2, before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import load_scenario
from tests.run.test_scenario_errors import SCENARIOS, assert_refused_in_one_line, run_cli

LATENCY = '[[faults]]\ntype = "latency"\n'

CASES: dict[str, tuple[bytes | str, str]] = {
    # 12: tracebacks before
    "not utf-8": (b"[load]\nusers = 5\n# caf\xe9\n", "not UTF-8 text at byte 22"),
    "utf-16": ("[load]\nusers = 5\n".encode("utf-16"), "not UTF-8 text"),
    "integer of 4,400 digits": ("[load]\nseed = " + "9" * 4400 + "\n", "not valid TOML"),
    "1,000 nested arrays": ("x = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    "1,000 nested tables": ("x = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n", "nested too deeply"),
    "300-character name": (f'[scenario]\nname = "{"n" * 300}"\n', "scenario.name: scenario name \"nnn"),
    "NUL in name": ('[scenario]\nname = "a\\u0000b"\n', 'scenario.name: scenario name "a\\x00b": allowed'),
    "newline in a value": ('[[faults]]\ntype = "lag\\nx"\n', 'faults[0].type: must be one of latency'),
    "newline in a key": ('[load]\n"user\\nz" = 3\n', "load.user\\nz: unknown field"),
    "NUL in a class name": ('[load.classes."a\\u0000b"]\nweight = 1\n', "load.classes: class name"),
    "NUL in the locustfile": ('[load]\nlocustfile = "a\\u0000b.py"\n', "load.locustfile: no such file"),
    "variant named ..": ('[variants.".."]\nprofile = "fixed"\n', 'variants: variant name "..": allowed'),
    "300-character variant": (f'[variants.{"v" * 300}]\nprofile = "fixed"\n', "variant name"),
    # 13: accepted, then broke later
    "duration inf": ("[load]\nduration = inf\n", "load.duration: must be a duration of at most 604800 s"),
    "duration of 400 digits": ("[load]\nduration = 1" + "0" * 400 + "\n", "load.duration: must be a duration"),
    "duration string of 400 digits": ('[load]\nduration = "1' + "0" * 400 + 's"\n', "load.duration"),
    "fault at nan": (LATENCY + "at = nan\nattributes = { latency = 1 }\n", "faults[0].at"),
    "wait nan": ("[load.classes.WebUser]\nwait = [nan, nan]\n", "load.classes.WebUser.wait"),
    "toxicity nan": (LATENCY + "toxicity = nan\nattributes = { latency = 1 }\n", "faults[0].toxicity"),
    "spawn rate inf": ("[load]\nspawn_rate = inf\n", "load.spawn_rate"),
    "name escaping --out": ('[scenario]\nname = "../../escaped"\n', 'scenario name "../../escaped": allowed'),
    "name nesting folders": ('[scenario]\nname = "a/b"\n', 'scenario name "a/b": allowed'),
    "unknown variant flag": ("[variants.fixed]\nflags = { nope = 1 }\n",
                             "variants.fixed.flags.nope: unknown flag; allowed: await_session_write"),
    "flag out of range": ("[variants.fixed]\nflags = { redis_timeout_ms = 0 }\n",
                          "variants.fixed.flags.redis_timeout_ms: '0' is not valid; allowed: an integer from 1"),
    "flag not a boolean": ('[variants.fixed]\nflags = { refresh_lock = "maybe" }\n',
                           "variants.fixed.flags.refresh_lock: 'maybe' is not a boolean"),
    # 14: faults the fault proxy (or a real Toxiproxy) refuses at run time
    "latency without latency": (LATENCY, "faults[0].attributes.latency: is required for latency (ms)"),
    "bandwidth without rate": ('[[faults]]\ntype = "bandwidth"\n', "faults[0].attributes.rate: is required"),
    "attribute above 10^12": (LATENCY + "attributes = { latency = 10000000000000 }\n",
                              "faults[0].attributes.latency: must be from 0 to 604800000 (ms)"),
    "slicer average_size 0": ('[[faults]]\ntype = "slicer"\nattributes = { average_size = 0 }\n',
                              "faults[0].attributes.average_size: must be from 1 to"),
    "slicer variation >= average": ('[[faults]]\ntype = "slicer"\n'
                                    "attributes = { average_size = 8, size_variation = 8 }\n",
                                    "faults[0].attributes.size_variation: must be less than average_size (8 >= 8)"),
    "toxic name with a slash": (LATENCY + 'name = "a/b"\nattributes = { latency = 1 }\n', 'faults[0].name: toxic name'),
    "two toxics of one name at once": (LATENCY + 'name = "lag"\nattributes = { latency = 1 }\n' + LATENCY
                                       + 'name = "lag"\nat = "5s"\nattributes = { latency = 2 }\n',
                                       'faults[1].name: "lag" is already faults[0]\'s on redis at that time'),
    "limit_data without bytes": ('[[faults]]\ntype = "limit_data"\n', "faults[0].attributes.bytes: is required"),
}


def write(tmp_path: Path, content: bytes | str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    (tmp_path / "login_users.py").write_text((SCENARIOS / "login_users.py").read_text())
    return path


def assert_one_printable_line(message: str) -> None:
    assert message.isprintable(), repr(message)   # no newline, NUL or other control character
    assert len(message) < 600, message


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_scenario_is_refused_in_one_line(tmp_path: Path, case: str) -> None:
    content, expected = CASES[case]
    path = write(tmp_path, content)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert_one_printable_line(message)


@pytest.mark.parametrize("content", [
    LATENCY + 'attributes = { latency = 604800000, jitter = 0 }\n',
    '[[faults]]\ntype = "slicer"\nattributes = { average_size = 8, size_variation = 7, delay = 10 }\n',
    '[[faults]]\ntype = "timeout"\n',            # 0 = never: Toxiproxy's default, well defined
    '[[faults]]\ntype = "bandwidth"\nattributes = { rate = 0 }\n',
    '[variants.fixed]\nflags = { redis_timeout_ms = 250, refresh_lock = "off" }\n',
    "[load]\nduration = 604800\n",
    LATENCY + 'name = "lag"\nduration = "5s"\nattributes = { latency = 1 }\n' + LATENCY
    + 'name = "lag"\nat = "5s"\nattributes = { latency = 2 }\n',   # one name, one after the other
])
def test_edge_values_that_are_allowed_still_load(tmp_path: Path, content: str) -> None:
    load_scenario(write(tmp_path, content))


def test_a_file_name_that_is_not_a_safe_folder_name_gives_a_safe_default_name(tmp_path: Path) -> None:
    path = write(tmp_path, "[load]\nusers = 2\n").rename(tmp_path / ".my scenario (1).toml")
    assert load_scenario(path).name == "my-scenario--1-"


@pytest.mark.parametrize("case", ["utf-16", "1,000 nested tables", "NUL in name", "duration inf",
                                  "name escaping --out", "slicer average_size 0"])
def test_cli_refuses_hostile_scenarios_with_exit_2_and_writes_nothing(tmp_path: Path, case: str) -> None:
    out = tmp_path / "out" / "reports"
    path = write(tmp_path, CASES[case][0])
    assert_refused_in_one_line(run_cli("run", str(path), "--out", str(out)), CASES[case][1])
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped").exists()
