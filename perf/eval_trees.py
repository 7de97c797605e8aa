"""The evaluation's git side: bare clones of the bundles and the text files of one tree.

Kept apart from runner's own index on purpose: the BM25 baseline reads the trees with
this code, so a bug in runner's reader cannot flatter both sides at once.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

BASELINE_MAX_FILE_BYTES = 1024 * 1024


def bare_clone(bundle: Path, cache: Path) -> Path:
    """`cache/<name>.git`, cloned from `bundle` once (a clone whose tags are missing is refreshed)."""
    target = cache / f"{bundle.stem}.git"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        partial = cache / f"{bundle.stem}.git.partial"
        if partial.exists():
            subprocess.run(["rm", "-rf", "--", str(partial)], check=True)
        subprocess.run(["git", "clone", "-q", "--bare", "--", str(bundle), str(partial)], check=True)
        partial.rename(target)
    return target


def commit_of(git_dir: Path, base_commit: str) -> str:
    """The bundle's commit holding the tree of `base_commit` (tagged `base/<base_commit>`)."""
    out = subprocess.run(
        ["git", "-C", str(git_dir), "rev-parse", "--verify", "--quiet", f"refs/tags/base/{base_commit}^{{commit}}"],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        raise LookupError(f"{git_dir}: no tag base/{base_commit}")
    return out.stdout.strip()


def text_files(git_dir: Path, commit: str, max_bytes: int = BASELINE_MAX_FILE_BYTES) -> Iterator[tuple[str, str]]:
    """(path, text) of every blob of `commit` up to `max_bytes` with no NUL byte in its first 8 KiB."""
    listing = subprocess.run(
        ["git", "-C", str(git_dir), "ls-tree", "-r", "-z", "--long", commit], capture_output=True, check=True
    ).stdout
    wanted: list[tuple[str, str]] = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, sha, size = meta.split()
        if kind == b"blob" and mode != b"120000" and int(size) <= max_bytes:
            wanted.append((name.decode("utf-8", "surrogateescape"), sha.decode()))
    proc = subprocess.run(
        ["git", "-C", str(git_dir), "cat-file", "--batch"],
        input="".join(f"{sha}\n" for _, sha in wanted).encode(),
        capture_output=True,
        check=True,
    )
    data, at = proc.stdout, 0
    for path, _ in wanted:
        end = data.index(b"\n", at)
        size = int(data[at:end].split()[2])
        blob = data[end + 1 : end + 1 + size]
        at = end + 2 + size
        if b"\0" not in blob[:8192]:
            yield path, blob.decode("utf-8", "replace")
