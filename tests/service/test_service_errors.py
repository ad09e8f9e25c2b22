"""Bad `[service]` / `[redis]` input: exit 2 and one line naming the field; a service that cannot start: exit 3
and one line saying why, with nothing left running."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import load_scenario
from tests.service.helpers import PYTHON, USERS, processes_with, run_harness, wait_gone

HEAD = f'[load]\nlocustfile = "{USERS}"\nduration = "5s"\n'

BAD_SCENARIOS = {
    "unknown placeholder in command": ('[service]\ncommand = "serve --port {prot}"\n',
                                       "service.command: unknown placeholder {prot}, allowed: {port}, {host}"),
    "unknown placeholder in env": ('[service]\ncommand = "serve"\nenv = { REDIS = "{redis}" }\n',
                                   "service.env: REDIS: unknown placeholder {redis}"),
    "unknown placeholder in cwd": ('[service]\ncommand = "serve"\ncwd = "{checkout}"\n',
                                   "service.cwd: unknown placeholder {checkout}"),
    "unknown placeholder in a variant": (
        '[service]\ncommand = "serve"\n[variants.after.service]\nenv = { A = "{prt}" }\n',
        "variants.after.service.env: A: unknown placeholder {prt}"),
    "unbalanced brace": ('[service]\ncommand = ["serve", "{port"]\n', "service.command: unbalanced braces"),
    "unsplittable command": ("[service]\ncommand = \"serve 'x\"\n", "service.command: cannot split"),
    "empty command": ('[service]\ncommand = []\n', "service.command: must name a program"),
    "command and url": ('[service]\ncommand = "serve"\nurl = "http://127.0.0.1:1"\n',
                        "service: give either command"),
    "workers for own service": ('[service]\ncommand = "serve"\nworkers = 2\n',
                                "service: workers applies to the reference service only"),
    "profile on own service": ('[service]\ncommand = "serve"\n[variants.before]\nprofile = "buggy"\n',
                               "variants.before.profile: applies to the reference service only"),
    "flags on own service": ('[service]\nurl = "http://127.0.0.1:1"\n[variants.before]\nflags = { a = 1 }\n',
                             "variants.before.flags: applies to the reference service only"),
    "variant service without one": ('[variants.after.service]\nenv = { A = "1" }\n',
                                    "variants.after.service: give a command or url"),
    "ready not a path": ('[service]\ncommand = "serve"\nready = "health"\n', "service.ready: must be an HTTP path"),
    "ready_timeout not a duration": ('[service]\ncommand = "serve"\nready_timeout = "soon"\n',
                                     "service.ready_timeout: must be a duration"),
    "url not http": ('[service]\nurl = "tcp://127.0.0.1:1"\n', "service.url: must be an http://"),
    "unknown service field": ('[service]\ncommand = "serve"\nport = 1\n', "service.port: unknown field, allowed:"),
    "redis upstream not host:port": ('[redis]\nupstream = "redis"\n', 'redis.upstream: must be "HOST:PORT"'),
}


@pytest.mark.parametrize("case", sorted(BAD_SCENARIOS))
def test_bad_service_section_names_the_field(tmp_path: Path, case: str) -> None:
    text, expected = BAD_SCENARIOS[case]
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value).startswith(f"{path}: ") and expected in str(caught.value), str(caught.value)


def error_lines(stderr: str) -> list[str]:
    assert "Traceback" not in stderr, stderr
    return [line for line in stderr.splitlines() if line.startswith("harness: ")]


@pytest.mark.parametrize(("text", "expected"), [
    ('[service]\ncommand = "serve --port {prot}"\n', "service.command: unknown placeholder {prot}"),
    ('[service]\nurl = "http://192.0.2.10:8080"\n', "service.url: 192.0.2.10 is not a loopback address; "
                                                    "pass --allow-remote"),
    ('[service]\ncommand = "serve"\n[redis]\nupstream = "192.0.2.10:6379"\n',
     "redis.upstream: 192.0.2.10 is not a loopback address"),
    ('[service]\ncommand = "serve"\n[variants.x]\nflags = { a = 1 }\n', "variants.x.flags: applies to the reference"),
])
def test_bad_input_exits_2_with_one_line_before_anything_starts(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + text)
    result = run_harness("run", str(path), "--out", str(tmp_path / "reports"), timeout=60)
    assert result.returncode == 2, result.stderr
    lines = error_lines(result.stderr)
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert not (tmp_path / "reports").exists()  # refused before a run folder was made


def start_failure(tmp_path: Path, service: str) -> tuple[int, list[str], str]:
    path = tmp_path / "bad.toml"
    path.write_text(HEAD + service)
    result = run_harness("run", str(path), "--out", str(tmp_path / "reports"), timeout=120)
    return result.returncode, error_lines(result.stderr), result.stderr


def test_command_not_found_exits_3(tmp_path: Path) -> None:
    code, lines, stderr = start_failure(tmp_path, '[service]\ncommand = "no-such-service-binary --port {port}"\n')
    assert code == 3 and len(lines) == 1, stderr
    assert "service.command: 'no-such-service-binary' not found on PATH" in lines[0]


def test_service_that_exits_during_start_up_shows_its_log_and_leaves_nothing(tmp_path: Path) -> None:
    marker = f"{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000 + 1}"  # a unique `sleep` to look for
    command = f"sleep {marker} & echo cannot read config.yml >&2; exit 4"
    code, lines, stderr = start_failure(tmp_path, f'[service]\ncommand = ["sh", "-c", "{command}"]\n')
    assert code == 3 and len(lines) == 1, stderr
    assert "service exited with code 4 during start-up" in lines[0] and "cannot read config.yml" in lines[0]
    assert not wait_gone(lambda: processes_with(f"sleep {marker}") + processes_with(str(tmp_path)), timeout=10)


def test_service_never_ready_names_url_and_timeout_and_leaves_nothing(tmp_path: Path) -> None:
    marker = f"{uuid.uuid4().int % 1000}.{uuid.uuid4().int % 1000 + 1}"
    command = f"sleep {marker} & exec {PYTHON} -m http.server {{port}} --bind {{host}} --directory {{run_dir}}"
    code, lines, stderr = start_failure(
        tmp_path, f'[service]\ncommand = ["sh", "-c", "{command}"]\nready = "/healthz"\nready_timeout = "2s"\n')
    assert code == 3 and len(lines) == 1, stderr
    assert "service not ready: http://127.0.0.1:" in lines[0] and "/healthz did not answer 2xx or 3xx within 2 s" \
        in lines[0]
    assert not wait_gone(lambda: processes_with(f"sleep {marker}") + processes_with(str(tmp_path)), timeout=10)
