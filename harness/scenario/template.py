"""`harness init`: a starter scenario for your own service, every section present and commented, that
`harness run` accepts as it is once the login path (and the service's Redis setting) are right."""

from __future__ import annotations

import json
from pathlib import Path

from harness.errors import BadInput, ScenarioError
from harness.files import atomic_path

_SERVICE_COMMAND = """\
[service]
# Started fresh for each variant, after Redis and the fault proxy; stopped with its whole process group.
# Placeholders: {{port}} {{host}} {{redis_url}} {{redis_host}} {{redis_port}} {{variant}} {{run_dir}}.
command = {command}
# cwd = "."                                   # relative to this file (the default)
env = {{ REDIS_URL = "{{redis_url}}" }}           # how your service takes its Redis address: through the fault proxy
ready = "/"                                   # polled until it answers 2xx or 3xx
ready_timeout = "30s"
# url = "http://127.0.0.1:8080"               # instead of command: a service already running
"""

_SERVICE_URL = """\
[service]
# Already running: the harness starts nothing for it. Point its Redis at [redis] listen below.
url = {url}
ready = "/"                                   # polled until it answers 2xx or 3xx
ready_timeout = "30s"
# command = "node server.js --port {{port}}"  # instead of url: the harness starts it for each variant
"""

_SERVICE_REFERENCE = """\
[service]
# Nothing here: the harness's reference auth service is under test. For yours, give one of:
# command = "node server.js --port {{port}}"  # started per variant; env = {{ REDIS_URL = "{{redis_url}}" }}
# url = "http://127.0.0.1:8080"               # already running
"""

_REDIS_LISTEN = """\
[redis]
listen = "127.0.0.1:26379"                    # the fault proxy's `redis` proxy listens here: your service's Redis
# upstream = "127.0.0.1:6379"                 # an existing Redis behind it, instead of a throwaway one
"""

_REDIS_DEFAULT = """\
# [redis]
# upstream = "127.0.0.1:6379"                 # an existing Redis behind the `redis` proxy (default: throwaway)
# listen = "127.0.0.1:26379"                  # where the `redis` proxy listens (default: a free port)
"""

_REST = """\
[load]
users = 20
spawn_rate = 10
duration = "60s"
seed = 1

[load.credentials]
# file = "users.csv"                          # columns username,password; relative to this file
username = "user{{n}}"
password = "pass-user{{n}}"
count = 100

# [load.setup]                                # once per simulated user, before its first flow (sign-up)
# [[load.setup.steps]]
# method = "POST"
# path = "/signup"
# json = {{ username = "{{username}}", password = "{{password}}" }}
# expect_status = [200, 201, 409]

[[load.flows]]
name = "login"                                # the flow [target] judges
weight = 1
via_edge = true                               # mobile users: through the edge proxy and its network profile
wait = [0.2, 0.6]

[[load.flows.steps]]
method = "POST"
path = "/login"                               # <- your login path
json = {{ username = "{{username}}", password = "{{password}}" }}
# capture = {{ session = "json:session_id" }}    # or "header:Authorization", "cookie:sid"

# Use the new session at once, as an app does after login (cookies persist per user by themselves):
# [[load.flows.steps]]
# path = "/me"
# headers = {{ X-Session-ID = "{{session}}" }}

# [[load.error_kinds]]                        # name a failure: first match wins; else the status decides
# kind = "session_not_found"
# status = 401
# body = "Session expired"

[load.mobile_network]                         # what the edge proxy adds for mobile users, each way
latency_ms = 40
jitter_ms = 15

[[faults]]                                    # Redis latency from 5 s on, to the end
proxy = "redis"
at = "5s"
type = "latency"
stream = "upstream"
attributes = {{ latency = 60, jitter = 50 }}

[variants.service]
expect = "pass"
description = "your service as it is"
# Before and after a fix, as two variants ([variants.NAME.service] is merged over [service]):
# [variants.before]
# expect = "fail"
# [variants.after]
# expect = "pass"
# service = {{ env = {{ FIX_ENABLED = "1" }} }}       # or command / cwd / url of another build

[target]
metric = "login"
minimum = 0.99
confidence = 0.95
"""


def starter_scenario(name: str, command: str | None = None, url: str | None = None) -> str:
    """The text of a starter scenario: for `command`, for `url`, or (neither) for the reference service."""
    if command is not None and url is not None:
        raise BadInput("--command and --url: give one (the harness starts the command, or tests what runs at url)")
    if url is not None and not url.startswith(("http://", "https://")):
        raise BadInput(f"--url: must be an http:// or https:// URL, got {url!r}")
    head = (f"# Starter scenario written by `harness init`: fill in the login path, then `harness run {name}.toml`.\n"
            f"# Every section is here; the commented lines are optional.\n\n"
            f'[scenario]\nname = "{name}"\ndescription = "login under Redis latency"\n\n')
    # json.dumps writes a valid TOML basic string (quotes and backslashes escaped).
    if command is not None:
        service, redis = _SERVICE_COMMAND.format(command=json.dumps(command)), _REDIS_DEFAULT
    elif url is not None:
        service, redis = _SERVICE_URL.format(url=json.dumps(url)), _REDIS_LISTEN
    else:
        service, redis = _SERVICE_REFERENCE.format(), _REDIS_DEFAULT
    return head + service + "\n" + redis + "\n" + _REST.format()


def write_starter(path: Path, command: str | None, url: str | None, force: bool = False) -> list[str]:
    """Write the starter scenario (checked as `harness run` will read it); the lines to tell the user."""
    from harness.scenario.model import load_scenario

    if path.exists() and not force:
        raise BadInput(f"{path}: already exists; pass --force to overwrite it")
    text = starter_scenario(path.stem, command, url)
    try:
        with atomic_path(path) as partial:  # checked as written; a file that does not load replaces nothing
            partial.write_text(text)
            load_scenario(partial)
    except ScenarioError as exc:
        raise BadInput(str(exc).replace(str(partial), "--command" if command else str(path))) from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot write: {exc.strerror}") from None
    lines = [f"wrote {path}: set the login path in [[load.flows.steps]], then: harness run {path}"]
    if command is not None and "{port}" not in command:
        lines.append("note: the command has no {port}; your service must listen on the port the harness picks")
    return lines
