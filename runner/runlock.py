"""One run per state directory: a second run exits 75 and says who holds it;
and one GitHub write at a time per GitHub repository, across runs.

Both locks are flocks (filelock), so the kernel releases them when the holder
dies, however it dies: a lock left by a killed run never blocks the next one.

Runs with different state directories (a cron job and a person) may publish to
the same GitHub repository at once. Each looks for its pull request or comment
before writing it; without a lock shared by both, both look, find nothing, and
both write. `PublishLock` is held around the second look and the write only,
so two runs take turns per write instead of one waiting for the other's run.
"""
from __future__ import annotations

import os
import re
import subprocess
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

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
    """Keyed by the GitHub repository: one lock per user under ~/.cache/runner/locks named after
    the API host and OWNER/NAME (runs of one user on different clones, e.g. each state
    directory's own clone of a repository given as a URL), then a lock file in the clone's git
    directory (every run on that clone, whoever runs it). Taken in that order, always."""

    def __init__(self, api_url: str, full_name: str, clone: Path, timeout_s: float) -> None:
        self.full_name = full_name
        self.timeout_s = timeout_s
        paths = _publish_lock_paths(f"{urlsplit(api_url).netloc}/{full_name}", clone)
        self._locks = [FileLock(str(path), timeout=timeout_s) for path in paths]
        self._held: ExitStack | None = None

    def __enter__(self) -> PublishLock:
        stack = ExitStack()
        try:
            for lock in self._locks:
                stack.enter_context(lock)
        except Timeout:
            stack.close()
            raise PublishLockTimeout(f"another runner kept the publish lock of {self.full_name} for over "
                                     f"{self.timeout_s:.0f} s") from None
        self._held = stack
        return self

    def __exit__(self, *exc: object) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()


def _publish_lock_paths(key: str, clone: Path) -> list[Path]:
    paths = []
    try:
        user_dir = Path.home() / ".cache" / "runner" / "locks"
        user_dir.mkdir(parents=True, exist_ok=True)
        paths.append(user_dir / f"github-{re.sub(r'[^a-z0-9_.-]', '-', key.lower())}.lock")
    except (OSError, RuntimeError):
        pass  # no home, or a read-only one: the clone's lock still serializes runs on this clone
    proc = subprocess.run(["git", "-C", str(clone), "rev-parse", "--path-format=absolute", "--git-common-dir"],
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if proc.returncode == 0 and proc.stdout.strip():
        paths.append(Path(proc.stdout.strip()) / PUBLISH_LOCK)
    return paths
