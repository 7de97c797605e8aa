"""A real `runner process` stopped for good while it holds git's packed-refs.lock (06): by a
second signal, which gives the lock back before exiting, or by SIGKILL, after which the
next run removes the lock it can prove was runner's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import branches, git, issue

pytestmark = pytest.mark.timeout(120)

BULK_REFS = 100_000


def bulk_packed_refs(repo: Path) -> None:
    """Many packed tags, so runner's first write of packed-refs (read, merge, write) takes a
    while: long enough to be caught holding the lock."""
    main = git(repo, "rev-parse", "main").encode()
    with open(repo / ".git" / "packed-refs", "wb") as out:
        out.write(b"# pack-refs with: peeled fully-peeled sorted \n")
        out.write(b"".join(b"%s refs/tags/bulk/%07d\n" % (main, n) for n in range(BULK_REFS)))


def start_runner(tmp_path: Path, repo: Path, issues: Path, state: str = "state") -> subprocess.Popen:
    argv = [
        sys.executable,
        "-m",
        "runner",
        "process",
        str(issues),
        "--repo",
        str(repo),
        "--workers",
        "1",
        "-q",
        "--state-dir",
        str(tmp_path / state),
        "--report-dir",
        str(tmp_path / "reports"),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def all_threads_stopped(pid: int) -> bool:
    for task in Path(f"/proc/{pid}/task").iterdir():
        state = (task / "stat").read_text().rpartition(")")[2].split()[0]
        if state not in ("T", "t"):
            return False
    return True


def freeze_holding_the_lock(proc: subprocess.Popen, repo: Path) -> None:
    """SIGSTOP the run at a moment it holds packed-refs.lock (checked once every thread is stopped)."""
    lock, own = repo / ".git" / "packed-refs.lock", repo / ".git" / "runner-packed-refs.new"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended without being caught holding the lock: {proc.stderr.read()}"
        if lock.exists():
            os.kill(proc.pid, signal.SIGSTOP)
            while not all_threads_stopped(proc.pid):
                time.sleep(0.001)
            try:
                if os.lstat(lock).st_ino == os.lstat(own).st_ino:
                    return
            except FileNotFoundError:
                pass
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.001)
    raise AssertionError("never saw the run holding packed-refs.lock")


@pytest.fixture
def busy_repo(make_repo, write_issues):
    repo = make_repo()
    bulk_packed_refs(repo)
    return repo, write_issues([issue(n, f"Login fails {n}", "login in app/auth/login.py") for n in range(1, 6)])


def test_a_second_signal_gives_packed_refs_lock_back_before_exiting(busy_repo, tmp_path):
    repo, issues = busy_repo
    proc = start_runner(tmp_path, repo, issues)
    freeze_holding_the_lock(proc, repo)
    os.kill(proc.pid, signal.SIGINT)
    os.kill(proc.pid, signal.SIGTERM)
    os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    assert branches(repo) == {}, "the write finished before the second signal stopped it: nothing was tested"
    assert not (repo / ".git" / "packed-refs.lock").exists()
    assert not (repo / ".git" / "runner-packed-refs.new").exists()
    git(repo, "pack-refs", "--all")
    git(repo, "branch", "after-the-stop")


def test_a_lock_left_by_sigkill_is_removed_by_the_next_run(busy_repo, tmp_path, runner_cli):
    repo, issues = busy_repo
    proc = start_runner(tmp_path, repo, issues)
    freeze_holding_the_lock(proc, repo)
    proc.kill()
    proc.wait(timeout=60)
    lock = repo / ".git" / "packed-refs.lock"
    assert lock.exists() and os.lstat(lock).st_ino == os.lstat(repo / ".git" / "runner-packed-refs.new").st_ino
    assert subprocess.run(["git", "-C", str(repo), "pack-refs", "--all"], capture_output=True).returncode != 0
    again = runner_cli("process", str(issues), "--repo", str(repo), "--workers", "1")
    assert again.returncode == 0, again.stderr.decode()
    assert not lock.exists() and not (repo / ".git" / "runner-packed-refs.new").exists()
    assert len(branches(repo)) == 5
    git(repo, "pack-refs", "--all")
    git(repo, "branch", "-D", "runner/issue-1")
    git(repo, "fsck", "--no-dangling")
