"""What a command changed in its worktree, as `git status` sees it: staged with `git add -A` in a
copy of the worktree's index (so its own index stays as the command left it), listed with
`git diff --cached --raw` and read as blobs, so filters apply as in a commit and a symlink
yields its target path, never the file it points at.
"""

from __future__ import annotations

import shutil

from runner.git.store import GitError
from runner.sage.worktrees import Worktree, git

_NULL_MODE = b"000000"
_GITLINK_MODE = b"160000"


def collect_changes(worktree: Worktree, start: str) -> tuple[dict[str, bytes | None], dict[str, str]]:
    """Everything that differs from `start`, as `git status` sees it (ignored files are not): edits,
    new and deleted files, and commits the command made. Staged in a copy of the worktree's index."""
    at = ("-C", str(worktree.path), "--git-dir", str(worktree.admin_dir), "--work-tree", str(worktree.path))
    index = worktree.index_file
    try:
        shutil.copyfile(worktree.admin_dir / "index", index)
    except FileNotFoundError:
        index.unlink(missing_ok=True)
    try:
        git(*at, "add", "-A", index_file=index)
        raw = git(*at, "diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev", start, index_file=index)
    finally:
        index.unlink(missing_ok=True)
    entries = _parse_raw_diff(raw)
    blobs = _read_blobs(at, [oid for _, mode, oid in entries if mode != _NULL_MODE])
    changed: dict[str, bytes | None] = {}
    modes: dict[str, str] = {}
    for path, mode, oid in entries:
        if mode == _NULL_MODE:
            changed[path] = None
        else:
            changed[path] = blobs[oid]
            modes[path] = mode.decode()
    return changed, modes


def _parse_raw_diff(raw: bytes) -> list[tuple[str, bytes, str]]:
    """(path, new mode, new object id) per entry; submodules and anything under .git are left out."""
    fields = raw.split(b"\0")
    entries = []
    for meta, path in zip(fields[0::2], fields[1::2], strict=False):
        _old_mode, new_mode, _old_oid, new_oid, _status = meta.lstrip(b":").split(b" ")
        name = path.decode("utf-8", "surrogateescape")
        if new_mode == _GITLINK_MODE or name.split("/", 1)[0] == ".git":
            continue
        entries.append((name, new_mode, new_oid.decode()))
    return entries


def _read_blobs(at: tuple[str, ...], oids: list[str]) -> dict[str, bytes]:
    if not oids:
        return {}
    out = git(*at, "cat-file", "--batch", input="".join(f"{oid}\n" for oid in oids).encode())
    blobs, pos = {}, 0
    for _ in oids:
        end = out.index(b"\n", pos)
        oid, kind, size = out[pos:end].decode().split(" ")
        if kind != "blob":
            raise GitError(f"object {oid} is a {kind}, not a blob")
        start = end + 1
        blobs[oid] = out[start : start + int(size)]
        pos = start + int(size) + 1
    return blobs
