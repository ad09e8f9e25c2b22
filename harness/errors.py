"""The harness's exception tree; the CLI turns each into one line and an exit code.

HarnessError
 ├── BadInput          (exit 2) a flag or argument the user can fix
 │    └── ScenarioError       a scenario file that does not validate
 ├── StackError        (exit 3) Redis, the fault proxy or the service did not start
 ├── FaultNotApplied   (exit 1) the fault proxy refused a planned fault: that variant is not judged
 └── RecordsError      (exit 1) a run folder whose records cannot be read
      └── NewerSchema  (exit 2) a file written by a newer harness (its schema_version is above ours)

RunStopped (a BaseException, like KeyboardInterrupt; exit 143) SIGTERM during `harness run`
"""

from __future__ import annotations


class HarnessError(Exception):
    """Root of every error the harness reports to a user as one line."""

    exit_code = 1


class BadInput(HarnessError):
    """A command-line flag or argument the user can correct."""

    exit_code = 2


class ScenarioError(BadInput):
    """A scenario file that does not load or validate; the message names file and field."""


class StackError(HarnessError):
    """A part of the stack (Redis, fault proxy, service, Locust) could not be started."""

    exit_code = 3


class FaultNotApplied(HarnessError):
    """A planned fault could not be applied at run time: its variant is stopped and not judged."""

    exit_code = 1


class RecordsError(HarnessError):
    """A run folder whose records are missing or unreadable."""

    exit_code = 1


class NewerSchema(RecordsError):
    """A run file whose schema_version is newer than this harness reads: refused, never read as defaults."""

    exit_code = 2


class RunStopped(BaseException):
    """SIGTERM: stop like a Ctrl-C, with exit code 143. Not a HarnessError: nothing that handles errors may
    swallow it, only the places that handle a Ctrl-C."""

    exit_code = 143
