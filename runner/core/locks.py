"""One run per state directory: a second run exits 75 and says who holds it.

The lock is a flock (filelock), so the kernel releases it when the holder dies, however it
dies: a lock left by a killed run never blocks the next one. (The clone's publishing lock is
`runner.git.publishlock`.)
"""

from __future__ import annotations

import os
from pathlib import Path

from filelock import FileLock, Timeout

from runner.core.errors import RunnerError
from runner.core.status import ExitCode
from runner.core.storage import StorageError, write_failure

LOCK_FILE = "run.lock"
PID_FILE = "run.pid"


class AlreadyRunning(RunnerError):
    """Another run holds this state directory (exit 75)."""

    exit_code = ExitCode.LOCKED


class RunLock:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        try:
            state_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._unwritable(exc) from None
        self._lock = FileLock(str(state_dir / LOCK_FILE), timeout=0)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise AlreadyRunning(
                f"another runner (pid {self.holder() or 'unknown'}) is using the state directory {self.state_dir}"
            ) from None
        except OSError as exc:
            raise self._unwritable(exc) from None
        try:
            (self.state_dir / PID_FILE).write_text(f"{os.getpid()}\n")
        except OSError as exc:
            self._lock.release()
            raise self._unwritable(exc) from None
        return self

    def _unwritable(self, exc: OSError) -> StorageError:
        reason = write_failure(self.state_dir, exc)
        return StorageError(f"cannot lock the state directory {self.state_dir}: {reason}")

    def __exit__(self, *exc: object) -> None:
        (self.state_dir / PID_FILE).unlink(missing_ok=True)
        self._lock.release()

    def holder(self) -> int | None:
        try:
            return int((self.state_dir / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return None
