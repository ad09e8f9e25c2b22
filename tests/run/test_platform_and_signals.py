"""`harness run` gives back the signal handlers it found (#12 part 5); process checks go through psutil, and a
platform without a Linux-only guarantee is told so."""

from __future__ import annotations

import http.server
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from types import FrameType

import click
import pytest

from harness.cli import OneLineErrors
from harness.errors import RunStopped
from harness.experiment.lifecycle import Experiment, stop_signals_ignored
from harness.experiment.options import RunOptions
from harness.stack.procs import free_port, pid_alive, platform_gaps
from tests.waiting import wait_until

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "mobile-latency.toml"


def _mine(signum: int, frame: FrameType | None) -> None:
    """A host program's own handler (pytest's, an application's)."""


def test_after_ignoring_ctrl_c_and_sigterm_the_handlers_in_place_before_are_back() -> None:
    calls: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        calls.append(signum)

    previous = {s: signal.signal(s, record) for s in (signal.SIGINT, signal.SIGTERM)}
    mine = {s: signal.getsignal(s) for s in previous}
    try:
        with stop_signals_ignored():   # the fast teardown after a second Ctrl-C, or a SIGTERM after a Ctrl-C
            for signum in previous:
                assert signal.getsignal(signum) is signal.SIG_IGN
                os.kill(os.getpid(), signum)   # ignored: no KeyboardInterrupt, no RunStopped, no handler call
        assert calls == []
        assert {s: signal.getsignal(s) for s in previous} == mine
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_a_sigterm_outside_a_variant_is_one_line_and_exit_143(capsys: pytest.CaptureFixture[str]) -> None:
    @click.group(cls=OneLineErrors)
    def group() -> None:
        pass

    @group.command()
    def stopped() -> None:
        raise RunStopped()   # what lifecycle's SIGTERM handler raises, wherever the signal lands

    with pytest.raises(SystemExit) as caught:
        group.main(["stopped"], prog_name="harness")
    assert caught.value.code == 143
    assert capsys.readouterr().err == "harness: stopped by SIGTERM\n"


def test_a_run_gives_back_the_sigterm_and_sigint_handlers_it_found(tmp_path: Path) -> None:
    previous = {s: signal.signal(s, _mine) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        # Nothing answers at this URL: the stack fails to start, inside the part that holds the handlers.
        options = RunOptions(scenario_path=SCENARIO, fault_proxy=f"http://127.0.0.1:{free_port()}",
                             out=tmp_path / "reports", duration_s=5.0)
        assert Experiment(options).run() == 3
        assert signal.getsignal(signal.SIGTERM) is _mine and signal.getsignal(signal.SIGINT) is _mine
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


class NotAFaultProxy(http.server.BaseHTTPRequestHandler):
    """Some other HTTP server: every path is 404, as a web app's would be."""

    def do_GET(self) -> None:
        self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_a_url_that_is_not_a_fault_proxy_is_a_stack_that_did_not_start(tmp_path: Path) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotAFaultProxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        options = RunOptions(scenario_path=SCENARIO, fault_proxy=f"http://127.0.0.1:{server.server_address[1]}",
                             out=tmp_path / "reports", duration_s=5.0)
        experiment = Experiment(options)
        assert experiment.run() == 3   # DESIGN.md: a stack that does not start; was 1
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert experiment.run_dir is not None
    error = json.loads((experiment.run_dir / "manifest.json").read_text())["error"]
    assert "fault proxy refused to get its version" in error


def test_a_zombie_counts_as_gone_and_a_running_process_as_alive() -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    quitter = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        assert pid_alive(sleeper.pid)
        # Exited, not reaped yet: a zombie.
        wait_until(lambda: not pid_alive(quitter.pid), 30, "the quitter exits")
        assert quitter.returncode is None   # still unreaped: gone is the zombie state, not a missing PID
    finally:
        sleeper.kill()
        sleeper.wait()
        quitter.wait()
    assert not pid_alive(sleeper.pid)


def test_on_linux_no_guarantee_is_missing() -> None:
    assert sys.platform.startswith("linux") and platform_gaps() == []
