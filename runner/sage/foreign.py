"""What a fixer command changed outside its worktree: refs, HEAD and config of the main checkout.

    main_refs (before) ── command runs ── main_refs (after)
        └── differences ── minus runner's own moves of issue branches ──> foreign_changes

A command works in a worktree, but it can reach the main checkout (`git -C
$RUNNER_REPO ...`). What it does there is not part of its change and is never
committed; it is listed in the report so a person sees it. While the command
runs, runner itself moves issue branches (other issues' commits), so those
moves are told apart from the command's by what they are, not by their names:
a branch planted under the prefix is exactly what a command could do to make
runner build a later issue on its commit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path

from runner.core.display import readable
from runner.git.store import GitError
from runner.sage.worktrees import RepoDirs, git

# The line every commit of runner's git writer carries (records.commit_message).
ISSUE_TRAILER = "Runner-Issue: "


def main_refs(repo: Path, dirs: RepoDirs) -> dict[str, str]:
    """The main checkout's branches, tags, stash, HEAD and config (as a hash)."""
    out = git(
        "-C", str(repo), "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags", "refs/stash"
    )
    refs = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        oid, _, name = line.partition(" ")
        refs[name] = oid
    refs["HEAD"] = _read_text(dirs.git_dir / "HEAD")
    refs["config"] = hashlib.sha256(_read_text(dirs.common / "config").encode()).hexdigest()
    return refs


def foreign_changes(repo: Path, before: Mapping[str, str], after: Mapping[str, str], branch_prefix: str) -> list[str]:
    """The differences runner did not make itself, one line each (`describe_ref_changes`).

    While a command runs, runner itself changes only issue branches
    (`refs/heads/<prefix><N>`), in two ways: the git writer adds a commit for issue N
    on top of the tip (its message has the line `Runner-Issue: N`), and a worker on a
    clone aligns the branch with the tip the remote has. Any other move of such a
    branch (a deletion, a branch planted at some other commit, a rewind) is listed,
    like any change anywhere else; the issue's own branch gets no exemption either.
    """
    moved = {
        name: (before.get(name), after.get(name))
        for name in before.keys() | after.keys()
        if before.get(name) != after.get(name)
    }
    ours = _runner_moves(repo, moved, f"refs/heads/{branch_prefix}")
    return describe_ref_changes(
        {k: v for k, v in before.items() if k not in ours}, {k: v for k, v in after.items() if k not in ours}
    )


def _runner_moves(repo: Path, moved: Mapping[str, tuple[str | None, str | None]], prefix: str) -> set[str]:
    candidates = {
        name: (old, new)
        for name, (old, new) in moved.items()
        if new is not None and _issue_number(name, prefix) is not None
    }
    if not candidates:
        return set()
    commits = _read_commits(repo, {new for _, new in candidates.values() if new is not None})
    ours, rest = set(), {}
    for name, (old, new) in candidates.items():
        parents, message = commits.get(new or "", ((), ""))
        committed = f"{ISSUE_TRAILER}{_issue_number(name, prefix)}" in message.splitlines()
        if committed and (old is None or old in parents or _is_ancestor(repo, old, new or "")):
            ours.add(name)
        else:
            rest[name] = new
    if rest:
        remote = _remote_tips(repo)
        ours.update(name for name, new in rest.items() if new in remote.get(name[len("refs/heads/") :], ()))
    return ours


def _issue_number(ref: str, prefix: str) -> int | None:
    rest = ref[len(prefix) :] if ref.startswith(prefix) else ""
    return int(rest) if rest.isascii() and rest.isdigit() else None


def _read_commits(repo: Path, oids: set[str]) -> dict[str, tuple[tuple[str, ...], str]]:
    """(parents, message) of each oid that names a commit, through one `git cat-file --batch`."""
    ordered = sorted(oids)
    out = git("-C", str(repo), "cat-file", "--batch", input="".join(f"{oid}\n" for oid in ordered).encode())
    found, pos = {}, 0
    for oid in ordered:
        end = out.index(b"\n", pos)
        header = out[pos:end].split(b" ")
        if len(header) != 3:  # "<oid> missing"
            pos = end + 1
            continue
        size = int(header[2])
        body = out[end + 1 : end + 1 + size]
        pos = end + 1 + size + 1
        if header[1] == b"commit":
            head, _, message = body.partition(b"\n\n")
            parents = tuple(line[7:].decode() for line in head.split(b"\n") if line.startswith(b"parent "))
            found[oid] = (parents, message.decode("utf-8", "replace"))
    return found


def _is_ancestor(repo: Path, old: str, new: str) -> bool:
    try:
        git("-C", str(repo), "merge-base", "--is-ancestor", old, new)
    except GitError:
        return False
    return True


def _remote_tips(repo: Path) -> dict[str, set[str]]:
    """Branch name -> the tips remote-tracking refs hold for it (`refs/remotes/<remote>/<branch>`)."""
    out = git("-C", str(repo), "for-each-ref", "--format=%(objectname) %(refname)", "refs/remotes")
    tips: dict[str, set[str]] = {}
    for line in out.decode("utf-8", "surrogateescape").splitlines():
        oid, _, name = line.partition(" ")
        parts = name.split("/", 3)
        if len(parts) == 4:
            tips.setdefault(parts[3], set()).add(oid)
    return tips


def describe_ref_changes(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """One line per difference, e.g. `refs/heads/evil: created at 1a2b...`; odd bytes in names escaped."""
    lines = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        shown = readable(name)
        if name == "config":
            lines.append("config: changed")
        elif old is None:
            lines.append(f"{shown}: created at {new}")
        elif new is None:
            lines.append(f"{shown}: deleted (was {old})")
        else:
            lines.append(f"{shown}: {old} -> {new}")
    return lines


def _read_text(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except FileNotFoundError:
        return ""
