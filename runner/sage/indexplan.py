"""Which earlier index a commit's index is made from: a delta over a full index near it, that
index compacted with the changes, or a fresh build.

    load_or_build(commit) ──nearest──> indexes of commits this repository has, few changes away
                          ──update───> indexwrite.delta | indexwrite.compact | indexwrite.build

A delta is cheap (only the changed blobs are read) but is scored partly with its base's
statistics, so it is kept to `DELTA_SHARE` of the files; a commit further away than
`MAX_CHANGED_SHARE` of the files is built afresh.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from runner.git.blobs import diff_tree
from runner.git.cmd import git_proc, run_git
from runner.sage import indexwrite
from runner.sage.indexwrite import SCHEMA_VERSION, uri

NEAREST = 6
MAX_CHANGED_SHARE = 0.5
DELTA_SHARE = 0.02
DELTA_MIN = 64

Found = list[tuple[Path, dict[str, str], dict[str, str | None]]]


def update(repo: Path, commit: str, path: Path, found: Found) -> None:
    """`path` as a delta from the newest of the indexes `found` that can take one (a changed file
    holds a row, a base file it hides another); else a copy of the full index (or a delta's
    base) with the fewest changes, compacted; else a fresh build."""
    for index, meta, changes in found:
        layered = meta.get("kind") == "delta"
        rows = int(meta["rows"]) if layered else 0
        if rows + 2 * len(changes) <= max(DELTA_MIN, int(meta["files"]) * DELTA_SHARE):
            base = index.parent / meta["base"] if layered else index
            indexwrite.delta(repo, base, commit, changes, path, previous=index if layered else None)
            return
    full = [(index, meta["commit"], changes) for index, meta, changes in found if meta.get("kind") != "delta"]
    if not full and found:
        index, meta, _ = found[0]
        since_base = diff_tree(repo, meta["base_commit"], commit)
        if len(since_base) <= max(10, int(meta["files"]) * MAX_CHANGED_SHARE):
            full = [(index.parent / meta["base"], meta["base_commit"], since_base)]
    if full:
        base, base_commit, changes = min(full, key=lambda f: len(f[2]))
        indexwrite.compact(repo, base, base_commit, commit, changes, path)
    else:
        indexwrite.build(repo, commit, path)


def meta_of(path: Path) -> dict[str, str] | None:
    """The meta of an index file that can be updated from (a delta's base still there); None otherwise."""
    try:
        db = sqlite3.connect(uri(path, mode="ro", immutable="1"), uri=True)
        try:
            meta = read_meta(db, "main")
        finally:
            db.close()
    except (sqlite3.DatabaseError, ValueError):
        return None
    if meta.get("kind") == "delta" and not (path.parent / meta["base"]).is_file():
        return None
    return meta


def nearest(repo: Path, commit: str, cache_dir: Path, keep: int) -> Found:
    """Up to `NEAREST` of the newest indexes in `cache_dir` of commits this repository has, close
    enough to update from: (file, meta, the paths changed since its commit), newest first."""
    candidates = sorted(cache_dir.glob("codeindex-*.sqlite"), key=lambda p: p.stat().st_mtime, reverse=True)
    found: Found = []
    for path in candidates[:keep]:
        other = path.stem.removeprefix("codeindex-")
        meta = meta_of(path) if is_sha(other) and has_commit(repo, other) else None
        if meta is None:
            continue
        changes = diff_tree(repo, other, commit)
        if len(changes) <= max(10, int(meta["files"]) * MAX_CHANGED_SHARE):
            found.append((path, meta, changes))
            if len(found) >= NEAREST:
                break
    return found


def read_meta(db: sqlite3.Connection, schema: str) -> dict[str, str]:
    meta = dict(db.execute(f"SELECT key, value FROM {schema}.meta"))
    if meta.get("version") != SCHEMA_VERSION:
        raise ValueError(f"code index version {meta.get('version')!r}, expected {SCHEMA_VERSION}")
    return meta


def is_sha(value: str) -> bool:
    return len(value) == 40 and all(c in "0123456789abcdef" for c in value)


def has_commit(repo: Path, commit: str) -> bool:
    return git_proc(repo, "cat-file", "-e", f"{commit}^{{commit}}").returncode == 0


def resolve(repo: Path, rev: str) -> str:
    return run_git(repo, "rev-parse", "--verify", f"{rev}^{{commit}}")
