"""Create many new branches at once by adding them to git's `packed-refs` file.

    WriteBatch ──{ref: commit}──> (runner-refs.lock held) take packed-refs.lock ──> refuse names
                                        │                    already taken (loose, packed, or a D/F clash)
                                        └──> write the merged file into the lock (fsync it
                                             if core.fsync asks for references), rename it
                                             over packed-refs
                                  (lock busy, reftable, odd name) ──> git update-ref --stdin
                                  (a reference-transaction hook) ──> git update-ref --stdin, always

Why: git writes a ref as one small loose file, and fast-import creates one per
branch. Creating ten thousand inodes was 2.0 of the 5.3 CPU-seconds git spent
on 10,000 branches here, most of it in the kernel. `git clone` writes its refs
straight into `packed-refs` for the same reason; this does the same, following
git's own protocol (gitrepository-layout(5)): the `packed-refs.lock` lock file
taken with O_EXCL, the whole new file written into it and renamed over the old.

A loose ref overrides a packed one, so a name is only ever added here when no
ref of that name exists in either form: this creates branches, it never moves one.

The file is flushed to disk before the rename exactly when git would flush it:
when the repository's `core.fsync` names references (git's default does not; it
flushes packs, which fast-import has done before any ref points into them).

A repository with a `reference-transaction` hook decides about every ref update
(policy, audit, replication): there every ref goes through `git update-ref`, one
transaction per ref, so the hook sees each one and a veto is that ref's failure.

A run killed while it holds `packed-refs.lock` must not leave it behind: how the lock is taken
so that a leftover can be told from git's own is runner.git.packedlock.
"""

from __future__ import annotations

import bisect
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock

from runner.git.cmd import GitError, git_proc, last_line, run_git, simple_branch_text
from runner.git.packedlock import OwnLock, clear_stale_lock

LOCK_NAME = "runner-refs.lock"
LOCK_TIMEOUT_S = 600.0
LOCK_WAIT_S = 1.0
# The core.fsync words (any prefix of them, as git reads them) whose set holds references.
_NAMES_WITH_REFERENCES = ("reference", "committed", "added", "all")
DEFAULT_TRAITS = (b"peeled", b"fully-peeled", b"sorted")
_HEADER = b"# pack-refs with:"


@dataclass
class RefResult:
    """What came of creating (or moving) refs: the ones now in place, and the ones git
    refused for a reason other than the name being taken (a hook's veto), with its words."""

    created: dict[str, str] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)


class PackedRefs:
    """The packed refs of one repository (its common git directory)."""

    def __init__(
        self,
        repo: Path,
        common_dir: Path,
        lock_wait_s: float = LOCK_WAIT_S,
        fsync: bool | None = None,
        runner_lock: FileLock | None = None,
        hooked: bool = False,
    ) -> None:
        self.repo = repo
        self.common_dir = common_dir
        self.lock_wait_s = lock_wait_s
        if fsync is None:
            fsync = fsyncs_references(run_git(repo, "config", "--get", "core.fsync", check=False))
        self.fsync = fsync
        self.runner_lock = runner_lock or FileLock(str(common_dir / LOCK_NAME), timeout=LOCK_TIMEOUT_S)
        self.hooked = hooked
        self.usable = not hooked and not (common_dir / "reftable").exists()
        self._known: tuple[tuple[int, int, int], list[bytes], dict[bytes, bytes]] | None = None

    def create(self, refs: dict[str, str]) -> RefResult:
        """Create every ref in `refs` ({full name: commit}) that no ref holds yet. A name
        already taken, or one git refuses, is left out of `created`."""
        plain = {n: s for n, s in refs.items() if self.usable and _plain(n)}
        rest = {n: s for n, s in refs.items() if n not in plain}
        result = RefResult()
        with self.runner_lock:
            clear_stale_lock(self.common_dir)
            if plain:
                own = self._lock()
                if own is None:
                    rest.update(plain)
                else:
                    result.created.update(self._create_locked(own, plain))
            if rest:
                loose = update_through_git(self.repo, {n: (s, None) for n, s in rest.items()})
                result.created.update(loose.created)
                result.refused.update(loose.refused)
        return result

    def _lock(self) -> OwnLock | None:
        """packed-refs.lock as a second name of runner's own file; None if git holds it
        throughout, or if the file system has no hard links (then git writes the refs)."""
        own = OwnLock.open(self.common_dir)
        deadline = time.monotonic() + self.lock_wait_s
        delay = 0.001
        try:
            while not own.link():
                if time.monotonic() >= deadline:
                    own.drop()
                    return None
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        except OSError:
            own.drop()
            return None
        return own

    def _create_locked(self, own: OwnLock, refs: dict[str, str]) -> dict[str, str]:
        try:
            traits, records = self._load()
            taken = _Taken(os.fsencode(self.common_dir), records)
            created = {name: sha for name, sha in refs.items() if not taken(os.fsencode(name))}
            if created:
                for name, sha in created.items():
                    key = os.fsencode(name)
                    records[key] = b"%s %s\n" % (sha.encode(), key)
                _write_all(own.fd, render_packed(traits, records))
                if self.fsync:
                    os.fsync(own.fd)
                written = _identity(os.fstat(own.fd))
                own.commit(os.path.join(self.common_dir, "packed-refs"))
                self._known = (written, traits, records)
            return created
        finally:
            own.drop()

    def _load(self) -> tuple[list[bytes], dict[bytes, bytes]]:
        """The file's traits and records; parsed again only if it changed since this wrote it."""
        path = os.path.join(self.common_dir, "packed-refs")
        try:
            identity = _identity(os.stat(path))
        except FileNotFoundError:
            return list(DEFAULT_TRAITS), {}
        if self._known is not None and self._known[0] == identity:
            return self._known[1], dict(self._known[2])
        return read_packed(path)


