"""A Sentinel-managed Redis for failover experiments: a primary, its replicas and three Sentinels.

Every node is a real redis-server on a free loopback port. Clients reach each data node through a
fault-proxy proxy of its own (`redis` for the first primary, `redis-replica-N` for replica N), and every
node announces that proxy's address, so Sentinel hands clients proxied addresses before and after a
promotion. Replica N replicates from the primary through `replication-N`, so a toxic there makes
replication lag. The process faults (`failover`, `pause`) act on whichever node is the primary now.
"""

from __future__ import annotations

import signal
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import redis

from harness.errors import HarnessError, StackError
from harness.polling import poll_until
from harness.stack.procs import ManagedProcess, free_port
from harness.stack.redis import find_redis_server

MASTER_NAME = "harness-primary"
SENTINEL_COUNT = 3
QUORUM = 2
PROCESS_FAULTS = ("failover", "pause")
PIDS_FILE = "redis-pids.txt"   # every PID the topology started, restarts included (for people and tests)
_CALL_TIMEOUT_S = 10.0
_START_ATTEMPTS = 5

# Builds a proxy (name, upstream) in the fault proxy; returns the address clients reach it at.
ProxyMaker = Callable[[str, str], str]
_NodeT = TypeVar("_NodeT", bound="_Node")


@dataclass(frozen=True)
class SentinelSettings:
    """How many replicas, and how quickly Sentinel judges a primary dead (`down-after-milliseconds`)."""

    replicas: int = 1
    down_after_ms: int = 1000
    # Sentinel's own default. It is also how long Sentinel leaves a replica replicating from an address other
    # than the primary's before it "fixes" it: the replication-N proxies shape replication only that long.
    failover_timeout_ms: int = 180_000


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host, int(port)


def _client(address: str, timeout_s: float = 0.5) -> redis.Redis:
    host, port = _split(address)
    return redis.Redis(host=host, port=port, socket_timeout=timeout_s, socket_connect_timeout=timeout_s,
                       decode_responses=True)


def _answers(address: str) -> bool:
    client = _client(address)
    try:
        return bool(client.ping())
    finally:
        client.close()


