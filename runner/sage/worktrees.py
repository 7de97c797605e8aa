"""Throw-away git worktrees for fixer commands, and their cleanup after a crash.

    add_worktree ──(repository lock)──> git worktree add --detach <root>/<repo-key>/issue-<N>-<token> <commit>
    remove_worktree ──(repository lock)──> git worktree remove --force   (else: delete it and forget it)
    keep_worktree ──> <worktree>.kept beside it: the user's now, never pruned
    prune_stale_worktrees ──> stop processes whose environment names a worktree under <root>/<repo-key>
                          ──(repository lock)──> remove the leftovers there, forget their admin files

Why detached: the issue branch is only ever moved by the git writer, under the
lock; a worktree with the branch checked out would let a command move it behind
the writer's back. Why the lock: `git worktree add` and `remove` both edit
`<git-common-dir>/worktrees`, which every worker of every run on the repository
shares. Why no `git worktree prune`: it would also drop the admin files of the
user's own worktrees that live on a drive that is not mounted right now; runner
forgets only worktrees under its own directory. Why processes are found by
their environment and not by their working directory: a person inspecting a
worktree (a shell, an editor) works in it too, and is not runner's to stop.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from filelock import FileLock

from runner.git.cmd import GIT_ENV
from runner.git.store import LOCK_TIMEOUT_S, GitError

MARKER_ENV = "RUNNER_WORKTREE"
KEPT_SUFFIX = ".kept"
STOP_GRACE_S = 2.0
# Variables that would point git at another repository than the one it runs in.
REPO_LOCATING_ENV = frozenset(
    {
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_PREFIX",
    }
)


@dataclass(frozen=True)
class RepoDirs:
    """Where a checkout keeps its git data: shared (`common`) and its own (`git_dir`, holds HEAD)."""

    common: Path
    git_dir: Path


@dataclass(frozen=True)
class Worktree:
    path: Path
    admin_dir: Path

    @property
    def issue_file(self) -> Path:
        return self.path.with_name(self.path.name + ".issue.json")

    @property
    def plan_file(self) -> Path:
        return self.path.with_name(self.path.name + ".plan.md")

    @property
    def summary_file(self) -> Path:
        return self.path.with_name(self.path.name + ".summary.md")

    @property
    def index_file(self) -> Path:
        return self.path.with_name(self.path.name + ".index")

    @property
    def kept_file(self) -> Path:
        return self.path.with_name(self.path.name + KEPT_SUFFIX)


def clean_environ() -> dict[str, str]:
    """os.environ without the variables that would send git to another repository."""
    return {k: v for k, v in os.environ.items() if k not in REPO_LOCATING_ENV}


def git(*args: str, input: bytes | None = None, index_file: Path | None = None) -> bytes:
    """Run git with an argument list (never a shell); raw stdout, GitError on failure. `index_file`
    stands in for the index, so a look at a worktree's changes leaves its own index alone."""
    env = {**clean_environ(), **GIT_ENV, **({"GIT_INDEX_FILE": str(index_file)} if index_file else {})}
    proc = subprocess.run(["git", *args], input=input, capture_output=True, env=env)
    if proc.returncode != 0:
        words = " ".join(a for a in args if not a.startswith("/"))[:80]
        raise GitError(f"git {words}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def repo_dirs(repo: Path) -> RepoDirs:
    out = git("-C", str(repo), "rev-parse", "--path-format=absolute", "--git-common-dir", "--git-dir")
    common, git_dir = out.decode("utf-8", "surrogateescape").splitlines()[:2]
    return RepoDirs(Path(common), Path(git_dir))


def repo_root(worktrees_dir: Path, common: Path) -> Path:
    """This repository's directory under the worktrees directory, named by a hash of its git directory."""
    key = hashlib.sha256(os.fsencode(common.resolve())).hexdigest()[:16]
    return worktrees_dir.resolve() / key


def add_worktree(repo: Path, root: Path, number: int, token: str, commit: str, lock_path: Path) -> Worktree:
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"issue-{number}-{token}"
    with FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S):
        git("-C", str(repo), "worktree", "add", "--quiet", "--detach", str(path), commit)
    admin = git("-C", str(path), "rev-parse", "--path-format=absolute", "--git-dir")
    return Worktree(path, Path(admin.decode("utf-8", "surrogateescape").strip()))


def remove_worktree(repo: Path, worktree: Worktree, lock_path: Path) -> None:
    """Remove the worktree and its side files; falls back to deleting by hand (read-only files, locks)."""
    with FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S):
        try:
            git("-C", str(repo), "worktree", "remove", "--force", "--force", str(worktree.path))
        except GitError:
            force_rmtree(worktree.path)
            if worktree.admin_dir.parent.name == "worktrees":
                force_rmtree(worktree.admin_dir)
    for side in (worktree.issue_file, worktree.plan_file, worktree.summary_file, worktree.index_file):
        side.unlink(missing_ok=True)


def keep_worktree(worktree: Worktree) -> None:
    """Hand the worktree over to the user (`--keep-worktrees`): pruning leaves it, its side files and its
    processes alone from now on. Written only after the command's processes are stopped, so a run
    killed before this point leaves an unmarked worktree, which the next run prunes."""
    worktree.kept_file.write_text(
        f"{worktree.path} was kept for inspection; runner leaves it and whoever works in it alone.\n"
        f"Remove it with: git worktree remove --force {worktree.path}\n"
    )


