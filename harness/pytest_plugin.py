"""pytest fixtures for tests that need a throwaway Redis, the fault proxy or the auth service, plus helpers
to apply a toxic for a `with` block and to run a short real login load.

Registered through the `pytest11` entry point, so `pip install` makes them available. Every fixture stops
what it started, by PID, and removes what it added to a fault proxy, even when the test fails.
HTTP clients (httpx through harness.stack.fault_client, requests) are imported inside functions only: loaded before
locust in one process they break it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import harness
from harness.errors import BadInput, HarnessError, StackError
from harness.polling import poll_until
from harness.stack import ManagedProcess, RedisServer, ServerProcess, free_port, start_authsvc, start_fault_proxy

FAULT_PROXY_URL_ENV = "HARNESS_FAULT_PROXY_URL"
DEFAULT_LOCUSTFILE = Path(harness.__file__).resolve().parent / "load" / "login_users.py"  # inside the package


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("auth-chaos-harness")
    group.addoption("--fault-proxy-url", default=None, metavar="URL",
                    help=f"Toxiproxy API on this machine for the fault_proxy fixture (else ${FAULT_PROXY_URL_ENV}, "
                         "else an embedded fault proxy per test).")


def fault_proxy_url_setting(config: pytest.Config) -> str | None:
    """The option wins over the environment variable; neither means an embedded proxy per test."""
    return config.getoption("fault_proxy_url") or os.environ.get(FAULT_PROXY_URL_ENV) or None


@dataclass
class FaultProxy:
    """A Toxiproxy-compatible API: `.url`; `.process` is None when it was already running."""

    url: str
    process: ManagedProcess | None = None


@dataclass
class ProxiedRedis:
    """Redis behind a fault proxy: `.url` goes through proxy `.name`, `.direct_url` does not."""

    url: str
    name: str
    direct_url: str
    fault_proxy_url: str


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A throwaway Redis on a free loopback port, persistence off."""
    server = RedisServer(log_dir=tmp_path / "logs").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fault_proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FaultProxy]:
    """The fault proxy: a running one from --fault-proxy-url / $HARNESS_FAULT_PROXY_URL, else the embedded one."""
    url = fault_proxy_url_setting(request.config)
    if url:
        yield FaultProxy(url=url.rstrip("/"))
        return
    server = start_fault_proxy(tmp_path / "logs", seed=1)
    try:
        yield FaultProxy(url=server.url, process=server.process)
    finally:
        server.stop()


@pytest.fixture
def proxied_redis(redis_server: RedisServer, fault_proxy: FaultProxy) -> Iterator[ProxiedRedis]:
    """A `redis` proxy in front of `redis_server` (a unique name on a shared fault proxy); deleted after."""
    from harness.stack.fault_client import FaultProxyClient

    client = FaultProxyClient(fault_proxy.url)
    name = "redis" if fault_proxy.process else f"redis-{uuid.uuid4().hex[:8]}"
    listen = client.create_proxy(name, redis_server.address)
    try:
        yield ProxiedRedis(url=f"redis://{listen}/0", name=name, direct_url=redis_server.url,
                           fault_proxy_url=fault_proxy.url)
    finally:
        with contextlib.suppress(HarnessError):  # deleting the proxy removes its toxics too
            client.delete_proxy(name)


