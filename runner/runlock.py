"""One run per state directory: a second run exits 75 and says who holds it;
and one GitHub write at a time per clone, across runs.

Both locks are flocks (filelock), so the kernel releases them when the holder
dies, however it dies: a lock left by a killed run never blocks the next one.

Runs with different state directories (a cron job and a person) may publish
from the same clone at once. Each looks for its pull request or comment before
writing it; without a lock shared by both, both look, find nothing, and both
write. `PublishLock` is held around the second look and the write only, so two
runs take turns per write instead of one waiting for the other's whole run.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_FILE = "run.lock"
PID_FILE = "run.pid"


class AlreadyRunning(Exception):
    """Another run holds this state directory (exit 75)."""


class RunLock:
    def __init__(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        self.state_dir = state_dir
        self._lock = FileLock(str(state_dir / LOCK_FILE), timeout=0)

    def __enter__(self) -> RunLock:
        try:
            self._lock.acquire()
        except Timeout:
            raise AlreadyRunning(
                f"another runner (pid {self.holder() or 'unknown'}) is using the state directory {self.state_dir}"
            ) from None
        (self.state_dir / PID_FILE).write_text(f"{os.getpid()}\n")
        return self

    def __exit__(self, *exc: object) -> None:
        (self.state_dir / PID_FILE).unlink(missing_ok=True)
        self._lock.release()

    def holder(self) -> int | None:
        try:
            return int((self.state_dir / PID_FILE).read_text().strip())
        except (OSError, ValueError):
            return None


PUBLISH_LOCK = "runner-publish.lock"


class PublishLockTimeout(Exception):
    """Another run held the repository's publish lock for longer than we wait."""


class PublishLock:
    """A lock file in the clone's git directory, so every run that publishes from that clone takes
    its turn, whoever runs it and whatever its state directory. (Runs on two clones of one GitHub
    repository cannot both publish an issue: each has its own commit, and the second push of the
    branch is refused as not a fast-forward.)"""

    def __init__(self, clone: Path, timeout_s: float) -> None:
        self.clone = clone
        self.timeout_s = timeout_s
        self._lock: FileLock | None = None

    def __enter__(self) -> PublishLock:
        if self._lock is None:
            self._lock = FileLock(str(_git_common_dir(self.clone) / PUBLISH_LOCK), timeout=self.timeout_s)
        try:
            self._lock.acquire()
        except Timeout:
            raise PublishLockTimeout(f"another runner held the publish lock of {self.clone} for over "
                                     f"{self.timeout_s:.0f} s") from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.release()


def _git_common_dir(clone: Path) -> Path:
    proc = subprocess.run(["git", "-C", str(clone), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise OSError(f"{clone} is not a git repository: {proc.stderr.strip()}")
    return Path(proc.stdout.strip())
