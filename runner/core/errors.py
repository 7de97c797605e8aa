"""One root for runner's own errors, so the command line catches one family and exits with
the code each error carries, instead of knowing every module's exceptions."""

from __future__ import annotations

from runner.core.status import ExitCode


class RunnerError(Exception):
    """Something runner refuses or cannot do; `exit_code` is how the command ends if it escapes."""

    exit_code: int = ExitCode.FAILED


class UsageError(RunnerError):
    """Bad configuration, input or credentials: nothing was done (exit 2)."""

    exit_code = ExitCode.USAGE
