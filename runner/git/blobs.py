"""A commit's files straight from git's object store: the tree listing and blob contents.

Never the working tree, which may be dirty: an index of a commit must be a function of the
commit alone, so clones at one commit share it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from runner.git.cmd import GitError, git_proc, open_git


def ls_tree(repo: Path, commit: str) -> list[tuple[str, str, int]]:
    """(path, blob id, size) of every regular file of `commit` (symlinks and submodules left out)."""
    proc = git_proc(repo, "ls-tree", "-r", "-z", "--long", "--full-tree", commit, "--")
    if proc.returncode != 0:
        raise GitError(f"git ls-tree {commit} in {repo}: {proc.stderr.decode(errors='replace').strip()}")
    entries = []
    for record in proc.stdout.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha, size = meta.split()
        if kind == b"blob" and mode != b"120000":
            entries.append((name.decode("utf-8", "surrogateescape"), sha.decode(), int(size)))
    return entries


def read_blobs(repo: Path, wanted: list[tuple[int, str]]) -> Iterator[tuple[int, bytes]]:
    """(key, contents) of each (key, blob id), streamed through one `git cat-file --batch`."""
    if not wanted:
        return
    proc = open_git(repo, "cat-file", "--batch")
    assert proc.stdin and proc.stdout
    request = "".join(f"{sha}\n" for _, sha in wanted).encode()
    feeder = threading.Thread(target=_feed, args=(proc.stdin, request), daemon=True)
    feeder.start()
    try:
        for key, _ in wanted:
            header = proc.stdout.readline().split()
            if len(header) != 3:
                raise GitError(f"git cat-file in {repo}: {b' '.join(header).decode(errors='replace')}")
            data = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)
            yield key, data
    finally:
        proc.stdout.close()
        proc.wait()
        feeder.join()


def _feed(pipe: IO[bytes], data: bytes) -> None:
    """Write requests from a thread so a full output pipe cannot deadlock us."""
    try:
        pipe.write(data)
        pipe.close()
    except (BrokenPipeError, ValueError):
        pass


def as_text(data: bytes) -> str | None:
    """The blob as text (UTF-8, else Latin-1, which never fails); None for a binary one (a NUL early on)."""
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def diff_tree(repo: Path, old: str, new: str) -> dict[str, str | None]:
    """{path: its blob id in `new`, or None where `new` has no regular file} for every path that
    differs between two commits (a rename is a deletion and an addition). One tree walk of the
    parts that changed: listing a 16,000-file tree with sizes took a second."""
    proc = git_proc(repo, "diff-tree", "-r", "-z", "--no-renames", "--raw", old, new, "--")
    if proc.returncode != 0:
        raise GitError(f"git diff-tree {old} {new} in {repo}: {proc.stderr.decode(errors='replace').strip()}")
    fields = proc.stdout.split(b"\0")
    changes: dict[str, str | None] = {}
    for meta, name in zip(fields[0::2], fields[1::2], strict=False):
        _, mode, _, sha, status = meta.lstrip(b":").split()
        regular = mode.startswith(b"100") and status != b"D"
        changes[name.decode("utf-8", "surrogateescape")] = sha.decode() if regular else None
    return changes


def blob_sizes(repo: Path, shas: list[str]) -> dict[str, int]:
    """{blob id: size in bytes}, from one `git cat-file --batch-check`."""
    if not shas:
        return {}
    proc = git_proc(repo, "cat-file", "--batch-check", input="".join(f"{sha}\n" for sha in shas).encode())
    sizes = {}
    for line in proc.stdout.decode().splitlines():
        fields = line.split()
        if len(fields) != 3:
            raise GitError(f"git cat-file in {repo}: {line}")
        sizes[fields[0]] = int(fields[2])
    return sizes
