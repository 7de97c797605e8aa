"""Branches created straight into packed-refs: git reads them, and no existing ref is ever moved."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import branches, git

from runner.core.models import Identity
from runner.git.packedrefs import PackedRefs, fsyncs_references, read_packed
from runner.git.store import RepoWriter

pytestmark = pytest.mark.timeout(120)


def packed(repo):
    return PackedRefs(repo, repo / ".git")


def heads(names, sha):
    return {f"refs/heads/{name}": sha for name in names}


def test_created_branches_are_read_by_git_and_survive_its_own_packing(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    git(repo, "tag", "-a", "v1", "-m", "release", "main")
    git(repo, "pack-refs", "--all")
    wanted = heads([f"runner/issue-{n}" for n in range(1, 201)], main)
    assert packed(repo).create(wanted).created == wanted
    assert not (repo / ".git" / "refs" / "heads" / "runner").exists()
    assert len(branches(repo)) == 200
    assert git(repo, "rev-parse", "v1^{}") == main
    assert "refs/tags/v1^{}" in git(repo, "show-ref", "-d", "v1")
    traits, records = read_packed(repo / ".git" / "packed-refs")
    assert b"sorted" in traits and b"fully-peeled" in traits
    assert list(records) == sorted(records)
    git(repo, "pack-refs", "--all")
    git(repo, "branch", "-D", "runner/issue-5")
    assert len(branches(repo)) == 199
    git(repo, "fsck", "--no-dangling")


@pytest.mark.parametrize(
    "value, flushed",
    [
        (None, False),
        ("", False),
        ("objects", False),
        ("pack,pack-metadata", False),
        ("-reference", False),
        ("none", False),
        ("reference", True),
        ("ref", True),
        ("committed", True),
        ("added", True),
        ("all", True),
        ("none,reference", True),
        ("reference,-reference", True),
        ("pack, ref", True),
    ],
)
def test_refs_are_flushed_when_core_fsync_names_them_as_git_reads_it(value, flushed):
    """The expectations are git 2.39's own: `strace -e fsync git -c core.fsync=<value> pack-refs`."""
    assert fsyncs_references(value) is flushed


def test_the_repository_config_decides_whether_packed_refs_are_flushed(make_repo):
    repo = make_repo()
    assert packed(repo).fsync is False
    git(repo, "config", "core.fsync", "committed")
    assert packed(repo).fsync is True
    main = git(repo, "rev-parse", "main")
    assert packed(repo).create(heads(["runner/issue-1"], main)).created == heads(["runner/issue-1"], main)
    assert branches(repo)["runner/issue-1"] == main


