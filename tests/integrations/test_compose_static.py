"""docker-compose.yml and the Dockerfile, checked statically: no Docker engine runs on the build machines."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from harness.cli import cli

ROOT = Path(__file__).resolve().parents[2]
HARNESS_IMAGE_SERVICES = ("authsvc", "master", "worker", "run")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def command_flags(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts) if opt.startswith("-")}


def flag_values(args: list[str]) -> dict[str, str]:
    """--flag value pairs of an argument list (flags without a value map to "")."""
    values = {}
    for i, arg in enumerate(args):
        if arg.startswith("-"):
            following = args[i + 1] if i + 1 < len(args) else ""
            values[arg] = "" if following.startswith("-") else following
    return values


def toxiproxy_config(services: dict[str, Any]) -> list[dict[str, Any]]:
    command = services["toxiproxy"]["command"]
    container_path = next(a.split("=", 1)[1] for a in command if a.startswith("-config="))
    host_path = next(v.split(":")[0] for v in services["toxiproxy"]["volumes"] if v.split(":")[1] == container_path)
    return json.loads((ROOT / host_path).read_text())


def proxy_port(config: list[dict[str, Any]], name: str) -> str:
    return next(p["listen"].rpartition(":")[2] for p in config if p["name"] == name)


def published(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(host address, host port, container port) of each published port."""
    return [tuple(str(p).split(":")) for p in service.get("ports", [])]  # type: ignore[misc]


def test_every_service_named_or_depended_on_exists(services: dict[str, Any]) -> None:
    assert {"redis", "toxiproxy", "authsvc", "master", "worker", "run"} <= set(services)
    for name, service in services.items():
        depends = service.get("depends_on", [])
        for dependency in depends if isinstance(depends, list) else depends.keys():
            assert dependency in services, f"{name} depends on unknown service {dependency}"


def test_images_are_the_official_ones_and_the_harness_image_is_built_here(services: dict[str, Any]) -> None:
    assert services["redis"]["image"].startswith("redis:")
    assert services["toxiproxy"]["image"].startswith("ghcr.io/shopify/toxiproxy:")
    images = {services[name]["image"] for name in HARNESS_IMAGE_SERVICES}
    assert len(images) == 1
    assert all(services[name]["build"] == "." for name in HARNESS_IMAGE_SERVICES)