@pytest.fixture
def auth_service(proxied_redis: ProxiedRedis, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: `auth_service(profile="fixed", flags={...})` starts the service behind the proxied Redis."""
    # Imported here, as in the other factories: the scenario models load pydantic, which only a test using
    # this fixture needs.
    from harness.scenario import flag_text

    started = _Started()

    def start(profile: str = "fixed", flags: dict[str, Any] | None = None, users: int = 1000,
              workers: int = 1) -> ServerProcess:
        texts = {k: flag_text(v) for k, v in (flags or {}).items()}
        return started(start_authsvc(proxied_redis.url, tmp_path / "logs", profile=profile, flags=texts,
                                     users=users, workers=workers, name=f"authsvc-{started.count + 1}"))

    with started:
        yield start


@pytest.fixture
def command_service(proxied_redis: ProxiedRedis, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Factory: `command_service(["node", "server.js", "--port", "{port}"], env={"REDIS_URL": "{redis_url}"})`
    starts your own service behind the proxied Redis, waits for its ready path, returns it (`.url`).

    The placeholders are a scenario's: {port} {host} {redis_url} {redis_host} {redis_port} {variant}
    ("pytest") {run_dir} (the test's tmp_path). Its output is in tmp_path/logs/service-N.out|.err; its whole
    process group is stopped after the test.
    """
    from pydantic import ValidationError

    from harness.scenario.service import ServiceFields
    from harness.stack.service import Placeholders, ServiceCommand, start_command_service

    started = _Started()
    redis_host, _, redis_port = proxied_redis.url.removeprefix("redis://").rsplit("/", 1)[0].rpartition(":")

    def start(command: list[str] | str, env: dict[str, str] | None = None, cwd: str | Path | None = None,
              ready: str = "/", ready_timeout: float = 30.0) -> ServerProcess:
        try:
            fields = ServiceFields(command=command, env=env or {}, cwd=None if cwd is None else str(cwd),
                                   ready=ready, ready_timeout=ready_timeout)
        except ValidationError as exc:  # the same checks as a scenario's [service]
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            raise BadInput(f"command_service: {where}: {str(first['msg']).removeprefix('Value error, ')}") from None
        values = Placeholders(port=free_port(), host="127.0.0.1", redis_host=redis_host, redis_port=int(redis_port),
                              variant="pytest", run_dir=tmp_path)
        spec = ServiceCommand(command=list(fields.command or []), base_dir=Path.cwd(), cwd=fields.cwd,
                              env={k: v for k, v in fields.env.items() if v is not None}, ready=ready,
                              ready_timeout_s=ready_timeout)
        process, url = start_command_service(spec, values, tmp_path / "logs", name=f"service-{started.count + 1}")
        return started(ServerProcess(process=process, url=url, host=values.host, port=values.port))

    with started:
        yield start


class _Started:
    """The servers a factory fixture started, each stopped when the fixture ends (by PID, even if a test failed)."""

    def __init__(self) -> None:
        self.servers: list[ServerProcess] = []

    @property
    def count(self) -> int:
        return len(self.servers)

    def __call__(self, server: ServerProcess) -> ServerProcess:
        self.servers.append(server)
        return server

    def __enter__(self) -> _Started:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for server in self.servers:
            server.stop()


@contextlib.contextmanager
def toxic(fault_proxy: FaultProxy | str, proxy: ProxiedRedis | str, type: str,
          attributes: dict[str, Any] | None = None, stream: str = "downstream", toxicity: float = 1.0,
          name: str | None = None) -> Iterator[str]:
    """Apply a toxic for the span of a `with` block (yields its name); it is removed however the block ends."""
    from harness.stack.fault_client import FaultProxyClient

    client = FaultProxyClient(fault_proxy if isinstance(fault_proxy, str) else fault_proxy.url)
    proxy_name = proxy if isinstance(proxy, str) else proxy.name
    toxic_name = name or f"{type}_{stream}_{uuid.uuid4().hex[:6]}"
    client.add_toxic(proxy_name, toxic_name, type, stream, toxicity, dict(attributes or {}))
    try:
        yield toxic_name
    finally:
        with contextlib.suppress(HarnessError):  # already gone with its proxy: nothing left to remove
            client.remove_toxic(proxy_name, toxic_name)


@dataclass(frozen=True)
class LoadResult:
    """Login flows of a short load: counts, success rate with its Wilson interval, failures by error_kind."""

    flows: int
    successes: int
    rate: float | None
    ci_low: float
    ci_high: float
    confidence: float
    latency_p50_ms: float | None
    error_kinds: dict[str, int] = field(default_factory=dict)
    records_dir: Path | None = None


def run_login_load(service_url: str, users: int = 10, duration_s: float = 10.0, spawn_rate: float | None = None,
                   user_class: str = "WebUser", wait: tuple[float, float] = (0.0, 0.1),
                   locustfile: Path | None = None, out_dir: Path | None = None, confidence: float = 0.95,
                   flow: str = "login", seed: int = 1, users_in_service: int = 1000) -> LoadResult:
    """Run real Locust (headless, its own process) against `service_url`; return the `flow` success rate."""
    locustfile = locustfile or DEFAULT_LOCUSTFILE
    if not locustfile.is_file():
        raise BadInput(f"run_login_load: no Locust file at {locustfile}; pass locustfile=")
    return _load_to_end(out_dir, flow, confidence, locustfile=locustfile, host=service_url, edge_host=service_url,
                        users=users, spawn_rate=spawn_rate or users, duration_s=duration_s,
                        classes={user_class: {"weight": 1, "wait": list(wait)}}, seed=seed,
                        users_in_service=users_in_service)


def run_flows_load(service_url: str, flows: list[dict[str, Any]], *, credentials: dict[str, Any] | None = None,
                   setup: list[dict[str, Any]] | None = None, error_kinds: list[dict[str, Any]] | None = None,
                   users: int = 10, duration_s: float = 10.0, spawn_rate: float | None = None,
                   edge_url: str | None = None, out_dir: Path | None = None, confidence: float = 0.95,
                   flow: str | None = None, seed: int = 1, users_in_service: int = 1000) -> LoadResult:
    """Run declarative flows (the tables of `[[load.flows]]`, `[load.credentials]`, `[load.setup]` steps and
    `[[load.error_kinds]]`, as dicts) with real Locust against `service_url`; return the success rate of
    `flow` (default the first flow). `via_edge` flows go to `edge_url`. A bad table raises BadInput, one line.
    """
    from harness.scenario import DECLARATIVE_LOCUSTFILE, parse_scenario
    from harness.scenario.flows import DECLARATIVE_USER

    table: dict[str, Any] = {"flows": flows, "error_kinds": error_kinds or []}
    if credentials is not None:
        table["credentials"] = credentials
    if setup is not None:
        table["setup"] = {"steps": setup}
    first = flows[0].get("name") if flows and isinstance(flows[0], dict) else None
    target = {"metric": flow or first or "login"}
    load = parse_scenario({"load": table, "target": target}, "run_flows_load").load
    if load.credentials is not None:
        try:
            load = load.model_copy(update={"credentials": load.credentials.resolved(Path.cwd())})
        except ValueError as exc:
            raise BadInput(f"run_flows_load: credentials.file: {exc}") from None
    return _load_to_end(out_dir, flow or load.flows[0].name, confidence, locustfile=DECLARATIVE_LOCUSTFILE,
                        host=service_url, edge_host=edge_url or service_url, users=users,
                        spawn_rate=spawn_rate or users, duration_s=duration_s,
                        classes={DECLARATIVE_USER: {"weight": 1}}, seed=seed, users_in_service=users_in_service,
                        flows=load.flows_spec())


def _load_to_end(out_dir: Path | None, flow: str, confidence: float, **plan_fields: Any) -> LoadResult:
    """Run Locust with these LoadPlan fields, its files in `out_dir` (a new temporary folder by default),
    until it ends by itself; stop it by PID whatever happens; the `flow`'s result."""
    from harness.load.runner import STOP_TIMEOUT_S, LoadPlan, LocustRun

    out = out_dir or Path(tempfile.mkdtemp(prefix="harness-load-"))
    plan = LoadPlan(variant="pytest", records_dir=out / "requests", started_file=out / "started.json",
                    csv_prefix=out / "locust" / "run", log_dir=out / "logs", client_flags={}, options={},
                    **plan_fields)
    run = LocustRun(plan).start()
    try:
        run.wait_started()
        if not poll_until(lambda: not run.alive(), plan.duration_s + STOP_TIMEOUT_S + 30, 0.2):
            raise StackError(f"Locust did not stop after {plan.duration_s:.0f} s: {run.main.log_tail()}")
    finally:
        run.stop()
    return load_result(out / "requests", flow, confidence)


def load_result(records_dir: Path, flow: str, confidence: float) -> LoadResult:
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from harness.analysis.stats import rate_from_counts
    from harness.records import ERROR_KIND, KIND, KIND_FLOW, LATENCY_MS, NAME, SUCCESS

    parts = sorted(records_dir.glob("*.parquet"))
    if not parts:
        raise StackError(f"the load wrote no records to {records_dir}")
    table = pq.ParquetDataset([str(p) for p in parts]).read(columns=[KIND, NAME, SUCCESS, LATENCY_MS, ERROR_KIND])
    flows = table.filter(pc.and_(pc.equal(table[KIND], KIND_FLOW), pc.equal(table[NAME], flow)))
    successes = int(pc.sum(flows[SUCCESS]).as_py() or 0)
    estimate = rate_from_counts(successes, flows.num_rows, confidence)
    failed = flows.filter(pc.invert(flows[SUCCESS]))[ERROR_KIND].to_pylist()
    p50 = pc.approximate_median(flows[LATENCY_MS]).as_py() if flows.num_rows else None
    return LoadResult(flows=flows.num_rows, successes=successes, rate=estimate.rate, ci_low=estimate.ci_low,
                      ci_high=estimate.ci_high, confidence=confidence, latency_p50_ms=p50,
                      error_kinds={kind: failed.count(kind) for kind in sorted(set(failed))}, records_dir=records_dir)