def test_a_taken_name_is_left_alone(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    side = git(repo, "commit-tree", "-p", "main", "-m", "side", "main^{tree}")
    git(repo, "update-ref", "refs/heads/runner/issue-1", side)
    git(repo, "update-ref", "refs/heads/runner/issue-2", side)
    git(repo, "pack-refs", "--all")
    git(repo, "update-ref", "refs/heads/runner/issue-3", side)
    git(repo, "update-ref", "refs/heads/runner/issue-4/deeper", side)
    wanted = heads(["runner/issue-1", "runner/issue-2", "runner/issue-3", "runner/issue-4", "runner/issue-5"], main)
    created = packed(repo).create(wanted).created
    assert created == heads(["runner/issue-5"], main)
    for n in (1, 2, 3):
        assert git(repo, "rev-parse", f"runner/issue-{n}") == side


def test_a_branch_under_an_existing_branch_name_is_refused(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    git(repo, "branch", "runner")
    assert packed(repo).create(heads(["runner/issue-1"], main)).created == {}
    git(repo, "pack-refs", "--all")
    assert packed(repo).create(heads(["runner/issue-1"], main)).created == {}
    git(repo, "fsck")


def test_a_held_lock_makes_loose_refs_and_stays_untouched(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    lock = repo / ".git" / "packed-refs.lock"
    lock.write_text("someone else's\n")
    wanted = heads(["runner/issue-1", "runner/issue-2"], main)
    created = PackedRefs(repo, repo / ".git", lock_wait_s=0.1).create(wanted).created
    assert len(created) == 2
    assert (repo / ".git" / "refs" / "heads" / "runner" / "issue-1").is_file()
    assert lock.read_text() == "someone else's\n"


def test_names_git_would_refuse_go_through_git(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    wanted = heads(["runner/issue-1", "runner/bad..name", "runner/issue-2.lock", "runner/issue-3"], main)
    created = packed(repo).create(wanted).created
    assert set(created) == {"refs/heads/runner/issue-1", "refs/heads/runner/issue-3"}


def test_creating_while_git_packs_and_moves_refs_loses_nothing(make_repo):
    """git's own writers take the same lock: every ref either side made is there at the end."""
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    stop = threading.Event()
    script = (
        "import subprocess, sys\n"
        "repo = sys.argv[1]\n"
        "for n in range(100):\n"
        "    subprocess.run(['git', '-C', repo, 'branch', f'theirs-{n}', 'main'], check=True)\n"
        "    subprocess.run(['git', '-C', repo, 'pack-refs', '--all'], check=False, capture_output=True)\n"
    )
    theirs = subprocess.Popen([sys.executable, "-c", script, str(repo)])

    def ours() -> None:
        writer = PackedRefs(repo, repo / ".git", lock_wait_s=5.0)
        for start in range(0, 1000, 20):
            wanted = heads([f"runner/issue-{n}" for n in range(start, start + 20)], main)
            assert writer.create(wanted).created == wanted
        stop.set()

    thread = threading.Thread(target=ours)
    thread.start()
    thread.join(timeout=100)
    assert theirs.wait(timeout=100) == 0
    assert stop.is_set()
    assert set(branches(repo)) == {f"runner/issue-{n}" for n in range(1000)}
    assert set(branches(repo, "theirs-*")) == {f"theirs-{n}" for n in range(100)}
    git(repo, "fsck", "--no-dangling")


# --- a writer killed while it holds packed-refs.lock (06) ------------------------------------

BLOCKED_WRITER = """
import sys
from pathlib import Path
from runner.git.packedrefs import PackedRefs
repo = Path(sys.argv[1])
PackedRefs(repo, repo / ".git", fsync=False).create({"refs/heads/runner/issue-9": sys.argv[2]})
"""


def wait_for(condition, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.01)


def blocked_writer(repo: Path, sha: str) -> subprocess.Popen:
    """A real process that takes runner-refs.lock and packed-refs.lock and then stays in the
    middle of its write: packed-refs is a FIFO nobody writes to, so reading it never returns.
    Once the lock is there the FIFO is replaced by an empty packed-refs for everyone else."""
    packed_refs = repo / ".git" / "packed-refs"
    os.mkfifo(packed_refs)
    proc = subprocess.Popen([sys.executable, "-c", BLOCKED_WRITER, str(repo), sha])
    wait_for(lambda: (repo / ".git" / "packed-refs.lock").exists() or proc.poll() is not None, "the lock")
    assert proc.poll() is None
    plain = repo / ".git" / "packed-refs.new-for-test"
    plain.write_text("")
    os.replace(plain, packed_refs)
    return proc


def same_file(a: Path, b: Path) -> bool:
    return os.lstat(a).st_ino == os.lstat(b).st_ino


def test_a_lock_left_by_a_killed_writer_goes_at_the_next_write_and_git_works_again(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    lock, own = repo / ".git" / "packed-refs.lock", repo / ".git" / "runner-packed-refs.new"
    writer = blocked_writer(repo, main)
    assert same_file(lock, own)
    writer.kill()
    writer.wait()
    assert lock.exists()
    refused = subprocess.run(["git", "-C", str(repo), "pack-refs", "--all"], capture_output=True)
    assert refused.returncode != 0 and b"packed-refs.lock" in refused.stderr
    assert packed(repo).create(heads(["runner/issue-1"], main)).created == heads(["runner/issue-1"], main)
    assert not lock.exists() and not own.exists()
    git(repo, "pack-refs", "--all")
    git(repo, "branch", "-d", "runner/issue-1")


def test_a_lock_left_by_a_killed_run_goes_when_the_next_run_opens_the_repository(make_repo):
    repo = make_repo()
    writer = blocked_writer(repo, git(repo, "rev-parse", "main"))
    lock = repo / ".git" / "packed-refs.lock"
    RepoWriter(repo, Identity(), "runner/issue-", None).close()
    assert lock.exists(), "the writer is alive and holds runner-refs.lock: its lock is not stale"
    RepoWriter(repo, Identity(), "runner/issue-", None, dry_run=True).close()
    writer.kill()
    writer.wait()
    RepoWriter(repo, Identity(), "runner/issue-", None, dry_run=True).close()
    assert lock.exists(), "a dry run removes nothing"
    RepoWriter(repo, Identity(), "runner/issue-", None).close()
    assert not lock.exists() and not (repo / ".git" / "runner-packed-refs.new").exists()
    git(repo, "pack-refs", "--all")


def test_a_lock_git_holds_is_never_removed(make_repo):
    """A live `git update-ref` transaction holds packed-refs.lock (deleting a packed ref) while
    runner finds a leftover of its own from a killed run: runner removes only its leftover,
    waits, makes its branch through git, and git's transaction then completes."""
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    git(repo, "branch", "doomed")
    git(repo, "pack-refs", "--all")
    lock, own = repo / ".git" / "packed-refs.lock", repo / ".git" / "runner-packed-refs.new"
    theirs = subprocess.Popen(
        ["git", "-C", str(repo), "update-ref", "--stdin"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    theirs.stdin.write(b"start\ndelete refs/heads/doomed\nprepare\n")
    theirs.stdin.flush()
    assert theirs.stdout.readline() == b"start: ok\n" and theirs.stdout.readline() == b"prepare: ok\n"
    held = os.lstat(lock).st_ino
    own.write_text("left by a run killed after its rename\n")
    created = PackedRefs(repo, repo / ".git", lock_wait_s=0.2).create(heads(["runner/issue-1"], main)).created
    assert created == heads(["runner/issue-1"], main)
    assert os.lstat(lock).st_ino == held and not own.exists()
    theirs.stdin.write(b"commit\n")
    theirs.stdin.close()
    assert theirs.stdout.read() == b"commit: ok\n" and theirs.wait() == 0
    assert not lock.exists() and "doomed" not in git(repo, "branch")
    git(repo, "pack-refs", "--all")