def prune_stale_worktrees(
    repo: Path, worktrees_dir: Path, lock_path: Path, issue_number: int | None = None
) -> list[str]:
    """Remove what a killed run (or a killed worker) left for this repository: processes, worktrees, side files.

    Without `issue_number`, call it at the start of a run once the run lock is
    held: it clears everything under this state directory for the repository.
    With it, only that issue's leftovers go: for a retry after its worker died,
    while other issues' commands keep running. Kept worktrees (`keep_worktree`)
    are never leftovers; the side files of one the user has since removed are.
    """
    common = repo_dirs(repo).common
    root = repo_root(worktrees_dir, common)
    prefix = "" if issue_number is None else f"issue-{issue_number}-"
    entries = sorted(e for e in root.iterdir() if e.name.startswith(prefix)) if root.is_dir() else []
    kept = kept_names(root)
    leftovers = [e for e in entries if owner_name(e.name) not in kept]
    stop_processes(runner_processes(root, prefix, kept))
    scopes = [root] if issue_number is None else [e for e in leftovers if e.is_dir() and not e.is_symlink()]
    with FileLock(str(lock_path), timeout=LOCK_TIMEOUT_S):
        for entry in leftovers:
            force_rmtree(entry)
        _forget_missing(common, scopes)
    return [str(entry) for entry in leftovers]


def kept_names(root: Path) -> frozenset[str]:
    """Names of the worktrees under `root` that are marked kept and still there."""
    if not root.is_dir():
        return frozenset()
    marks = (m.name[: -len(KEPT_SUFFIX)] for m in root.glob("*" + KEPT_SUFFIX))
    return frozenset(name for name in marks if (root / name).is_dir())


def owner_name(name: str) -> str:
    """The worktree an entry belongs to: `issue-5-1a2b.plan.md` -> `issue-5-1a2b` (worktree names hold no dot)."""
    return name.split(".", 1)[0]


def _forget_missing(common: Path, scopes: list[Path]) -> None:
    """Delete the admin files of gone worktrees under `scopes` (gitrepository-layout: worktrees/<id>/gitdir)."""
    admin_root = common / "worktrees"
    if not admin_root.is_dir():
        return
    for admin in admin_root.iterdir():
        try:
            gitfile = Path((admin / "gitdir").read_text().strip())
        except OSError:
            continue
        if any(_is_within(str(gitfile), str(scope)) for scope in scopes) and not gitfile.exists():
            force_rmtree(admin)


def runner_processes(root: Path, prefix: str = "", spare: frozenset[str] = frozenset()) -> list[psutil.Process]:
    """Processes a fixer command started for a worktree under `root` whose name starts with `prefix`.

    Found by the marker runner puts in the command's environment (children inherit
    it), never by working directory. `spare` names worktrees whose processes stay.
    """
    found, me = [], os.getpid()
    for proc in psutil.process_iter():
        marker = _marker(proc) if proc.pid != me else ""
        if _is_within(marker, str(root)):
            name = Path(marker).relative_to(root).parts[:1]
            if name and name[0].startswith(prefix) and name[0] not in spare:
                found.append(proc)
    return found


def processes_using(path: Path, group: int | None = None) -> list[psutil.Process]:
    """Processes marked with the worktree at or under `path` (environment), or in process group `group`."""
    target, me = str(path), os.getpid()
    found = []
    for proc in psutil.process_iter():
        if proc.pid in (me, group):
            continue
        if (group is not None and _group_of(proc.pid) == group) or _is_within(_marker(proc), target):
            found.append(proc)
    return found


def _marker(proc: psutil.Process) -> str:
    try:
        return proc.environ().get(MARKER_ENV, "")
    except (psutil.Error, OSError):
        return ""


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def stop_processes(procs: list[psutil.Process], grace_s: float = STOP_GRACE_S) -> None:
    """SIGTERM, a grace period, then SIGKILL for whatever is left."""
    for method in ("terminate", "kill"):
        if not procs:
            return
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                getattr(proc, method)()
        procs = wait_gone(procs, grace_s)


def wait_gone(procs: list[psutil.Process], timeout_s: float) -> list[psutil.Process]:
    """Wait until the processes exit (zombies count as gone); the ones still alive."""
    deadline = time.monotonic() + timeout_s
    alive = [p for p in procs if is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if is_alive(p)]
    return alive


def is_alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def force_rmtree(path: Path) -> None:
    """Delete a tree even where a command left read-only directories (module caches do)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    try:
        shutil.rmtree(path)
    except FileNotFoundError:
        pass
    except OSError:
        _make_tree_writable(path)
        shutil.rmtree(path, ignore_errors=True)


def _make_tree_writable(path: Path) -> None:
    _add_owner_rwx(str(path))
    for parent, dirs, _files in os.walk(path):
        for name in dirs:
            _add_owner_rwx(os.path.join(parent, name))


def _add_owner_rwx(path: str) -> None:
    try:
        if not os.path.islink(path):
            os.chmod(path, os.stat(path).st_mode | stat.S_IRWXU)
    except OSError:
        pass


def _is_within(value: str, root: str) -> bool:
    return bool(value) and (value == root or value.startswith(root.rstrip(os.sep) + os.sep))