def test_published_ports_are_loopback_only_and_match_the_servers(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for host, _, _ in published(service):
            assert host == "127.0.0.1", f"{name} publishes on {host}"
    assert ("127.0.0.1", "8474", "8474") in published(services["toxiproxy"])
    assert "-port=8474" in services["toxiproxy"]["command"]
    assert ("127.0.0.1", "8089", "8089") in published(services["master"])
    assert flag_values(services["master"]["command"])["--web-port"] == "8089"
    authsvc_port = flag_values(services["authsvc"]["command"])["--port"]
    assert ("127.0.0.1", authsvc_port, authsvc_port) in published(services["authsvc"])


def test_toxiproxy_starts_with_the_proxies_the_scenarios_name(services: dict[str, Any]) -> None:
    config = {p["name"]: p for p in toxiproxy_config(services)}
    assert set(config) >= {"redis", "edge"}
    assert config["redis"]["upstream"] == "redis:6379"
    authsvc_port = flag_values(services["authsvc"]["command"])["--port"]
    assert config["edge"]["upstream"] == f"authsvc:{authsvc_port}"
    assert all(p["listen"].startswith("0.0.0.0:") for p in config.values())  # reachable from other containers
    scenario_proxies = set(re.findall(r'proxy = "(\w+)"', "".join(
        p.read_text() for p in (ROOT / "scenarios").glob("*.toml"))))
    assert scenario_proxies <= set(config)


def test_authsvc_command_uses_real_flags_and_reaches_redis_through_the_proxy(services: dict[str, Any]) -> None:
    command = services["authsvc"]["command"]
    assert command[0] == "authsvc"
    values = flag_values(command[1:])
    assert set(values) <= command_flags(cli.commands["authsvc"])
    port = proxy_port(toxiproxy_config(services), "redis")
    assert values["--redis-url"] == f"redis://toxiproxy:{port}/0"
    assert values["--host"] == "0.0.0.0"
    profile = re.fullmatch(r"\$\{PROFILE:-(\w+)\}", values["--profile"])
    profiles = next(p for p in cli.commands["authsvc"].params if p.name == "profile").type.choices  # type: ignore
    assert profile and profile.group(1) in profiles


def test_locust_master_and_workers_run_the_login_locustfile(services: dict[str, Any]) -> None:
    master, worker = services["master"], services["worker"]
    for service in (master, worker):
        assert service["entrypoint"] == ["locust"]
        locustfile = flag_values(service["command"])["-f"]
        assert (ROOT / locustfile).is_file()
    assert "--master" in master["command"]
    assert "--worker" in worker["command"] and flag_values(worker["command"])["--master-host"] == "master"
    # `--scale worker=N` needs a worker without a fixed name or published port.
    assert "container_name" not in worker and "ports" not in worker
    edge = f"http://toxiproxy:{proxy_port(toxiproxy_config(services), 'edge')}"
    assert flag_values(master["command"])["--edge-host"] == edge == flag_values(worker["command"])["--edge-host"]
    authsvc_port = flag_values(services["authsvc"]["command"])["--port"]
    assert flag_values(master["command"])["--host"] == f"http://authsvc:{authsvc_port}"


def test_run_service_is_a_real_harness_run_writing_to_a_mounted_folder(services: dict[str, Any]) -> None:
    run = services["run"]
    assert run["profiles"] == ["run"]
    command = run["command"]
    assert command[0] == "run" and (ROOT / command[1]).is_file()
    values = flag_values(command[2:])
    assert set(values) <= command_flags(cli.commands["run"])
    assert values["--fault-proxy"] == "http://toxiproxy:8474" and "--allow-remote" in values
    mounts = {v.split(":")[1]: v.split(":")[0] for v in run["volumes"]}
    assert values["--out"] in mounts


def dockerfile_instructions() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            found.setdefault(keyword.upper(), []).append(rest.strip())
    return found


def test_dockerfile_builds_the_harness_image() -> None:
    instructions = dockerfile_instructions()
    assert instructions["FROM"] == ["python:3.11-slim"]
    assert any(re.search(r"pip install (--\S+ )*\.$", run) for run in instructions["RUN"])
    assert json.loads(instructions["ENTRYPOINT"][-1]) == ["harness"]
    copied = [c.split()[0] for c in instructions["COPY"]]
    assert {"harness", "scenarios", "pyproject.toml"} <= set(copied)


def documented_docker_commands() -> list[list[str]]:
    """The `docker ...` lines of the README and docs/ (docs/scale-out.md holds the compose commands)."""
    text = "\n".join(page.read_text() for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
    # Fences pair line by line, so a ```toml block elsewhere cannot shift which text counts as shell.
    blocks = [body for lang, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.S | re.M)
              if lang in ("", "sh", "bash", "console")]
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [shlex.split(line) for line in lines if line.startswith("docker ")]


def compose_services_named(args: list[str]) -> tuple[list[str], list[str], list[str]]:
    """(profiles, services, scaled services) a `docker compose ...` command names."""
    profiles, named, scaled = [], [], []
    i = 0
    while i < len(args) and args[i].startswith("-"):  # global options
        if args[i] == "--profile":
            profiles.append(args[i + 1])
        i += 2 if args[i] in ("--profile", "-f", "-p") else 1
    sub, rest = args[i], args[i + 1:]
    positional = []
    j = 0
    while j < len(rest):
        if rest[j] == "--scale":
            scaled.append(rest[j + 1].split("=")[0])
            j += 2
            continue
        if not rest[j].startswith("-"):
            positional.append(rest[j])
            if sub in ("run", "exec"):  # the rest is the command run in the service
                break
        j += 1
    named = positional if sub in ("up", "run", "exec", "logs", "stop", "build", "down") else []
    return profiles, named, scaled


def test_documented_docker_commands_match_the_compose_file_and_the_dockerfile(compose: dict[str, Any]) -> None:
    commands = documented_docker_commands()
    if not commands:
        pytest.skip("README.md and docs/ document no docker commands yet")
    services = compose["services"]
    image = services["run"]["image"]
    all_profiles = {p for s in services.values() for p in s.get("profiles", [])}
    for command in commands:
        if command[1] == "compose":
            profiles, named, scaled = compose_services_named(command[2:])
            assert set(profiles) <= all_profiles, command
            assert set(named) | set(scaled) <= set(services), command
        elif command[1] == "build":
            assert command[command.index("-t") + 1] == image, command
        elif command[1] == "run":
            after_image = command[command.index(image) + 1:]
            assert after_image and after_image[0] in cli.commands, command  # ENTRYPOINT is `harness`
    assert any(c[1] == "compose" and "--scale" in c for c in commands)


def test_run_url_runs_a_scenario_against_the_running_service_through_toxiproxy(services: dict[str, Any]) -> None:
    from harness.scenario import load_scenario

    run = services["run-url"]
    assert run["profiles"] == ["run"]
    command = run["command"]
    values = flag_values(command[2:])
    assert command[0] == "run" and set(values) <= command_flags(cli.commands["run"])
    assert values["--fault-proxy"] == "http://toxiproxy:8474" and "--allow-remote" in values
    mounts = {v.split(":")[1]: v.split(":")[0] for v in run["volumes"]}
    assert values["--out"] in mounts
    assert mounts[f"/app/{command[1]}"] == f"./{command[1]}"  # the scenario, as the image's WORKDIR sees it
    scenario = load_scenario(ROOT / command[1])  # valid as it is, its locustfile found
    service = scenario.service
    assert service.url is not None and service.command is None
    host, port = service.url.removeprefix("http://").split(":")
    assert host in services and host in run["depends_on"]
    assert flag_values(services[host]["command"])["--port"] == port
    # The service reaches Redis through the Toxiproxy `redis` listener, and the run points that proxy at the
    # service's own Redis: the faults land between the two.
    config = toxiproxy_config(services)
    assert flag_values(services[host]["command"])["--redis-url"] == f"redis://toxiproxy:{proxy_port(config, 'redis')}/0"
    upstream = next(p["upstream"] for p in config if p["name"] == "redis")
    assert scenario.redis.upstream == upstream and upstream.split(":")[0] in services