class _Taken:
    """Whether a ref name is taken: by a ref of that name (loose or packed), by one under
    it (`name/...`) or by one that is a directory of it. One directory listing per
    directory instead of a stat per name."""

    def __init__(self, common_dir: bytes, records: dict[bytes, bytes]) -> None:
        self.common_dir = common_dir
        self.records = records
        self.names = sorted(records)
        self._listings: dict[bytes, set[bytes]] = {}
        self._parents: dict[bytes, bool] = {}

    def __call__(self, name: bytes) -> bool:
        parent, _, leaf = name.rpartition(b"/")
        if name in self.records or leaf in self._listing(parent):
            return True
        at = bisect.bisect_left(self.names, name + b"/")
        if at < len(self.names) and self.names[at].startswith(name + b"/"):
            return True
        return self._parent_taken(parent)

    def _listing(self, directory: bytes) -> set[bytes]:
        if directory not in self._listings:
            try:
                self._listings[directory] = set(os.listdir(os.path.join(self.common_dir, directory)))
            except (FileNotFoundError, NotADirectoryError):
                self._listings[directory] = set()
        return self._listings[directory]

    def _parent_taken(self, directory: bytes) -> bool:
        """A ref named like one of the directories below refs/heads/ (a file/directory clash)."""
        if directory.count(b"/") < 2:
            return False
        if directory not in self._parents:
            self._parents[directory] = (
                directory in self.records
                or os.path.isfile(os.path.join(self.common_dir, directory))
                or self._parent_taken(directory.rpartition(b"/")[0])
            )
        return self._parents[directory]


def read_packed(path: str | Path) -> tuple[list[bytes], dict[bytes, bytes]]:
    """(traits, {name: its lines}) of a packed-refs file; a peeled line stays with its ref."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return list(DEFAULT_TRAITS), {}
    traits: list[bytes] = []
    records: dict[bytes, bytes] = {}
    last = b""
    for line in data.splitlines(keepends=True):
        if line[:1] == b"^" and last:
            records[last] += line
        elif line.startswith(_HEADER):
            traits = line[len(_HEADER) :].split()
        elif line.strip() and line[:1] != b"#":
            last = line.rstrip(b"\n").partition(b" ")[2]
            records[last] = line if line.endswith(b"\n") else line + b"\n"
    return traits, records


def render_packed(traits: list[bytes], records: dict[bytes, bytes]) -> bytes:
    """The file git reads: the traits it had (plus `sorted`, which this makes true) and
    every record sorted by name as bytes, which is git's order."""
    if b"sorted" not in traits:
        traits = [*traits, b"sorted"]
    return _HEADER + b" " + b" ".join(traits) + b" \n" + b"".join(records[name] for name in sorted(records))


def update_through_git(repo: Path, refs: dict[str, tuple[str, str | None]]) -> RefResult:
    """Create (old None) or move (from old) each ref through git's own ref update, one
    transaction each: git validates every name, refuses a taken or moved one, and runs the
    repository's reference-transaction hook, which may veto it. git stops at the first
    refusal, so the rest go again; a veto is kept with git's and the hook's words."""
    pending, result = list(refs.items()), RefResult()
    while pending:
        commands = b"".join(b"start\n" + _ref_command(name, new, old) + b"commit\n" for name, (new, old) in pending)
        proc = git_proc(repo, "update-ref", "--stdin", "--no-deref", input=commands)
        done = proc.stdout.decode().splitlines().count("commit: ok")
        result.created.update((name, new) for name, (new, _) in pending[:done])
        if proc.returncode == 0:
            break
        if done >= len(pending):
            raise GitError("git update-ref failed: " + last_line(proc.stderr))
        if b"aborted by hook" in proc.stderr:
            result.refused[pending[done][0]] = _hook_words(proc.stderr)
        elif b"cannot lock ref" not in proc.stderr and b"invalid ref format" not in proc.stderr:
            raise GitError("git update-ref failed: " + last_line(proc.stderr))
        pending = pending[done + 1 :]
    return result


def _ref_command(name: str, new: str, old: str | None) -> bytes:
    if old is None:
        return b"create %s %s\n" % (name.encode(), new.encode())
    return b"update %s %s %s\n" % (name.encode(), new.encode(), old.encode())


def _hook_words(stderr: bytes) -> str:
    """What the hook said about its veto (its own lines, then git's), in one short line."""
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return "; ".join(lines[-4:])[-400:]


def fsyncs_references(value: str | None) -> bool:
    """Whether git flushes ref files with this `core.fsync` value. git starts from its
    default set (no references), clears it on `none`, and adds what every other word
    names unless the word starts with `-`; a word names each component or group whose
    name it is a prefix of. So references are flushed when a word that is not removed
    names them."""
    for word in (value or "").split(","):
        word = word.strip()
        if not word or word.startswith("-") or "none".startswith(word):
            continue
        if any(name.startswith(word) for name in _NAMES_WITH_REFERENCES):
            return True
    return False


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _identity(stat: os.stat_result) -> tuple[int, int, int]:
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


def _plain(name: str) -> bool:
    """A branch name git would accept by the rules config checks a prefix with; anything
    else goes through git, which decides."""
    branch = name[len("refs/heads/") :]
    return name.startswith("refs/heads/") and simple_branch_text(branch) and not branch.endswith(("/", ".lock"))
