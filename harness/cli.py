"""The `harness` command: a thin shell that parses flags and hands each job to its part.

Every error a user can cause is printed as one line and mapped to an exit code
(2 bad input, 3 stack did not start, 1 otherwise); no traceback reaches the terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.errors import HarnessError, RunStopped
from harness.experiment.repeat import MAX_REPEAT

LOOPBACK_HOST = "127.0.0.1"


class OneLineErrors(click.Group):
    """A click group whose usage errors are one line, like every other error of the harness."""

    def main(self, *args, **kwargs):
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.exceptions.Abort:
            click.echo("harness: interrupted", err=True)
            sys.exit(130)
        except click.UsageError as exc:
            where = f"{exc.ctx.command_path}: " if exc.ctx else ""
            click.echo(f"harness: {where}{exc.format_message()}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"harness: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except HarnessError as exc:
            click.echo(f"harness: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("harness: interrupted", err=True)
            sys.exit(130)
        except RunStopped as exc:  # a SIGTERM that landed outside a variant's own handling
            click.echo("harness: stopped by SIGTERM", err=True)
            sys.exit(exc.exit_code)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="auth-chaos-harness", prog_name="harness")
def cli() -> None:
    """Reproduce login failures under load, latency and Redis outages; prove whether a fix holds."""


def _duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    from harness.scenario import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _host_port(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, int] | None:
    if value is None:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"must be HOST:PORT, got {value!r}")
    return host, int(port)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--duration", callback=_duration, help="Load time per variant (30, 30s, 2m); default: the scenario's.")
@click.option("--users", type=click.IntRange(1, 100_000), help="Concurrent Locust users; default: the scenario's.")
@click.option("--spawn-rate", type=click.FloatRange(min=0, min_open=True), help="Users started per second.")
@click.option("--variants", help="Comma-separated variants to run, in order; default: all of the scenario's.")
@click.option("--fault-proxy", default="embedded", show_default=True,
              help="embedded (this package), binary (toxiproxy-server on PATH), or http://HOST:PORT of one running.")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(0, 64),
              help="Local Locust workers under a master (0: one local Locust process).")
@click.option("--out", default=Path("reports"), show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder the run folder is written under.")
@click.option("--seed", type=int, help="Seed for the load's random choices and the fault proxy's draws.")
@click.option("--allow-remote", is_flag=True, help="Allow non-loopback targets (fault proxy, master bind).")
@click.option("--master-bind", callback=_host_port, metavar="HOST:PORT",
              help="Run a Locust master here and wait for workers started elsewhere (harness worker).")
@click.option("--expect-workers", type=click.IntRange(1, 1000), help="Workers to wait for with --master-bind.")
@click.option("--until-decided", is_flag=True,
              help="Stop each variant once its verdict is decided (anytime-valid confidence sequence).")
@click.option("--min-duration", callback=_duration, help="With --until-decided: never stop before this (default 20s).")
@click.option("--ablate", is_flag=True,
              help="Turn each fix on from buggy and off from fixed, one at a time, and report each one's effect.")
@click.option("--ablate-flags", help="With --ablate: only these flags (comma-separated).")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, MAX_REPEAT),
              help="Run every variant this many times, each on a fresh stack; judge over the replicates.")
def run(scenario: Path, duration: float | None, users: int | None, spawn_rate: float | None, variants: str | None,
        fault_proxy: str, workers: int, out: Path, seed: int | None, allow_remote: bool,
        until_decided: bool, min_duration: float | None,
        master_bind: tuple[str, int] | None, expect_workers: int | None, ablate: bool,
        ablate_flags: str | None, repeat: int) -> int:
    """Run a scenario's variants end to end and give each a verdict against the target."""
    from harness.experiment.lifecycle import Experiment
    from harness.experiment.options import MIN_DURATION_S, RunOptions

    if (master_bind is None) != (expect_workers is None):
        raise click.UsageError("--master-bind and --expect-workers go together")
    if min_duration is not None and not until_decided:
        raise click.UsageError("--min-duration goes with --until-decided")
    if ablate and variants:
        raise click.UsageError("--ablate makes its own variants; drop --variants")
    if ablate_flags and not ablate:
        raise click.UsageError("--ablate-flags goes with --ablate")
    chosen = _comma_list(variants)
    options = RunOptions(scenario_path=scenario, duration_s=duration, users=users, spawn_rate=spawn_rate,
                         variants=chosen, fault_proxy=fault_proxy, workers=workers, out=out, seed=seed,
                         allow_remote=allow_remote, master_bind=master_bind, expect_workers=expect_workers,
                         until_decided=until_decided, min_duration_s=MIN_DURATION_S if min_duration is None
                         else min_duration)
    if repeat > 1:
        if ablate:
            raise click.UsageError("--repeat and --ablate do not go together yet; run the ablation twice")
        from harness.experiment.repeat import with_replicates
        from harness.scenario import load_scenario

        options.scenario, options.variants = with_replicates(load_scenario(scenario), repeat, chosen), None
    if not ablate:
        return Experiment(options).run()
    from harness.experiment.ablation import with_ablation, write_ablation
    from harness.scenario import load_scenario

    options.scenario = with_ablation(load_scenario(scenario), _comma_list(ablate_flags))
    experiment = Experiment(options)
    code = experiment.run()
    if experiment.run_dir is not None:
        write_ablation(experiment.run_dir, experiment.console)
    return code


