"""Bad `[[load.flows]]`, `[load.credentials]`, `[load.setup]` and `[[load.error_kinds]]` tables: exit 2 and one line
naming the file and the field, checked before anything starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import DECLARATIVE_LOCUSTFILE, load_scenario, locustfile_path
from harness.scenario.flows import json_path, template_names, weighted_order

FLOW = """
[[load.flows]]
name = "login"
[[load.flows.steps]]
method = "POST"
path = "/login"
json = { username = "{username}", password = "{password}" }
capture = { session = "json:session_id" }
[[load.flows.steps]]
path = "/me"
headers = { X-Session-ID = "{session}" }
"""

STEP = '[[load.flows]]\nname = "x"\n[[load.flows.steps]]\n'

CASES = {
    "unknown step field": (STEP + 'path = "/a"\nmethd = "GET"\n',
                           "load.flows[0].steps[0].methd: unknown field, allowed: method, path, name, headers, json"),
    "unknown method": (STEP + 'path = "/a"\nmethod = "FETCH"\n', "load.flows[0].steps[0].method: must be one of GET"),
    "relative path": (STEP + 'path = "a"\n', 'load.flows[0].steps[0].path: must start with "/"'),
    "missing path": (STEP + 'method = "GET"\n', "load.flows[0].steps[0].path: is required"),
    "bad capture": (STEP + 'path = "/a"\ncapture = { s = "body:x" }\n',
                    'load.flows[0].steps[0].capture: must be "json:<path>", "header:<Name>" or "cookie:<name>"'),
    "capture name not a name": (STEP + 'path = "/a"\ncapture = { "a-b" = "json:x" }\n',
                                "load.flows[0].steps[0].capture: capture name 'a-b' must be a name"),
    "two bodies": (STEP + 'path = "/a"\njson = { a = 1 }\nbody = "x"\n',
                   "load.flows[0].steps[0]: give at most one of json, form or body, got json and body"),
    "bad expected status": (STEP + 'path = "/a"\nexpect_status = 700\n',
                            "load.flows[0].steps[0].expect_status: must be HTTP statuses between 100 and 599"),
    "unknown template name": (STEP + 'path = "/a"\nheaders = { X-Session-ID = "{sesion}" }\n',
                              "load.flows[0].steps[0].headers: {sesion} is neither a credential nor captured by an "
                              "earlier step; known here: password, username"),
    "name captured only later": (STEP + 'path = "/a/{later}"\n[[load.flows.steps]]\npath = "/b"\n'
                                 'capture = { later = "json:id" }\n',
                                 "load.flows[0].steps[0].path: {later} is neither"),
    "unknown name in setup": ('[[load.setup.steps]]\npath = "/signup"\njson = { who = "{nobody}" }\n' + FLOW,
                              "load.setup.steps[0].json: {nobody} is neither"),
    "flow named like the setup rows": ('[[load.setup.steps]]\npath = "/signup"\n' + FLOW.replace('"login"', '"setup"'),
                                       "load.flows[0].name: 'setup' names the [load.setup] rows"),
    "flow without name": ('[[load.flows]]\n[[load.flows.steps]]\npath = "/a"\n', "load.flows[0].name: is required"),
    "flow without steps": ('[[load.flows]]\nname = "x"\n', "load.flows[0].steps: is required"),
    "zero weight": (STEP.replace('name = "x"', 'name = "x"\nweight = 0') + 'path = "/a"\n',
                    "load.flows[0].weight: must be greater than or equal to 1"),
    "reversed wait": (STEP.replace('name = "x"', 'name = "x"\nwait = [2, 1]') + 'path = "/a"\n',
                      "load.flows[0].wait: must be [min, max] seconds"),
    "infinite wait": (STEP.replace('name = "x"', 'name = "x"\nwait = [0, inf]') + 'path = "/a"\n',
                      "load.flows[0].wait[1]: Input should be a finite number"),
    "NaN wait": (STEP.replace('name = "x"', 'name = "x"\nwait = [nan, nan]') + 'path = "/a"\n',
                 "load.flows[0].wait[0]: Input should be a finite number"),
    "NaN single wait": (STEP.replace('name = "x"', 'name = "x"\nwait = nan') + 'path = "/a"\n',
                        "load.flows[0].wait[0]: Input should be a finite number"),
    "wait longer than a week": (STEP.replace('name = "x"', 'name = "x"\nwait = [0, 1e9]') + 'path = "/a"\n',
                                "load.flows[0].wait: must be [min, max] seconds with 0 <= min <= max <= 604800, "
                                "got [0.0, 1000000000.0]"),
    "same flow twice": (FLOW + FLOW, "load.flows: flow name 'login' is used twice"),
    "credentials file and pattern": ('[load.credentials]\nfile = "u.csv"\nusername = "u{n}"\n' + FLOW,
                                     "load.credentials: give either file or username/password/count"),
    "credentials pattern without count": ('[load.credentials]\nusername = "u{n}"\npassword = "p{n}"\n' + FLOW,
                                          'load.credentials: give file = "users.csv", or username, password and count'),
    "credentials pattern unknown placeholder": ('[load.credentials]\nusername = "u{i}"\npassword = "p"\ncount = 2\n'
                                                + FLOW, "load.credentials: {i} is not a placeholder"),
    "credentials file missing": ('[load.credentials]\nfile = "nobody.csv"\n' + FLOW,
                                 "load.credentials.file: no such file"),
    "credentials file without header": ('[load.credentials]\nfile = "noheader.csv"\n' + FLOW,
                                        "load.credentials.file: ", "needs a header row with columns username,password"),
    "unknown error kind": (FLOW + '[[load.error_kinds]]\nkind = "expired"\nstatus = 401\n',
                           "load.error_kinds[0].kind: must be 'session_not_found', 'invalid_token'"),
    "bad regular expression": (FLOW + '[[load.error_kinds]]\nkind = "other"\nbody = "(unclosed"\n',
                               "load.error_kinds[0].body: not a regular expression"),
    "rule that matches nothing": (FLOW + '[[load.error_kinds]]\nkind = "other"\n',
                                  "load.error_kinds[0]: give status, body or both"),
    "classes beside declarative flows": ('[load.classes.WebUser]\nweight = 1\n' + FLOW,
                                         "load.classes: declarative flows run as FlowUser"),
    "target flow missing": (FLOW.replace('name = "login"', 'name = "signin"'),
                            "target.metric: 'login' names no flow; the flows are signin"),
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    (tmp_path / "noheader.csv").write_text("user1,pass-user1\n")
    return path


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_flows_table_is_rejected_with_file_and_field(tmp_path: Path, case: str) -> None:
    text, *expected = CASES[case]
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for part in expected:
        assert part in message
    assert "\n" not in message


def test_cli_bad_flows_table_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, CASES["unknown template name"][0])
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--out", str(tmp_path / "reports")],
                            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "load.flows[0].steps[0].headers: {sesion}" in lines[0], result.stderr
    assert not (tmp_path / "reports").exists()


def test_declarative_scenario_uses_the_packaged_locustfile_and_resolves_credentials(tmp_path: Path) -> None:
    (tmp_path / "users.csv").write_text("username,password\nann,secret\n")
    path = write(tmp_path, '[load.credentials]\nfile = "users.csv"\n' + FLOW)
    scenario = load_scenario(path)
    assert locustfile_path(path, scenario) == DECLARATIVE_LOCUSTFILE and DECLARATIVE_LOCUSTFILE.is_file()
    assert list(scenario.load.classes) == ["FlowUser"]
    assert scenario.load.credentials.file == str((tmp_path / "users.csv").resolve())
    spec = scenario.load.flows_spec()
    assert spec["flows"][0]["steps"][0]["json"] == {"username": "{username}", "password": "{password}"}


def test_a_scenario_without_flows_keeps_its_locustfile(tmp_path: Path) -> None:
    path = write(tmp_path, '[load]\nusers = 3\n')
    (tmp_path / "login_users.py").write_text("")
    scenario = load_scenario(path)
    assert locustfile_path(path, scenario) == (tmp_path / "login_users.py").resolve()
    assert scenario.load.flows_spec() is None


def test_weights_interleave_users_across_flows() -> None:
    order = weighted_order([3, 1])
    assert sorted(order) == [0, 0, 0, 1] and order[0] == 0
    assert weighted_order([1, 1, 1]) == (0, 1, 2)


@pytest.mark.parametrize(("spec", "parts"), [
    ("session_id", ("session_id",)), ("data.tokens[0].value", ("data", "tokens", 0, "value")),
    ("data.tokens.0.value", ("data", "tokens", 0, "value")), ("$.a.b", ("a", "b")), ("[1].id", (1, "id")),
])
def test_json_capture_paths_accept_dots_and_indexes(spec: str, parts: tuple) -> None:
    assert json_path(spec) == parts


def test_template_names_are_found_in_nested_json_and_raw_braces_are_left_alone() -> None:
    assert template_names({"user": {"name": "{username}"}, "ids": ["{a}", 3], "{k}": "x"}) == ["username", "a", "k"]
    assert template_names('{"raw": "json", "n": 1}') == []
