"""git's `packed-refs.lock`, taken so that a run killed while holding it leaves nothing behind
that would block every later ref write.

A run killed while it holds `packed-refs.lock` must not leave it behind: every git
command that writes refs would fail until someone removed it by hand. So the lock is
taken by hard-linking a file of runner's own, `runner-packed-refs.new`, to the lock's
name (atomic and exclusive, like git's O_EXCL), and that file is only unlinked after
the lock has been renamed away. While both names exist they are one inode, which no
other file can have: a `packed-refs.lock` that is the same file as a leftover
`runner-packed-refs.new` was runner's, and, since every runner holds its
`runner-refs.lock` (an flock, released by the kernel however the holder died) while
it holds `packed-refs.lock`, it is stale whenever that lock is free. Any other
`packed-refs.lock` (git's own, live or not) is never touched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

from runner.core.logs import LOGGER

log = logging.getLogger(LOGGER)

OWN_NAME = "runner-packed-refs.new"
GIT_LOCK_NAME = "packed-refs.lock"


# Every packed-refs.lock this process holds, for a second signal to remove on the way out:
# {lock path: the lock's own file}. Linking, renaming and the last look happen under _GUARD.
_GUARD = threading.RLock()
_HELD: dict[str, OwnLock] = {}


class OwnLock:
    """runner's file, and packed-refs.lock while it is linked there (see the module's docstring)."""

    def __init__(self, path: str, lock_path: str, fd: int) -> None:
        self.path = path
        self.lock_path = lock_path
        self.fd = fd
        self.ino = os.fstat(fd).st_ino
        self.linked = False

    @classmethod
    def open(cls, common_dir: Path) -> OwnLock:
        path = os.path.join(common_dir, OWN_NAME)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        return cls(path, os.path.join(common_dir, GIT_LOCK_NAME), fd)

    def link(self) -> bool:
        """Take packed-refs.lock; False while someone else has it."""
        with _GUARD:
            try:
                os.link(self.path, self.lock_path)
            except FileExistsError:
                return False
            self.linked = True
            _HELD[self.lock_path] = self
        return True

    def commit(self, target: str) -> None:
        """Rename the lock over `target`, as git does."""
        with _GUARD:
            os.replace(self.lock_path, target)
            self.linked = False
            _HELD.pop(self.lock_path, None)

    def drop(self) -> None:
        """Give the lock up if still held, then remove runner's own name for the file."""
        with _GUARD:
            if self.linked:
                _unlink_if_same(self.lock_path, self.ino)
                self.linked = False
                _HELD.pop(self.lock_path, None)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def release_held_locks() -> None:
    """Remove the packed-refs.lock this process holds, before it exits without unwinding
    (a second SIGINT/SIGTERM). The guard is kept: no thread may take or rename one after."""
    if not _GUARD.acquire(timeout=2.0):
        return
    for own in list(_HELD.values()):
        with contextlib.suppress(OSError):
            _unlink_if_same(own.lock_path, own.ino)
        with contextlib.suppress(OSError):
            os.unlink(own.path)
    _HELD.clear()


def clear_stale_lock(common_dir: Path) -> bool:
    """Remove what a killed runner left: its own file, and packed-refs.lock if that is the
    same file. Call it holding runner-refs.lock (so no live runner is mid-write); answers
    whether a packed-refs.lock was removed. One lstat when there is nothing to do."""
    own = os.path.join(common_dir, OWN_NAME)
    try:
        ino = os.lstat(own).st_ino
    except FileNotFoundError:
        return False
    removed = _unlink_if_same(os.path.join(common_dir, GIT_LOCK_NAME), ino)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(own)
    if removed:
        log.warning("removed %s/%s left by a runner that was killed while writing it", common_dir, GIT_LOCK_NAME)
    return removed


def _unlink_if_same(path: str, ino: int) -> bool:
    """Unlink `path` if it is the file `ino` (which runner's own name keeps from being reused)."""
    try:
        if os.lstat(path).st_ino != ino:
            return False
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
