"""Commit each issue's files on its own branch without touching any checkout.

    results ──add──> WriteBatch ──(file lock held)──> git fast-import (runner.git.fastimport)
                         │                              (one process per batch, fed as
                         │                               results arrive: objects, then the
                         │                               refs of branches that existed)
                         ├── git cat-file --batch        (did runner's own output change since
                         │                                its last commit? runner.git.priorwork)
                         └── new branches ──> packed-refs (runner.git.packedrefs)
                 (a reference-transaction hook: fast-import writes objects only, and every
                  ref, new or moved, goes through git update-ref, where the hook decides)

Why fast-import: one commit per issue must not cost one git process per object.
fast-import writes a whole batch of blobs, trees and commits into one pack and
then moves the batch's existing branches; it refuses non-fast-forward updates, so
a branch is never rewritten. New branches are then created in one write of
`packed-refs`, only where no ref of that name exists yet. The user's working
tree, index, HEAD and stash are never read or written: only objects and
`refs/heads/<prefix><N>`. A commit writes runner's own files and nothing else: a
file someone else added next to them stays, and a rerun whose output is what
runner wrote last time adds no commit, whoever committed on the branch since.

Ref updates are serialized per repository with an inter-process file lock in
the repository's git directory, so every run on that repository (whatever its
state directory) and every process in a run take turns. A dry run writes nothing,
so it takes no lock and creates no file there: a read-only clone will do.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from filelock import FileLock, Timeout

from runner.core.models import CommitOutcome, Identity
from runner.core.status import Status
from runner.git.batch import GIT_FAILURES, WriteBatch, WriteItem
from runner.git.cmd import GitError, run_git
from runner.git.fastimport import ImportStream
from runner.git.packedlock import clear_stale_lock
from runner.git.packedrefs import LOCK_NAME, LOCK_TIMEOUT_S, PackedRefs, update_through_git
from runner.git.priorwork import ObjectHasher, ObjectReader, last_output

__all__ = [
    "LOCK_NAME",
    "LOCK_TIMEOUT_S",
    "GitError",
    "ObjectHasher",
    "RepoWriter",
    "WriteBatch",
    "WriteItem",
    "run_git",
]

GENERATION_NAME = "runner-refs.generation"
HOOK = "hooks/reference-transaction"
REF_TRIES = 3


def check_repository(repo: Path) -> tuple[Path, bool]:
    """The repository's common git directory, and whether it has a reference-transaction
    hook (where `core.hooksPath` says hooks are); raises GitError if `repo` is not a git repository."""
    if not repo.is_dir():
        raise GitError(f"{repo} does not exist or is not a directory")
    common, _, hook = run_git(
        repo, "rev-parse", "--path-format=absolute", "--git-common-dir", "--git-path", HOOK
    ).partition("\n")
    return Path(common), os.path.isfile(hook) and os.access(hook, os.X_OK)


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


class RepoWriter:
    """Writes batches of issue commits to one repository."""

    def __init__(
        self,
        repo: Path,
        identity: Identity,
        branch_prefix: str,
        base: str | None,
        dry_run: bool = False,
        stream_ahead: bool = False,
    ):
        self.repo = repo
        self.identity = identity
        self.branch_prefix = branch_prefix
        self.dry_run = dry_run
        self.git_dir, self.hooked = check_repository(repo)
        self.base_name, self.base_commit = resolve_base(repo, base)
        self.hasher = ObjectHasher(run_git(repo, "rev-parse", "--show-object-format", check=False) or "sha1")
        self.lock = FileLock(str(self.git_dir / LOCK_NAME), timeout=LOCK_TIMEOUT_S)
        self._generation_file = self.git_dir / GENERATION_NAME
        self._reader = ObjectReader(repo)
        self.refs = PackedRefs(repo, self.git_dir, runner_lock=self.lock, hooked=self.hooked)
        if not dry_run:
            self._clear_stale_lock()
        self._tips_cache: dict[str, str] | None = None
        self._generation_seen: str | None = None
        self._io = threading.RLock()
        self._read_tips_early()
        self._spare: ImportStream | None = None
        if stream_ahead and not dry_run:
            self._start_stream_ahead()

    def _clear_stale_lock(self) -> None:
        """A packed-refs.lock a killed run left here goes now, if no other runner is writing
        (then the next batch's write removes it)."""
        try:
            self.lock.acquire(timeout=0)
        except (Timeout, OSError):
            return
        try:
            with contextlib.suppress(OSError):
                clear_stale_lock(self.git_dir)
        finally:
            self.lock.release()

    def _read_tips_early(self) -> None:
        """Read the branch tips now, while the writers of a run open side by side, rather than
        when the first result arrives (with eight repositories, eight `git for-each-ref` in a row
        held up the first results by about 0.1 s). A failure here is met again by the first batch."""
        with contextlib.suppress(*GIT_FAILURES):
            self._tips()

    def _start_stream_ahead(self) -> None:
        """Start the first batch's fast-import now, while the writers of a run open side by
        side: started when the first result arrives, eight repositories' processes held up
        the collector by about 5 ms each, one after another. Unused, it is ended at close
        with nothing to write, and git leaves nothing behind."""
        with contextlib.suppress(OSError):
            self._spare = self._open_stream()

    def _new_stream(self) -> ImportStream:
        stream, self._spare = self._spare, None
        if stream is None:
            stream = self._open_stream()
        return stream

    def _open_stream(self) -> ImportStream:
        return ImportStream(self.repo, self.identity.name, self.identity.email, write_refs=not self.hooked)

    def write(self, items: list[WriteItem]) -> list[CommitOutcome]:
        """Commit what changed, under the repository lock; one outcome per item, in order."""
        batch = self.open_batch()
        for item in items:
            batch.add(item)
        return batch.close()

    def open_batch(self) -> WriteBatch:
        """A batch to `add` items to as they come; the repository lock is held until `close`.

        The locks are re-entrant, so the thread that opened a batch may open the next one
        while git finishes the sealed one; batches must hold distinct branches."""
        self._io.acquire()
        if self.dry_run:
            return WriteBatch(self, 0, release=self._io.release)
        try:
            self.lock.acquire()
        except (Timeout, OSError) as exc:
            self._io.release()
            return WriteBatch(self, REF_TRIES - 1, failure=f"git: {exc}")
        return WriteBatch(self, REF_TRIES - 1, release=self._release)

    def _release(self) -> None:
        self.lock.release()
        self._io.release()

    def _forget(self) -> None:
        """After a git failure nothing cached can be trusted."""
        self._tips_cache = None
        self._reader.close()

    def _outcome(
        self,
        item: WriteItem,
        tip: str | None,
        same: bool,
        commits: dict[str, str],
        rejected: str,
        vetoed: dict[str, str],
    ):
        if same:
            return CommitOutcome(item.number, Status.UNCHANGED, item.branch, tip)
        if item.branch in commits:
            return CommitOutcome(item.number, Status.COMMITTED, item.branch, commits[item.branch])
        if item.branch in vetoed:
            why = vetoed[item.branch]
            return CommitOutcome(
                item.number,
                Status.FAILED,
                item.branch,
                None,
                f"the repository's reference-transaction hook refused the branch: {why}",
            )
        return CommitOutcome(
            item.number, Status.FAILED, item.branch, None, f"git refused to update the branch: {rejected}"
        )

    def _place_refs(
        self, commits: dict[str, str], new: set[str], tips: dict[str, str]
    ) -> tuple[dict[str, str], bool, dict[str, str]]:
        """Create the new branches among `commits` (and, where a hook decides, move the others);
        (commits whose branch now holds them, whether any branch was taken or moved meanwhile,
        {branch: the hook's words} for the ones a hook vetoed)."""
        if self.hooked:
            wanted = dict(commits)
            result = update_through_git(
                self.repo, {"refs/heads/" + b: (c, None if b in new else tips[b]) for b, c in wanted.items()}
            )
        else:
            wanted = {b: c for b, c in commits.items() if b in new}
            result = self.refs.create({"refs/heads/" + b: c for b, c in wanted.items()})
        kept = {b: c for b, c in commits.items() if b not in wanted or "refs/heads/" + b in result.created}
        vetoed = {name[len("refs/heads/") :]: why for name, why in result.refused.items()}
        return kept, len(result.created) + len(vetoed) < len(wanted), vetoed

    def _confirm(self, commits: dict[str, str], rejected: str) -> dict[str, str]:
        """Keep only commits whose branch now points at them; record our writes for the next batch."""
        if rejected:
            self._tips_cache = None
            tips = self._tips()
            commits = {b: c for b, c in commits.items() if tips.get(b) == c}
        elif self._tips_cache is not None:
            self._tips_cache.update(commits)
        self._generation_seen = self._bump_generation()
        return commits

    def _tips(self) -> dict[str, str]:
        """Branch tips under our prefix; re-read only when another writer moved refs since our last batch."""
        generation = self._read_generation()
        if self._tips_cache is None or generation != self._generation_seen:
            self._tips_cache = self._read_tips()
            self._generation_seen = generation
        return self._tips_cache

    def _read_tips(self) -> dict[str, str]:
        namespace = "refs/heads/" + (self.branch_prefix.rsplit("/", 1)[0] + "/" if "/" in self.branch_prefix else "")
        out = run_git(self.repo, "for-each-ref", "--format=%(objectname) %(refname)", namespace)
        tips = {}
        for line in out.splitlines():
            sha, _, ref = line.partition(" ")
            branch = ref[len("refs/heads/") :]
            if branch.startswith(self.branch_prefix):
                tips[branch] = sha
        return tips

    def _read_generation(self) -> str:
        try:
            return self._generation_file.read_text().strip()
        except FileNotFoundError:
            return "0"

    def _bump_generation(self) -> str:
        value = f"{os.getpid()}-{time.time_ns()}"
        tmp = self._generation_file.with_suffix(".tmp")
        tmp.write_text(value + "\n")
        os.replace(tmp, self._generation_file)
        return value

    def _same_output(self, tip: str, item: WriteItem, digest: str) -> bool:
        """Whether runner's output for the item is what it last committed on the branch
        (runner.git.priorwork), whatever others committed since."""
        if item.changes:
            return False
        last = last_output(self._reader, tip, item.number)
        if last is None:
            return False
        commit, recorded = last
        if recorded is not None:
            return recorded == digest
        names = {path.rsplit("/", 1)[-1]: data for path, data in item.files.items()}
        return self._reader.tree_id(commit, item.directory) == self.hasher.flat_tree(names)

    def close(self) -> None:
        with self._io:
            self._reader.close()
            if self._spare is not None:
                with contextlib.suppress(*GIT_FAILURES):
                    self._spare.finish()
                self._spare = None