@dataclass
class _Node:
    """A redis-server process of the topology (data node or Sentinel) on a loopback port."""

    name: str
    host: str
    port: int
    work_dir: Path
    log_dir: Path
    die_with_parent: bool = True
    process: ManagedProcess | None = field(default=None, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def _launch(self, command: list[str], **options: Any) -> None:
        """Start the process and wait until it answers PING; a node that never answers is stopped."""
        self.process = ManagedProcess(self.name, command, self.log_dir, die_with_parent=self.die_with_parent,
                                      **options).start()
        try:
            self.process.wait_ready(lambda: _answers(self.address), timeout=_CALL_TIMEOUT_S)
        except BaseException:
            self.process.stop()
            raise

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@dataclass
class RedisNode(_Node):
    """One data node: where it listens, the proxied address it announces, and its process."""

    announce: str = field(kw_only=True)   # the proxied HOST:PORT Sentinel and clients are told

    def start(self, replicaof: str | None = None) -> RedisNode:
        announce_host, announce_port = _split(self.announce)
        command = [
            find_redis_server(), "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no",
            "--dir", str(self.work_dir), "--daemonize", "no", "--protected-mode", "no", "--maxclients", "10000",
            # Sentinel learns replicas from the primary's INFO: they must show up at their proxies' addresses.
            "--replica-announce-ip", announce_host, "--replica-announce-port", str(announce_port),
            # A full resync straight over the socket, at once: no RDB file, no 5 s wait for more replicas.
            "--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0",
        ]
        if replicaof is not None:
            command += ["--replicaof", *map(str, _split(replicaof))]
        self._launch(command, death_signal=signal.SIGKILL)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.signal(signal.SIGCONT)  # a paused node cannot act on SIGTERM
        super().stop()

    def role(self) -> str:
        client = _client(self.address)
        try:
            return str(client.info("replication").get("role", ""))
        finally:
            client.close()


@dataclass
class SentinelNode(_Node):
    def start(self, primary_announce: str, settings: SentinelSettings) -> SentinelNode:
        host, port = _split(primary_announce)
        config = self.work_dir / f"{self.name}.conf"   # Sentinel rewrites its config file: one each
        config.write_text("\n".join([
            f"port {self.port}", f"bind {self.host}", "daemonize no", "protected-mode no", f"dir {self.work_dir}",
            f"sentinel monitor {MASTER_NAME} {host} {port} {QUORUM}",
            f"sentinel down-after-milliseconds {MASTER_NAME} {settings.down_after_ms}",
            f"sentinel failover-timeout {MASTER_NAME} {settings.failover_timeout_ms}",
            f"sentinel parallel-syncs {MASTER_NAME} 1", ""]))
        self._launch([find_redis_server(), str(config), "--sentinel"])
        return self


@dataclass
class SentinelTopology:
    """Starts, faults and stops the nodes; stop() stops every process it ever started, by PID."""

    settings: SentinelSettings
    make_proxy: ProxyMaker
    log_dir: Path
    host: str = "127.0.0.1"
    die_with_parent: bool = True
    data_nodes: list[RedisNode] = field(default_factory=list)
    sentinels: list[SentinelNode] = field(default_factory=list)
    # The node a running `failover` stopped, and the one a running `pause` froze.
    stopped: RedisNode | None = None
    paused: RedisNode | None = None
    _tmp: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    # Children die with the *thread* that started them (PR_SET_PDEATHSIG), so restarts, which the fault
    # timeline asks for from a thread that ends, are done by this one, which lives as long as the topology.
    _starter: ThreadPoolExecutor | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def sentinel_addresses(self) -> list[str]:
        return [s.address for s in self.sentinels]

    @property
    def master_name(self) -> str:
        return MASTER_NAME

    @property
    def primary_proxy_address(self) -> str:
        """The address of the first primary's proxy (`redis`): the fixed address of a client without Sentinel."""
        return self.data_nodes[0].announce

    def start(self) -> SentinelTopology:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-sentinel-")
        self._starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="redis-topology")
        try:
            primary = self._new_data_node("redis-primary", "redis", replicaof=None)
            for number in range(1, self.settings.replicas + 1):
                replication = self.make_proxy(f"replication-{number}", primary.address)
                self._new_data_node(f"redis-replica-{number}", f"redis-replica-{number}", replicaof=replication)
            for number in range(1, SENTINEL_COUNT + 1):
                self._new_sentinel(f"sentinel-{number}")
            self.wait_until_watched()
        except BaseException:
            self.stop()
            raise
        return self

    def _new_data_node(self, name: str, proxy: str, replicaof: str | None) -> RedisNode:
        def launched() -> RedisNode:
            port = free_port(self.host)
            announce = self.make_proxy(proxy, f"{self.host}:{port}")
            work_dir = Path(self._tmp_dir(), name)
            work_dir.mkdir(exist_ok=True)
            node = RedisNode(name, self.host, port, work_dir, self.log_dir, self.die_with_parent, announce=announce)
            self._run(lambda: node.start(replicaof))
            return node

        node = self._launch(name, launched)
        self.data_nodes.append(node)
        return node

    def _new_sentinel(self, name: str) -> SentinelNode:
        def launched() -> SentinelNode:
            node = SentinelNode(name, self.host, free_port(self.host), Path(self._tmp_dir()), self.log_dir,
                                self.die_with_parent)
            self._run(lambda: node.start(self.primary_proxy_address, self.settings))
            return node

        node = self._launch(name, launched)
        self.sentinels.append(node)
        return node

    def _launch(self, name: str, launched: Callable[[], _NodeT]) -> _NodeT:
        """A node started on a port found free; redis-server cannot take port 0, and the port may be taken
        before it binds, so a start that fails is tried again on another port."""
        last: StackError | None = None
        for _ in range(_START_ATTEMPTS):
            try:
                node = launched()
            except StackError as exc:
                last = exc
                continue
            self._note_pid(node.process)
            return node
        raise StackError(f"{name} did not start: {last}")

    def _tmp_dir(self) -> str:
        assert self._tmp is not None
        return self._tmp.name

    def _run(self, action: Callable[[], object]) -> object:
        """`action` on the topology's own thread. A wait past the bound is a StackError, which a rollback
        reports and goes on from, not a bare TimeoutError that would cut the teardown short."""
        assert self._starter is not None
        timeout_s = _CALL_TIMEOUT_S * 3
        try:
            return self._starter.submit(action).result(timeout=timeout_s)
        except TimeoutError:
            raise StackError(f"a Sentinel topology step did not finish within {timeout_s:.0f} s; "
                             f"logs in {self.log_dir}") from None

    def _note_pid(self, process: ManagedProcess | None) -> None:
        if process is not None and process.pid is not None:
            with open(self.log_dir / PIDS_FILE, "a") as out:
                out.write(f"{process.pid} {process.name}\n")

    def wait_until_watched(self, timeout_s: float = 30.0) -> None:
        """Until every Sentinel knows every replica (synced) and the other Sentinels: only then can they fail over."""
        if not poll_until(self._watched, timeout_s, 0.1):
            raise StackError(f"Sentinels did not see {self.settings.replicas} replica(s) and each other "
                             f"within {timeout_s:.0f} s; logs in {self.log_dir}")

    def _watched(self) -> bool:
        for sentinel in self.sentinels:
            client = _client(sentinel.address)
            try:
                replicas = client.sentinel_slaves(MASTER_NAME)
                # redis-py types this reply loosely (bool among its types); it is one dict per Sentinel.
                others = cast("list[dict[str, Any]]", client.sentinel_sentinels(MASTER_NAME))
            except redis.RedisError:
                return False
            finally:
                client.close()
            online = [r for r in replicas if r.get("master-link-status") == "ok" and not r.get("is_disconnected")]
            if len(online) < self.settings.replicas or len(others) < SENTINEL_COUNT - 1:
                return False
        return True

    # --- what the Sentinels say -------------------------------------------------------------------------------

    def primary_announce(self) -> str | None:
        """The primary's (proxied) address as most Sentinels report it now, or None when they cannot say."""
        answers: dict[str, int] = {}
        for sentinel in self.sentinels:
            client = _client(sentinel.address)
            try:
                found = cast("tuple[str, int] | None", client.sentinel_get_master_addr_by_name(MASTER_NAME))
            except redis.RedisError:
                continue
            finally:
                client.close()
            if found:
                address = f"{found[0]}:{found[1]}"
                answers[address] = answers.get(address, 0) + 1
        best = max(answers.items(), key=lambda item: item[1], default=(None, 0))
        return best[0] if best[1] >= QUORUM else None

    def wait_for_promotion(self, old: str, timeout_s: float) -> str:
        """The new primary's address once a quorum of Sentinels reports one other than `old`."""
        new = self._agreed_primary(other_than=old, timeout_s=timeout_s)
        if new is None:
            raise StackError(f"no promotion within {timeout_s:.0f} s (Sentinels still report "
                             f"{self.primary_announce()})")
        return new

    def _current_primary(self) -> RedisNode:
        announce = self.primary_announce()
        for node in self.data_nodes:
            if node.announce == announce:
                return node
        raise StackError(f"the Sentinels report no primary this topology runs (they say {announce})")

    # --- process faults ---------------------------------------------------------------------------------------

    def apply(self, action: str) -> str:
        """Start a process fault on the current primary; returns that node's name (for the journal)."""
        with self._lock:
            if action == "failover":
                return self._kill_primary()
            if action == "pause":
                return self._pause_primary()
            raise HarnessError(f"unknown process fault {action!r}; allowed: {', '.join(PROCESS_FAULTS)}")

    def undo(self, action: str) -> str | None:
        """End a process fault: the stopped node comes back as a replica; the paused one runs on."""
        with self._lock:
            if action == "failover" and self.stopped is not None:
                node, self.stopped = self.stopped, None
                self._run(lambda: self._restart_as_replica(node))
                return node.name
            if action == "pause" and self.paused is not None:
                node, self.paused = self.paused, None
                if node.process is not None:
                    node.process.signal(signal.SIGCONT)
                return node.name
            return None

    def _kill_primary(self) -> str:
        node = self._current_primary()
        if node.process is not None:
            # A crash, not a shutdown: what the primary acknowledged and had not yet replicated is gone.
            node.process.signal(signal.SIGKILL)
            node.process.stop()
        self.stopped = node
        return node.name

    def _pause_primary(self) -> str:
        node = self._current_primary()
        if node.process is not None:
            node.process.signal(signal.SIGSTOP)
        self.paused = node
        return node.name

    def _restart_as_replica(self, node: RedisNode) -> None:
        # Straight back as a replica of the new primary: an empty primary, even briefly, would take writes.
        # Should the Sentinels not agree on one yet, it starts alone and they convert it once they do.
        primary = self._agreed_primary(other_than=node.announce,
                                       timeout_s=min(30.0, self.settings.failover_timeout_ms / 1000))
        node.start(replicaof=primary)
        self._note_pid(node.process)

    def _agreed_primary(self, other_than: str, timeout_s: float) -> str | None:
        """The address a quorum of Sentinels reports, once it is not `other_than`; None after `timeout_s`."""
        def moved() -> str | None:
            primary = self.primary_announce()
            return primary if primary != other_than else None

        return poll_until(moved, timeout_s)

    def processes(self) -> list[ManagedProcess]:
        nodes: list[RedisNode | SentinelNode] = [*self.data_nodes, *self.sentinels]
        return [n.process for n in nodes if n.process is not None]

    def stop(self) -> None:
        """Sentinels first, so they do not fail over while the data nodes stop."""
        for sentinel in self.sentinels:
            sentinel.stop()
        for node in self.data_nodes:
            node.stop()
        if self._starter is not None:
            self._starter.shutdown(wait=True)
            self._starter = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
