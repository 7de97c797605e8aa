"""runner.git.blobs: a commit's files read from git's object store, never from the working tree."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import IDENTITY

from runner.git.blobs import as_text, blob_sizes, diff_tree, ls_tree, read_blobs
from runner.git.cmd import GitError


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], env={**os.environ, **IDENTITY}, capture_output=True, check=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "app").mkdir()
    (path / "app" / "login.py").write_text("def login(user):\n    return user\n")
    (path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00zebra")
    (path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    (path / os.fsdecode(b"l\xe9gacy.py")).write_bytes(b"old = 1\n")
    (path / "link").symlink_to("app/login.py")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "files")
    return path


def test_the_tree_lists_regular_files_with_git_s_bytes_and_sizes(repo: Path) -> None:
    entries = {path: size for path, _, size in ls_tree(repo, "HEAD")}
    assert set(entries) == {"app/login.py", "logo.png", "latin1.txt", os.fsdecode(b"l\xe9gacy.py")}
    assert entries["app/login.py"] == len("def login(user):\n    return user\n")
    assert os.fsdecode(b"l\xe9gacy.py").encode("utf-8", "surrogateescape") == b"l\xe9gacy.py"


def test_blobs_come_from_the_commit_not_the_working_tree(repo: Path) -> None:
    (repo / "app" / "login.py").write_text("uncommitted\n")
    entries = ls_tree(repo, "HEAD")
    blobs = dict(read_blobs(repo, [(i, sha) for i, (_, sha, _) in enumerate(entries)]))
    texts = {entries[i][0]: as_text(data) for i, data in blobs.items()}
    assert texts["app/login.py"] == "def login(user):\n    return user\n"
    assert texts["logo.png"] is None and texts["latin1.txt"] == "café\n"


def test_an_unknown_commit_or_blob_fails_loudly(repo: Path) -> None:
    with pytest.raises(GitError):
        ls_tree(repo, "0" * 40)
    with pytest.raises(GitError):
        list(read_blobs(repo, [(0, "1" * 40)]))


def test_a_diff_lists_changed_added_and_deleted_files_with_their_new_blobs(repo: Path) -> None:
    old = git(repo, "rev-parse", "HEAD")
    (repo / "app" / "login.py").write_text("def login(user, password):\n    return user\n")
    (repo / "app" / "new.py").write_text("x = 1\n")
    (repo / "latin1.txt").unlink()
    (repo / "link").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "change")
    changes = diff_tree(repo, old, "HEAD")
    assert changes.keys() == {"app/login.py", "app/new.py", "latin1.txt", "link"}
    assert changes["latin1.txt"] is None and changes["link"] is None
    sizes = blob_sizes(repo, [changes["app/login.py"], changes["app/new.py"]])
    assert sizes == {changes["app/login.py"]: 43, changes["app/new.py"]: 6}
    assert dict(read_blobs(repo, [(0, changes["app/new.py"])])) == {0: b"x = 1\n"}
