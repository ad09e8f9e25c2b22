"""`harness init`: a starter scenario that `harness run` accepts as it is, for a command, a url or neither."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.service.helpers import APP, PYTHON, only_run_dir, run_harness


def run_starter(tmp_path: Path, *init_args: str) -> tuple[Path, dict]:
    path = tmp_path / "mine.toml"
    init = run_harness("init", str(path), *init_args, timeout=60)
    assert init.returncode == 0 and "wrote" in init.stdout, init.stderr
    assert "[load.setup]" in path.read_text() and "[[load.error_kinds]]" in path.read_text()  # commented, there
    out = tmp_path / "reports"
    result = run_harness("run", str(path), "--duration", "3s", "--out", str(out))
    assert result.returncode in (0, 1), result.stderr  # accepted and run; 3 s is too short for a verdict
    run_dir = only_run_dir(out)
    return run_dir, json.loads((run_dir / "manifest.json").read_text())


def login_flows(run_dir: Path):
    rows = pq.ParquetDataset([str(p) for p in (run_dir / "requests").glob("*.parquet")]).read().to_pandas()
    return rows[(rows.kind == "flow") & (rows.name == "login")]


def test_starter_for_a_command_runs_as_written(tmp_path: Path) -> None:
    run_dir, manifest = run_starter(tmp_path, "--command", f"{PYTHON} {APP} --host {{host}} --port {{port}}")
    assert manifest["status"] == "completed" and manifest["variants"]["service"]["service"]["kind"] == "command"
    flows = login_flows(run_dir)
    assert len(flows) > 0 and flows.success.all()


def test_starter_without_a_service_runs_the_reference_one(tmp_path: Path) -> None:
    run_dir, manifest = run_starter(tmp_path)
    assert manifest["status"] == "completed" and manifest["variants"]["service"]["service"]["kind"] == "reference"
    assert len(login_flows(run_dir)) > 0


def test_starter_for_a_url_has_the_redis_listen_address(tmp_path: Path) -> None:
    path = tmp_path / "url.toml"
    assert run_harness("init", str(path), "--url", "http://127.0.0.1:8080", timeout=60).returncode == 0
    text = path.read_text()
    assert 'url = "http://127.0.0.1:8080"' in text and '\n[redis]\nlisten = "127.0.0.1:26379"' in text


@pytest.mark.parametrize(("args", "expected"), [
    (["--command", "serve", "--url", "http://127.0.0.1:1"], "--command and --url: give one"),
    (["--command", "serve --port {prot}"], "--command: service.command: unknown placeholder {prot}"),
    (["--url", "127.0.0.1:8080"], "--url: must be an http:// or https:// URL"),
])
def test_bad_init_input_is_one_line_and_writes_nothing(tmp_path: Path, args: list[str], expected: str) -> None:
    path = tmp_path / "mine.toml"
    result = run_harness("init", str(path), *args, timeout=60)
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert not path.exists() and not list(tmp_path.iterdir())


def test_init_does_not_overwrite_without_force(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text("# mine\n")
    result = run_harness("init", str(path), timeout=60)
    assert result.returncode == 2 and "already exists; pass --force" in result.stderr
    assert path.read_text() == "# mine\n"
    assert run_harness("init", str(path), "--force", timeout=60).returncode == 0
