"""One GitHub write at a time per clone, across runs.

Runs with different state directories (a cron job and a person) may publish from the same
clone at once. Each looks for its pull request or comment before writing it; without a lock
shared by both, both look, find nothing, and both write. `PublishLock` is held around the
second look and the write only, so two runs take turns per write instead of one waiting for
the other's whole run. It is a flock (filelock) in the clone's common git directory, so the
kernel releases it when the holder dies, however it dies.
"""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock, Timeout

from runner.core.errors import RunnerError
from runner.git.cmd import git_proc

PUBLISH_LOCK = "runner-publish.lock"


class PublishLockTimeout(RunnerError):
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
            raise PublishLockTimeout(
                f"another runner held the publish lock of {self.clone} for over {self.timeout_s:.0f} s"
            ) from None
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock is not None:
            self._lock.release()


def _git_common_dir(clone: Path) -> Path:
    proc = git_proc(clone, "rev-parse", "--path-format=absolute", "--git-common-dir")
    out = proc.stdout.decode("utf-8", "surrogateescape").strip()
    if proc.returncode != 0 or not out:
        raise OSError(f"{clone} is not a git repository: {proc.stderr.decode(errors='replace').strip()}")
    return Path(out)