def _comma_list(text: str | None) -> list[str] | None:
    return [item.strip() for item in text.split(",") if item.strip()] if text else None


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--latency", "latencies", default="0,50,100,200,400,800", show_default=True,
              help="Redis latency levels in ms (comma-separated).")
@click.option("--jitter", "jitters", help="Jitter in ms: one value for every level, or one per latency level.")
@click.option("--users", "users_levels", help="Users levels (comma-separated): the second axis.")
@click.option("--arrival-rate", "rate_levels",
              help="Arrival rates in flows/s (comma-separated; the open model): the second axis instead of --users.")
@click.option("--duration", callback=_duration, help="Load time per variant and level; default: the scenario's.")
@click.option("--variants", help="Comma-separated variants to run at each level; default: all.")
@click.option("--fault-proxy", default="embedded", show_default=True, help="As for harness run.")
@click.option("--out", default=Path("reports"), show_default=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", type=int, help="Seed for the load's random choices and the fault proxy's draws.")
@click.option("--until-decided", is_flag=True,
              help="At each level, stop each variant once its verdict is decided (as for harness run).")
@click.option("--min-duration", callback=_duration, help="With --until-decided: never stop before this (default 20s).")
def sweep(scenario: Path, latencies: str, jitters: str | None, users_levels: str | None, rate_levels: str | None,
          duration: float | None, variants: str | None, fault_proxy: str, out: Path, seed: int | None,
          until_decided: bool, min_duration: float | None) -> int:
    """Run the variants at each Redis latency level (and users or arrival-rate level); find where each breaks."""
    from harness.experiment.options import MIN_DURATION_S, RunOptions
    from harness.experiment.sweep import SweepOptions, parse_levels, run_sweep

    if min_duration is not None and not until_decided:
        raise click.UsageError("--min-duration goes with --until-decided")
    base = RunOptions(scenario_path=scenario, duration_s=duration, variants=_comma_list(variants),
                      fault_proxy=fault_proxy, out=out, seed=seed, until_decided=until_decided,
                      min_duration_s=MIN_DURATION_S if min_duration is None else min_duration)
    options = SweepOptions(scenario_path=scenario, latencies=parse_levels(latencies, "--latency"),
                           jitters=parse_levels(jitters, "--jitter", paired=True) if jitters else None,
                           users=parse_levels(users_levels, "--users", minimum=1) if users_levels else None,
                           rates=parse_levels(rate_levels, "--arrival-rate", minimum=1) if rate_levels else None,
                           run=base)
    return run_sweep(options)


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--master", "master", required=True, callback=_host_port, metavar="HOST:PORT",
              help="Where `harness run --master-bind` listens.")
