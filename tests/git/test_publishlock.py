"""Two runs publishing from one clone take turns per write, and a dead holder frees the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.git.publishlock import PublishLock, PublishLockTimeout

HOLD = """
import sys, time
from pathlib import Path
from runner.git.publishlock import PublishLock
with PublishLock(Path(sys.argv[1]), timeout_s=5):
    print("held", flush=True)
    time.sleep(600)
"""


def _holder(clone: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(clone)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_run_waits_and_then_says_who_held_it(make_repo) -> None:
    clone = make_repo()
    holder = _holder(clone)
    try:
        with pytest.raises(PublishLockTimeout, match="publish lock"), PublishLock(clone, timeout_s=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_kernel_frees_the_lock_of_a_killed_holder(make_repo) -> None:
    clone = make_repo()
    holder = _holder(clone)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    started = time.monotonic()
    with PublishLock(clone, timeout_s=5):
        assert time.monotonic() - started < 5


def test_worktrees_of_one_clone_share_the_lock(make_repo, tmp_path: Path) -> None:
    clone = make_repo()
    worktree = tmp_path / "wt"
    subprocess.run(["git", "-C", str(clone), "worktree", "add", "-q", str(worktree)], check=True, capture_output=True)
    holder = _holder(clone)
    try:
        with pytest.raises(PublishLockTimeout), PublishLock(worktree, timeout_s=0.3):
            pass
    finally:
        holder.kill()
        holder.wait()


def test_not_a_repository_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="not a git repository"), PublishLock(tmp_path, timeout_s=1):
        pass
