"""Commit each issue's files on its own branch without touching any checkout.

    results ──> RepoWriter.write(batch) ──(file lock held)──> git fast-import
                      │                                         (objects + ref updates,
                      └── git cat-file --batch-check             checkpoint per batch)
                          (is the branch's plan already there?)

Why fast-import: one commit per issue must not cost one git process per object.
A persistent fast-import stream writes blobs, trees and commits in-process and
updates refs at each checkpoint; it refuses non-fast-forward updates, so a
branch is never rewritten. The user's working tree, index, HEAD and stash are
never read or written: only objects and `refs/heads/<prefix><N>`.

Ref updates are serialized per repository with an inter-process file lock in
the repository's git directory, so every run on that repository (whatever its
state directory) and every process in a run take turns.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from runner.config import Identity
from runner.models import COMMITTED, FAILED, UNCHANGED, CommitOutcome

LOCK_NAME = "runner-refs.lock"
LOCK_TIMEOUT_S = 600.0
GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}


class GitError(Exception):
    """A git command failed; the message has git's own words."""


@dataclass(frozen=True, slots=True)
class WriteItem:
    number: int
    branch: str
    directory: str
    files: dict[str, bytes]
    message: str


def run_git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git with an argument list (never a shell); stdout as text."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env={**os.environ, **GIT_ENV}
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])} in {repo}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def check_repository(repo: Path) -> Path:
    """The repository's common git directory; raises GitError if `repo` is not a git repository."""
    if not repo.is_dir():
        raise GitError(f"{repo} does not exist or is not a directory")
    common = run_git(repo, "rev-parse", "--path-format=absolute", "--git-common-dir")
    return Path(common)


def resolve_base(repo: Path, base: str | None) -> tuple[str, str]:
    """(name, commit) of the branch new issue branches start from."""
    if base is None:
        base = run_git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False) or "HEAD"
    if base.startswith("-"):
        raise GitError(f"base {base!r} is not a valid revision")
    commit = run_git(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}", check=False)
    if not commit:
        raise GitError(f"{repo}: base {base!r} does not name a commit (is the repository empty?)")
    return base, commit


class ObjectHasher:
    """Git object ids computed locally, to know without git whether a tree changed."""

    def __init__(self, object_format: str) -> None:
        self.algorithm = "sha256" if object_format == "sha256" else "sha1"

    def blob(self, data: bytes) -> bytes:
        return hashlib.new(self.algorithm, b"blob %d\0" % len(data) + data).digest()

    def flat_tree(self, files: dict[str, bytes]) -> str:
        entries = sorted((name.encode(), self.blob(data)) for name, data in files.items())
        body = b"".join(b"100644 " + name + b"\0" + digest for name, digest in entries)
        return hashlib.new(self.algorithm, b"tree %d\0" % len(body) + body).hexdigest()


class RepoWriter:
    """Writes batches of issue commits to one repository."""

    def __init__(self, repo: Path, identity: Identity, branch_prefix: str, base: str | None, dry_run: bool = False):
        self.repo = repo
        self.identity = identity
        self.branch_prefix = branch_prefix
        self.dry_run = dry_run
        self.git_dir = check_repository(repo)
        self.base_name, self.base_commit = resolve_base(repo, base)
        self.hasher = ObjectHasher(run_git(repo, "rev-parse", "--show-object-format", check=False) or "sha1")
        self.lock = FileLock(str(self.git_dir / LOCK_NAME), timeout=LOCK_TIMEOUT_S)
        self._importer: _FastImport | None = None
        self._checker = _ObjectChecker(repo)
        self._io = threading.Lock()

    def write(self, items: list[WriteItem]) -> list[CommitOutcome]:
        """Commit what changed, under the repository lock; one outcome per item, in order."""
        with self._io:
            try:
                with self.lock:
                    return self._write_locked(items)
            except (GitError, Timeout, OSError) as exc:
                self._restart()
                return [CommitOutcome(i.number, FAILED, i.branch, None, f"git: {exc}") for i in items]

    def _write_locked(self, items: list[WriteItem]) -> list[CommitOutcome]:
        tips = self._tips()
        plans: list[tuple[WriteItem, str | None, bool]] = []
        for item in items:
            tip = tips.get(item.branch)
            unchanged = tip is not None and self._same_plan(tip, item)
            plans.append((item, tip, unchanged))
        if self.dry_run:
            return [CommitOutcome(i.number, UNCHANGED if same else COMMITTED, i.branch, tip) for i, tip, same in plans]
        to_commit = [(i, tip) for i, tip, same in plans if not same]
        commits = self._importer_for().commit_all(to_commit, self.base_commit, self.identity) if to_commit else {}
        return [
            CommitOutcome(i.number, UNCHANGED, i.branch, tip) if same
            else CommitOutcome(i.number, COMMITTED, i.branch, commits[i.branch])
            for i, tip, same in plans
        ]

    def _tips(self) -> dict[str, str]:
        namespace = "refs/heads/" + self.branch_prefix.rsplit("/", 1)[0] + "/" if "/" in self.branch_prefix else "refs/heads/"
        out = run_git(self.repo, "for-each-ref", "--format=%(objectname) %(refname)", namespace)
        tips = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            branch = ref[len("refs/heads/"):]
            if branch.startswith(self.branch_prefix):
                tips[branch] = sha
        return tips

    def _same_plan(self, tip: str, item: WriteItem) -> bool:
        names = {path.rsplit("/", 1)[-1]: data for path, data in item.files.items()}
        return self._checker.tree_id(tip, item.directory) == self.hasher.flat_tree(names)

    def _importer_for(self) -> _FastImport:
        if self._importer is None or not self._importer.alive():
            self._importer = _FastImport(self.repo)
        return self._importer

    def _restart(self) -> None:
        if self._importer is not None:
            self._importer.kill()
            self._importer = None
        self._checker.restart()

    def close(self) -> None:
        with self._io:
            if self._importer is not None:
                self._importer.finish()
                self._importer = None
            self._checker.close()