@click.option("--allow-remote", is_flag=True, help="Allow a master that is not on a loopback address.")
def worker(scenario: Path, master: tuple[str, int], allow_remote: bool) -> None:
    """Run a Locust worker for a master started with `harness run --master-bind` (load from several machines)."""
    import os
    import socket

    from harness.experiment.options import ensure_loopback
    from harness.load.runner import worker_command
    from harness.scenario import load_scenario, locustfile_path

    ensure_loopback(master[0], "--master", allow_remote)
    locustfile = locustfile_path(scenario, load_scenario(scenario))
    command = worker_command(locustfile, *master)
    env = {**os.environ, "HARNESS_WORKER": f"{socket.gethostname()}-{os.getpid()}"}
    os.execvpe(command[0], command, env)  # the worker is this process from here: Ctrl-C reaches Locust itself


_STATE_DIR = click.option("--state-dir", default=Path(".harness"), show_default=True,
                          type=click.Path(file_okay=False, path_type=Path), help="Where up.json is kept.")


@cli.command()
@click.argument("scenario", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--variant", help="Variant whose service to run (default: fixed, else the scenario's first).")
@_STATE_DIR
def up(scenario: Path, variant: str | None, state_dir: Path) -> None:
    """Start one variant's stack and the Locust web UI, leave them running, print every URL."""
    from harness.experiment.up import STATE_FILE, bring_up, describe

    for line in describe(bring_up(scenario, variant, state_dir), state_dir / STATE_FILE):
        click.echo(line)


@cli.command()
@_STATE_DIR
def down(state_dir: Path) -> None:
    """Stop exactly what `harness up` started, by PID (exit 1 when nothing is up)."""
    from harness.experiment.up import bring_down

    for line in bring_down(state_dir):
        click.echo(line)


@cli.command()
@click.option("--fault-proxy", default="http://127.0.0.1:8474", show_default=True,
              help="URL of the Toxiproxy-compatible API to restore.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback fault proxy.")
def reset(fault_proxy: str, allow_remote: bool) -> None:
    """Remove every toxic and re-enable every proxy of a fault proxy."""
    from harness.experiment.options import ensure_loopback
    from harness.stack.fault_client import FaultProxyClient, check_fault_proxy_url

    check_fault_proxy_url(fault_proxy)
    ensure_loopback(fault_proxy, "--fault-proxy", allow_remote)
    FaultProxyClient(fault_proxy).reset()
    click.echo(f"reset {fault_proxy}: every toxic removed, every proxy enabled")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--command", help='Your service\'s start command, e.g. "node server.js --port {port}".')
@click.option("--url", help="URL of your service, already running (instead of --command).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def init(file: Path, command: str | None, url: str | None, force: bool) -> None:
    """Write a starter scenario for your own service, every section present and commented."""
    from harness.scenario.template import write_starter

    for line in write_starter(file, command, url, force):
        click.echo(line)


@cli.command()
@click.argument("folder", default="scenarios", type=click.Path(file_okay=False, path_type=Path))
def scenarios(folder: Path) -> None:
    """List the scenario files of a folder, one line each."""
    from harness.scenario import load_scenario

    files = sorted(folder.glob("*.toml"))
    if not files:
        raise click.UsageError(f"no scenario files (*.toml) in {folder}")
    width = max(len(f.stem) for f in files)
    for path in files:
        scenario = load_scenario(path)
        summary = scenario.scenario.description.strip().splitlines()[0] if scenario.scenario.description else ""
        click.echo(f"{path.stem:<{width}}  {summary}")


@cli.command()
@click.option("--host", default=LOOPBACK_HOST, show_default=True, help="Address of the HTTP API.")
@click.option("--port", default=8474, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the HTTP API (0 picks a free one).")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file of proxies to create at start (the format of POST /populate).")
@click.option("--seed", type=int, default=None, help="Seed for toxicity draws and jitter (reproducible runs).")
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path), hidden=True,
              help="Write {url, host, port, pid} here once listening.")
@click.option("--proxy-metrics", is_flag=True, help="Serve bytes per proxy at GET /metrics (as Toxiproxy).")
@click.option("--runtime-metrics", is_flag=True, help="Serve the process's own metrics at GET /metrics.")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes that share every proxy's connections (past one process's open files or one core).")
@click.option("--shard", default=0, type=click.IntRange(0, 63), hidden=True,
              help="This is process N of a fault proxy run with --processes (started by process 0).")
