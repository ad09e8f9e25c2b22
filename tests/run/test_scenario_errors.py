"""Bad scenario files and flags: exit code 2 and one line naming the file and the field, never a traceback."""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import load_scenario, parse_duration

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

GOOD = """
[load]
locustfile = "{locustfile}"
users = 5
duration = "10s"
[[faults]]
proxy = "redis"
at = "2s"
duration = "5s"
type = "latency"
attributes = {{ latency = 100, jitter = 10 }}
"""

CASES = {
    "wrong type": ("[load]\nusers = \"many\"\n", "load.users: must be a valid integer"),
    "unknown field": ("[load]\nuserz = 3\n", "load.userz: unknown field, allowed: locustfile, users"),
    "unknown top-level table": ("[lode]\nusers = 3\n", "lode: unknown field"),
    "unknown toxic type": ("[[faults]]\ntype = \"lag\"\n", "faults[0].type: must be one of latency"),
    "non-numeric attribute": ("[[faults]]\ntype = \"latency\"\nattributes = { latency = \"fast\" }\n",
                              'faults[0].attributes.latency: must be a whole number >= 0, got "fast"'),
    "unknown attribute": ("[[faults]]\ntype = \"latency\"\nattributes = { delay = 3 }\n",
                          "faults[0].attributes.delay: unknown attribute of latency, allowed: latency, jitter"),
    "negative duration": ("[[faults]]\ntype = \"latency\"\nduration = \"-5s\"\n", "faults[0].duration: must be"),
    "negative at": ("[[faults]]\ntype = \"latency\"\nat = -1\n", "faults[0].at: must be a duration >= 0"),
    "toxicity above 1": ("[[faults]]\ntype = \"latency\"\ntoxicity = 1.5\n", "faults[0].toxicity: must be less"),
    "neither toxic nor down": ("[[faults]]\nproxy = \"redis\"\n", 'faults[0]: give one of type'),
    "unknown proxy": ("[[faults]]\nproxy = \"mysql\"\ntype = \"latency\"\n", "faults[0].proxy: must be redis, edge"),
    "bad expectation": ("[variants.buggy]\nexpect = \"maybe\"\n", "variants.buggy.expect: must be 'pass' or 'fail'"),
    "missing locust file": ("[load]\nlocustfile = \"nope.py\"\n", "load.locustfile: no such file"),
    "not toml": ("[load\nusers = 3\n", "not valid TOML"),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    (tmp_path / "login_users.py").write_text((SCENARIOS / "login_users.py").read_text())
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_is_rejected_with_file_and_field(tmp_path: Path, case: str) -> None:
    text, expected = CASES[case]
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "\n" not in message


def test_good_scenario_loads_with_defaults(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, GOOD.format(locustfile="login_users.py")))
    assert scenario.name == "bad"  # the file name when [scenario] gives none
    assert scenario.load.duration == 10.0
    assert scenario.faults[0].duration == 5.0
    assert scenario.faults[0].stream == "downstream"
    assert scenario.target.minimum == 0.99 and scenario.target.confidence == 0.95
    assert set(scenario.variants) == {"buggy", "fixed"}


def test_catalogue_scenarios_validate() -> None:
    for path in sorted(SCENARIOS.glob("*.toml")):
        load_scenario(path)


@pytest.mark.parametrize(("text", "seconds"), [(30, 30.0), ("30s", 30.0), ("500ms", 0.5), ("2m", 120.0), (1.5, 1.5)])
def test_parse_duration_accepts_the_documented_forms(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_cli_bad_scenario_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, CASES["non-numeric attribute"][0])
    result = run_cli("run", str(path), "--out", str(tmp_path / "reports"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "faults[0].attributes.latency" in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "reports").exists()  # validated before anything started


@pytest.mark.parametrize(("args", "expected"), [
    (["--duration", "soon"], "--duration"),
    (["--fault-proxy", "somewhere"], "--fault-proxy: must be embedded, binary or http://HOST:PORT"),
    (["--fault-proxy", "http://192.0.2.1:8474"], "not a loopback address; pass --allow-remote"),
    (["--variants", "nope"], "--variants: unknown variant 'nope'"),
    (["--workers", "-1"], "--workers"),
    (["--master-bind", "127.0.0.1:1"], "--master-bind and --expect-workers go together"),
])
def test_cli_bad_flags_exit_2_with_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    assert_refused_in_one_line(run_cli("run", str(SCENARIOS / "mobile-latency.toml"), "--out", str(tmp_path), *args),
                               expected)


def assert_refused_in_one_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    (["--latency", "0,fast"], "--latency"),
    (["--latency", "0,100", "--min-duration", "5s"], "--min-duration goes with --until-decided"),
    (["--latency", "0", "--variants", "nope"], "--variants: unknown variant 'nope'"),
])
def test_sweep_bad_flags_exit_2_with_one_line(tmp_path: Path, args: list[str], expected: str) -> None:
    assert_refused_in_one_line(run_cli("sweep", str(SCENARIOS / "mobile-latency.toml"), "--out", str(tmp_path), *args),
                               expected)
    assert not any(tmp_path.iterdir())  # refused before any level ran


@pytest.mark.parametrize(("args", "expected"), [
    (["--fault-proxy", "http://127.0.0.1:99999"], "--fault-proxy: must be http://HOST:PORT with a port from 1"),
    (["--fault-proxy", "http://127.0.0.1"], "--fault-proxy: must be http://HOST:PORT with a port from 1"),
    (["--fault-proxy", "http://no-such-host.invalid:8474", "--allow-remote"], "--fault-proxy: cannot resolve"),
])
def test_unusable_fault_proxy_url_is_refused_before_anything_starts(tmp_path: Path, args: list[str],
                                                                   expected: str) -> None:
    out = tmp_path / "reports"
    assert_refused_in_one_line(run_cli("run", str(SCENARIOS / "mobile-latency.toml"), "--out", str(out), *args),
                               expected)
    assert not out.exists()  # no run folder, no watchdog, no manifest saying "completed"


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:99999", "--fault-proxy: must be http://HOST:PORT"),
    ("http://no-such-host.invalid:8474", "--fault-proxy: cannot resolve"),
])
def test_reset_refuses_an_unusable_fault_proxy_url(url: str, expected: str) -> None:
    assert_refused_in_one_line(run_cli("reset", "--fault-proxy", url, "--allow-remote"), expected)


def test_a_sweep_level_refused_late_is_refused_before_the_first_level_runs(tmp_path: Path) -> None:
    # Ten million users need more open files than any limit this process can raise itself to (Linux caps it
    # near a million): that level is refused, and the 5-user level before it must not have run.
    if resource.getrlimit(resource.RLIMIT_NOFILE)[1] == resource.RLIM_INFINITY:
        pytest.skip("no open-file limit here: nothing is refused")
    assert_refused_in_one_line(run_cli("sweep", str(SCENARIOS / "mobile-latency.toml"), "--out", str(tmp_path),
                                       "--latency", "0", "--users", "5,10000000", "--duration", "1"),
                               "open-file limit here")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("command", [["run"], ["sweep", "--latency", "0"]])
def test_an_out_folder_that_cannot_be_created_is_one_line(tmp_path: Path, command: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")   # a folder cannot be made under a file, even by root (permissions would not stop root)
    result = run_cli(command[0], str(SCENARIOS / "mobile-latency.toml"), "--out", str(blocker / "reports"),
                     *command[1:])
    assert_refused_in_one_line(result, "--out: cannot create a run folder in")