class _ObjectChecker:
    """A persistent `git cat-file --batch-check` for `<commit>:<path>` look-ups."""

    def __init__(self, repo: Path) -> None:
        self.repo = repo
        self._proc: subprocess.Popen[bytes] | None = None

    def tree_id(self, commit: str, path: str) -> str | None:
        proc = self._process()
        assert proc.stdin and proc.stdout
        proc.stdin.write(f"{commit}:{path}\n".encode())
        proc.stdin.flush()
        line = proc.stdout.readline().decode().split()
        if len(line) == 3 and line[1] == "tree":
            return line[0]
        if not line:
            raise GitError("git cat-file stopped answering")
        return None

    def _process(self) -> subprocess.Popen[bytes]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen(
                ["git", "-C", str(self.repo), "cat-file", "--batch-check"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, **GIT_ENV},
            )
        return self._proc

    def restart(self) -> None:
        self.close()

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.stdin:
                self._proc.stdin.close()
            self._proc.wait()
            if self._proc.stdout:
                self._proc.stdout.close()
            self._proc = None


class _FastImport:
    """One long-lived `git fast-import` stream; each batch ends in a checkpoint."""

    def __init__(self, repo: Path) -> None:
        self.proc = subprocess.Popen(
            ["git", "-C", str(repo), "fast-import", "--quiet", "--done", "--date-format=raw"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, **GIT_ENV},
        )
        self._mark = 0
        self._sync = 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def commit_all(self, items: list[tuple[WriteItem, str | None]], base: str, who: Identity) -> dict[str, str]:
        stream, marks = bytearray(), {}
        stamp = f"{who.name} <{who.email}> {int(time.time())} +0000".encode()
        for item, tip in items:
            self._mark += 1
            marks[item.branch] = self._mark
            stream += _commit_command(item, tip or base, self._mark, stamp)
        self._sync += 1
        stream += b"checkpoint\n"
        for mark in marks.values():
            stream += b"get-mark :%d\n" % mark
        stream += b"progress sync-%d\n" % self._sync
        answers = self._send(bytes(stream), f"progress sync-{self._sync}")
        return dict(zip(marks, answers))

    def _send(self, data: bytes, until: str) -> list[str]:
        assert self.proc.stdin and self.proc.stdout
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise GitError(self._stderr()) from None
        lines = []
        while True:
            line = self.proc.stdout.readline().decode().strip()
            if not line:
                raise GitError(self._stderr())
            if line == until:
                return lines
            lines.append(line)

    def _stderr(self) -> str:
        self.kill()
        err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
        return "fast-import failed: " + (err.splitlines()[-1] if err else f"exit {self.proc.returncode}")

    def finish(self) -> None:
        if not self.alive():
            return
        assert self.proc.stdin
        try:
            self.proc.stdin.write(b"done\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        self.proc.wait()

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait()


def _commit_command(item: WriteItem, parent: str, mark: int, stamp: bytes) -> bytes:
    message = item.message.encode("utf-8", "replace")
    parts = [
        b"commit refs/heads/%s\n" % item.branch.encode(),
        b"mark :%d\n" % mark,
        b"author " + stamp + b"\n",
        b"committer " + stamp + b"\n",
        b"data %d\n" % len(message), message, b"\n",
        b"from %s\n" % parent.encode(),
        b"D %s\n" % item.directory.encode(),
    ]
    for path, data in sorted(item.files.items()):
        parts += [b"M 100644 inline %s\n" % path.encode(), b"data %d\n" % len(data), data, b"\n"]
    parts.append(b"\n")
    return b"".join(parts)
