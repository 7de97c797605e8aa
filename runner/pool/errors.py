"""Why a SagePool future failed. Import them from runner.pool.

Every class says with `transient` whether running the same task again may succeed: the
pool never retries by itself, the master's retry policy reads this flag. All of them
survive pickling (their __init__ takes exactly their args).
"""

from __future__ import annotations

import signal

from runner.core.errors import RunnerError


class PoolError(RunnerError):
    transient: bool = False


class WorkerCrashed(PoolError):
    """The worker died while running this task (SIGKILL, os._exit, segfault, OOM kill)."""

    transient = True

    def __init__(self, task_repr: str, pid: int, exitcode: int | None) -> None:
        super().__init__(task_repr, pid, exitcode)
        self.task_repr = task_repr
        self.pid = pid
        self.exitcode = exitcode

    def __str__(self) -> str:
        how = describe_exit(self.exitcode)
        return f"worker {self.pid} died ({how}) while running {self.task_repr}"


class TaskTimeout(PoolError):
    """The task ran past the pool's task_timeout; its worker and descendants were killed."""

    transient = True

    def __init__(self, task_repr: str, timeout: float | None) -> None:
        super().__init__(task_repr, timeout)
        self.task_repr = task_repr
        self.timeout = timeout

    def __str__(self) -> str:
        return f"{self.task_repr} did not finish within {self.timeout} s"


class ResultNotPicklable(PoolError):
    """The task's return value or exception could not cross the pipe."""


class ArgumentsNotPicklable(PoolError):
    """The call (function, args, kwargs) could not be pickled, so it was never sent."""


class InitializerError(PoolError):
    """The worker initializer failed; the message names the cause's type and text."""

    def __init__(self, message: str, worker_traceback: str = "") -> None:
        super().__init__(message, worker_traceback)
        self.message = message
        self.worker_traceback = worker_traceback
        if worker_traceback:
            self.__cause__ = RemoteTraceback(worker_traceback)

    def __str__(self) -> str:
        return self.message


class PoolBroken(PoolError):
    """The pool cannot run work any more (e.g. the initializer kept failing)."""


class RemoteTraceback(Exception):
    """Carries a worker-side traceback as text; set as __cause__ like CPython does."""

    transient = False

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return f'\n"""\n{self.tb}"""'


def describe_exit(exitcode: int | None) -> str:
    if exitcode is None:
        return "exit code unknown"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"