def faultproxy(host: str, port: int, config: Path | None, seed: int | None, ready_file: Path | None,
               proxy_metrics: bool, runtime_metrics: bool, processes: int, shard: int) -> None:
    """Run the embedded Toxiproxy-compatible fault proxy."""
    from harness.faultproxy.server import serve

    if shard and processes > 1:
        raise click.UsageError("--shard is the harness's own (a process of a fault proxy run with --processes)")
    serve(host=host, port=port, config=config, seed=seed, ready_file=ready_file,
          proxy_metrics=proxy_metrics, runtime_metrics=runtime_metrics, processes=processes, shard=shard)


@cli.command()
@click.option("--redis-url", required=True, help="Redis the service stores sessions in (redis://HOST:PORT/DB).")
@click.option("--host", default=LOOPBACK_HOST, show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to serve on (0 picks a free one).")
@click.option("--profile", type=click.Choice(["buggy", "fixed"]), default="fixed", show_default=True,
              help="buggy turns every fix off, fixed turns every fix on.")
@click.option("--flag", "flags", multiple=True, metavar="NAME=VALUE",
              help="Override one flag of the profile (repeatable).")
@click.option("--users", default=1000, show_default=True, type=click.IntRange(1, 10_000_000),
              help="Seed user0..user{N-1}.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes.")
@click.option("--sentinel", "sentinels", multiple=True, metavar="HOST:PORT",
              help="A Sentinel of a replicated Redis (repeatable); used by sentinel_discovery and wait_for_replica.")
@click.option("--sentinel-master", default="harness-primary", show_default=True,
              help="The master name the Sentinels monitor.")
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path), hidden=True,
              help="Write {url, host, port, pid} here once listening.")
def authsvc(redis_url: str, host: str, port: int, profile: str, flags: tuple[str, ...], users: int,
            workers: int, sentinels: tuple[str, ...], sentinel_master: str, ready_file: Path | None) -> None:
    """Run the reference auth service."""
    from harness.authsvc.server import serve

    serve(redis_url=redis_url, host=host, port=port, profile=profile, flag_overrides=list(flags),
          users=users, workers=workers, ready_file=ready_file, sentinels=list(sentinels),
          sentinel_master=sentinel_master)


@cli.command()
@click.argument("run_dir", type=click.Path(file_okay=False, path_type=Path))
def report(run_dir: Path) -> int:
    """Rebuild summary, charts and reports of a run folder from its raw records."""
    from harness.report import build_report

    return build_report(run_dir)


@cli.command()
@click.argument("run_a", type=click.Path(file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(file_okay=False, path_type=Path))
@click.option("--variant", default=None, help="Variant to compare (default: every variant in both runs).")
def compare(run_a: Path, run_b: Path, variant: str | None) -> int:
    """Compare the same variant across two runs; exit 1 when RUN_B is significantly worse."""
    from harness.report.compare import compare_runs

    return compare_runs(run_a, run_b, variant=variant)


def main() -> None:
    cli.main(prog_name="harness")


if __name__ == "__main__":
    main()
