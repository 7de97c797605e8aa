"""Branches created straight into packed-refs: git reads them, and no existing ref is ever moved."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from conftest import branches, git
from runner.packedrefs import PackedRefs, fsyncs_references, read_packed

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
    assert packed(repo).create(wanted) == wanted
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


@pytest.mark.parametrize("value, flushed", [
    (None, False), ("", False), ("objects", False), ("pack,pack-metadata", False), ("-reference", False),
    ("none", False), ("reference", True), ("ref", True), ("committed", True), ("added", True), ("all", True),
    ("none,reference", True), ("reference,-reference", True), ("pack, ref", True),
])
def test_refs_are_flushed_when_core_fsync_names_them_as_git_reads_it(value, flushed):
    """The expectations are git 2.39's own: `strace -e fsync git -c core.fsync=<value> pack-refs`."""
    assert fsyncs_references(value) is flushed


def test_the_repository_config_decides_whether_packed_refs_are_flushed(make_repo):
    repo = make_repo()
    assert packed(repo).fsync is False
    git(repo, "config", "core.fsync", "committed")
    assert packed(repo).fsync is True
    main = git(repo, "rev-parse", "main")
    assert packed(repo).create(heads(["runner/issue-1"], main)) == heads(["runner/issue-1"], main)
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
    created = packed(repo).create(wanted)
    assert created == heads(["runner/issue-5"], main)
    for n in (1, 2, 3):
        assert git(repo, "rev-parse", f"runner/issue-{n}") == side


def test_a_branch_under_an_existing_branch_name_is_refused(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    git(repo, "branch", "runner")
    assert packed(repo).create(heads(["runner/issue-1"], main)) == {}
    git(repo, "pack-refs", "--all")
    assert packed(repo).create(heads(["runner/issue-1"], main)) == {}
    git(repo, "fsck")


def test_a_held_lock_makes_loose_refs_and_stays_untouched(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    lock = repo / ".git" / "packed-refs.lock"
    lock.write_text("someone else's\n")
    created = PackedRefs(repo, repo / ".git", lock_wait_s=0.1).create(heads(["runner/issue-1", "runner/issue-2"], main))
    assert len(created) == 2
    assert (repo / ".git" / "refs" / "heads" / "runner" / "issue-1").is_file()
    assert lock.read_text() == "someone else's\n"


def test_names_git_would_refuse_go_through_git(make_repo):
    repo = make_repo()
    main = git(repo, "rev-parse", "main")
    wanted = heads(["runner/issue-1", "runner/bad..name", "runner/issue-2.lock", "runner/issue-3"], main)
    created = packed(repo).create(wanted)
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
            assert writer.create(wanted) == wanted
        stop.set()

    thread = threading.Thread(target=ours)
    thread.start()
    thread.join(timeout=100)
    assert theirs.wait(timeout=100) == 0
    assert stop.is_set()
    assert set(branches(repo)) == {f"runner/issue-{n}" for n in range(1000)}
    assert set(branches(repo, "theirs-*")) == {f"theirs-{n}" for n in range(100)}
    git(repo, "fsck", "--no-dangling")
