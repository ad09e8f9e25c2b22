"""The `harness` command: a thin shell that parses flags and hands each job to its part.

Every error a user can cause is printed as one line and mapped to an exit code
(2 bad input, 3 stack did not start, 1 otherwise); no traceback reaches the terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from harness.errors import HarnessError

LOOPBACK_HOST = "127.0.0.1"


class OneLineErrors(click.Group):
    """A click group whose usage errors are one line, like every other error of the harness."""

    def main(self, *args, **kwargs):  # type: ignore[override]
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
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="auth-chaos-harness", prog_name="harness")
def cli() -> None:
    """Reproduce login failures under load, latency and Redis outages; prove whether a fix holds."""


@cli.command()
@click.option("--host", default=LOOPBACK_HOST, show_default=True, help="Address of the HTTP API.")
@click.option("--port", default=8474, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the HTTP API (0 picks a free one).")
@click.option("--config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file of proxies to create at start (the format of POST /populate).")
@click.option("--seed", type=int, default=None, help="Seed for toxicity draws and jitter (reproducible runs).")
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path), hidden=True,
              help="Write {url, host, port, pid} here once listening.")
def faultproxy(host: str, port: int, config: Path | None, seed: int | None, ready_file: Path | None) -> None:
    """Run the embedded Toxiproxy-compatible fault proxy."""
    from harness.faultproxy.server import serve

    serve(host=host, port=port, config=config, seed=seed, ready_file=ready_file)


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
@click.option("--ready-file", type=click.Path(dir_okay=False, path_type=Path), hidden=True,
              help="Write {url, host, port, pid} here once listening.")
def authsvc(redis_url: str, host: str, port: int, profile: str, flags: tuple[str, ...], users: int,
            workers: int, ready_file: Path | None) -> None:
    """Run the reference auth service."""
    from harness.authsvc.server import serve

    serve(redis_url=redis_url, host=host, port=port, profile=profile, flag_overrides=list(flags),
          users=users, workers=workers, ready_file=ready_file)


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
    from harness.analysis.compare import compare_runs

    return compare_runs(run_a, run_b, variant=variant)


def main() -> None:
    cli.main(prog_name="harness")


if __name__ == "__main__":
    main()
