"""Git on a Dask worker host, for repositories given as URLs: each host clones, commits and pushes.

    SagePlugin.setup ──install(settings, setup, run)──> per repository, on this host:
        <cache>/<url_key(url)>   git clone --no-checkout URL  (once per host, under <dir>.lock)
                                 git fetch --prune origin     (once per run and host, under the repository lock)
        the sage's setup now points at this clone: a fixer works in worktrees of it

    run_task ──work_and_push(task, work)──>
        lock: refs/heads/B := refs/remotes/origin/B      the remote is the truth: what a crashed attempt
                                                          left here unpushed is replaced
        work()                                            sage.work: plan (and fixer) from that tip
        RepoWriter.write([item])  (lock)                  the same plan as the tip: Status.UNCHANGED, no commit
        git push origin B:B       (never forced)          accepted: origin/B follows (fetch refspec)
            refused as non-fast-forward: lock: fetch B, B := origin/B, write again (PUSH_TRIES in all)
        ──> SageResult(written=CommitOutcome(..., pushed=True)): the master writes and pushes nothing

Why exactly once: the remote branch only moves by fast-forward pushes, and every attempt writes on
top of the remote tip it knows. An attempt whose view is stale (another attempt pushed since) is
refused, fetches, and finds that commit: the same plan is Status.UNCHANGED, and a fixer's commit carries
`Runner-Run: <run>` so this run's earlier attempt is recognised too. Whichever attempt lands first
wins; the others end unchanged.

No GitHub token reaches a worker host: the master never sends it, and the sage drops any token
variable the worker inherited (runner.core.secrets), so a fixer command cannot find one in its
parent's environment. git here authenticates with this host's own git credentials (a credential
helper, an SSH key). Nothing here imports the terminal UI.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock

from runner.core.errors import RunnerError
from runner.core.models import CommitOutcome, Identity, SageResult, Task
from runner.core.secrets import redact
from runner.core.status import Status
from runner.git.clones import porcelain_statuses, url_key
from runner.git.cmd import git_environ
from runner.git.message import commit_message
from runner.git.store import GENERATION_NAME, LOCK_NAME, LOCK_TIMEOUT_S, GitError, RepoWriter, WriteItem, run_git
from runner.sage.fixer import prune_stale_worktrees

if TYPE_CHECKING:
    from runner.config import Config
    from runner.sage.worker import SageSetup

PUSH_TRIES = 4
NETWORK_TIMEOUT_S = 600
RUN_MARK = "runner-fetched-run"
_MOVED = ("non-fast-forward", "fetch first", "stale info")


class WorkerGitError(RunnerError):
    """A clone, fetch or push from this host failed; another attempt (here or elsewhere) may succeed."""

    transient = True


@dataclass(frozen=True)
class WorkerGitSettings:
    """What the master sends for worker-side git: URLs, base commits, identity. Never the token."""

    remotes: Mapping[str, str]
    bases: Mapping[str, str]
    identity: Identity
    branch_prefix: str
    plan_dir: str
    dry_run: bool = False
    cache_dir: str | None = None
    logs_dir: str | None = None
    publish_failed: bool = False


def settings_for(config: Config, setup: SageSetup) -> WorkerGitSettings | None:
    """Worker-side git applies to repositories given as URLs, on a Dask backend."""
    keys = [key for key in config.remotes if key in setup.repos]
    if config.backend not in ("dask", "dask-local") or not keys:
        return None
    logs = setup.fixer.logs_dir if setup.fixer is not None and config.backend == "dask-local" else None
    return WorkerGitSettings(
        {k: config.remotes[k] for k in keys},
        {k: setup.repos[k][1] for k in keys},
        config.identity,
        config.branch_prefix,
        config.plan_dir,
        config.dry_run,
        config.worker_cache,
        logs,
        config.publish_failed,
    )


def default_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "runner" / "clones"


def cache_dir(setting: str | None) -> Path:
    """The clone cache on this host: the setting (`~` is this host's home), else the default."""
    return Path(setting).expanduser().resolve() if setting else default_cache_dir()


class Clone:
    """This host's clone of one remote repository, and the writer that commits into it."""

    def __init__(self, url: str, directory: Path, settings: WorkerGitSettings, base: str) -> None:
        self.url, self.directory = url, directory
        self.env = git_env()
        self.writer = RepoWriter(directory, settings.identity, settings.branch_prefix, base, settings.dry_run)
        self.lock = self.writer.lock

    @classmethod
    def open(cls, url: str, directory: Path, settings: WorkerGitSettings, base: str, run: str) -> Clone:
        """Clone once per host, fetch once per run and host, then check the base commit is here."""
        env = git_env()
        with FileLock(str(directory.with_name(directory.name + ".lock")), timeout=LOCK_TIMEOUT_S):
            if not (directory / ".git" / "HEAD").is_file():
                _clone(url, directory, env)
        mark = directory / ".git" / RUN_MARK
        with FileLock(str(directory / ".git" / LOCK_NAME), timeout=LOCK_TIMEOUT_S):
            if _read(mark) != run:
                _network(
                    ["-C", str(directory), "fetch", "--quiet", "--no-tags", "--prune", "origin"], env, f"fetching {url}"
                )
                mark.write_text(run + "\n")
        try:
            return cls(url, directory, settings, base)
        except GitError as exc:
            raise WorkerGitError(f"{url}: {exc}") from None

    def align(self, branch: str) -> str | None:
        """Set the local branch to the remote's as last seen; that tip (None: not on the remote)."""
        with self.lock:
            local, remote = self._tips(branch)
            if local != remote:
                if remote is not None:
                    run_git(self.directory, "update-ref", f"refs/heads/{branch}", remote, *([local] if local else []))
                else:
                    run_git(self.directory, "update-ref", "-d", f"refs/heads/{branch}", local or "")
                _bump_generation(self.writer.git_dir)
        return remote

    def refresh(self, branch: str) -> str | None:
        """Fetch the branch again (someone pushed it since we looked), then align to it."""
        with self.lock:
            _network(
                [
                    "-C",
                    str(self.directory),
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "origin",
                    f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
                ],
                self.env,
                f"fetching {branch} from {self.url}",
            )
        return self.align(branch)

    def write(self, item: WriteItem, mark: str) -> CommitOutcome:
        """RepoWriter's outcome, except that a fixer commit this run already made (its message has
        the line `mark`) is not made again: a fixer's changes always differ from the plan alone."""
        if item.changes:
            tip = run_git(self.directory, "rev-parse", "--verify", "--quiet", f"refs/heads/{item.branch}", check=False)
            if tip and mark in run_git(self.directory, "cat-file", "commit", tip).splitlines():
                return CommitOutcome(item.number, Status.UNCHANGED, item.branch, tip)
        return self.writer.write([item])[0]

    def push(self, branch: str) -> tuple[str, str]:
        """("pushed" | "moved" | "refused", git's summary); never forced. Raises WorkerGitError."""
        ref = f"refs/heads/{branch}"
        proc = _run(
            ["-C", str(self.directory), "push", "--porcelain", "origin", f"{ref}:{ref}"], self.env, f"pushing {branch}"
        )
        flag, summary = porcelain_statuses(proc.stdout.decode(errors="replace")).get(ref, ("?", ""))
        if flag == "?":
            error = redact(proc.stderr.decode(errors="replace").strip())[-300:]
            raise WorkerGitError(f"git push of {branch} to {self.url} failed: {error or 'no status'}")
        if flag == "!":
            return ("moved" if any(w in summary for w in _MOVED) else "refused"), summary
        return "pushed", summary

    def _tips(self, branch: str) -> tuple[str | None, str | None]:
        local_ref, remote_ref = f"refs/heads/{branch}", f"refs/remotes/origin/{branch}"
        out = run_git(self.directory, "for-each-ref", "--format=%(objectname) %(refname)", local_ref, remote_ref)
        tips = {}
        for line in out.splitlines():
            oid, _, ref = line.partition(" ")
            tips[ref] = oid
        return tips.get(local_ref), tips.get(remote_ref)

    def close(self) -> None:
        self.writer.close()


@dataclass
class _State:
    settings: WorkerGitSettings
    clones: dict[str, Clone]
    run: str
    worktrees_dir: str | None


_state: _State | None = None


def install(settings: WorkerGitSettings, setup: SageSetup, run: str) -> SageSetup:
    """Clone or update every remote on this host; the sage setup that works in those clones."""
    global _state
    close()
    root = cache_dir(settings.cache_dir)
    clones: dict[str, Clone] = {}
    try:
        for key, url in settings.remotes.items():
            clones[key] = Clone.open(url, root / url_key(url), settings, settings.bases[key], run)
    except BaseException:
        for clone in clones.values():
            clone.close()
        raise
    repos = {
        **setup.repos,
        **{k: (str(c.directory), settings.bases[k], str(c.lock.lock_file)) for k, c in clones.items()},
    }
    fixer = setup.fixer
    if fixer is not None:
        fixer = replace(
            fixer, worktrees_dir=str(root / "worktrees"), logs_dir=settings.logs_dir or str(root / "fixer-logs")
        )
    _state = _State(settings, clones, run, fixer.worktrees_dir if fixer else None)
    return replace(setup, repos=repos, fixer=fixer)


def handles(repo_key: str) -> bool:
    return _state is not None and repo_key in _state.clones


def close() -> None:
    global _state
    if _state is not None:
        for clone in _state.clones.values():
            clone.close()
    _state = None


def work_and_push(task: Task, work: Callable[[], SageResult]) -> SageResult:
    """Run the sage for `task` from the remote tip, commit on this host, push; the result says so."""
    assert _state is not None
    settings, clone = _state.settings, _state.clones[task.repo_key]
    number = task.issue.number
    branch = f"{settings.branch_prefix}{number}"
    remote_tip = clone.align(branch)
    if _state.worktrees_dir is not None:
        _prune_leftovers(clone, number)
    result = work()
    if result.fixer is not None and settings.logs_dir is None:
        result = replace(result, fixer={**result.fixer, "host": socket.gethostname()})
    if result.fixer is not None and not result.changes:
        return result
    mark = f"Runner-Run: {_state.run}"
    item = WriteItem(
        number,
        branch,
        settings.plan_dir.format(number=number),
        result.files,
        commit_message(task, result) + mark + "\n",
        result.changes,
        result.modes,
    )
    if result.check_error is not None and not settings.publish_failed:
        return replace(result, written=clone.write(item, mark))  # failed its check: committed here, not pushed
    return replace(result, written=_commit_and_push(clone, item, mark, remote_tip, settings.dry_run))


def _commit_and_push(clone: Clone, item: WriteItem, mark: str, remote_tip: str | None, dry_run: bool) -> CommitOutcome:
    last = ""
    for _ in range(PUSH_TRIES):
        outcome = clone.write(item, mark)
        if outcome.status == Status.FAILED or dry_run:
            return outcome
        if outcome.commit == remote_tip:
            return replace(outcome, pushed=True)
        verdict, last = clone.push(item.branch)
        if verdict == "pushed":
            return replace(outcome, pushed=True)
        if verdict == "refused":
            return CommitOutcome(
                item.number,
                Status.FAILED,
                item.branch,
                None,
                f"the remote refused the push ({last}); runner never forces",
            )
        remote_tip = clone.refresh(item.branch)
    return CommitOutcome(
        item.number,
        Status.FAILED,
        item.branch,
        None,
        f"the remote branch kept moving ({last}); gave up after {PUSH_TRIES} pushes",
    )


def _prune_leftovers(clone: Clone, number: int) -> None:
    """A retried fixer issue may have left a worktree (and processes) here when its worker died."""
    assert _state is not None and _state.worktrees_dir is not None
    prune_stale_worktrees(clone.directory, Path(_state.worktrees_dir), Path(clone.lock.lock_file), number)


def _clone(url: str, directory: Path, env: dict[str, str]) -> None:
    """A clone without checkout: objects and refs, and a working tree only for the fixer's worktrees."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = directory.with_name(f"{directory.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    _network(
        [
            "clone",
            "--quiet",
            "--no-checkout",
            "--no-tags",
            "--config",
            "core.logAllRefUpdates=false",
            "--",
            url,
            str(partial),
        ],
        env,
        f"cloning {url}",
    )
    os.replace(partial, directory)


def git_env() -> dict[str, str]:
    """The environment for git talking to a remote: no prompt (a worker has no terminal), and
    the host's own credential helpers; never a token."""
    return git_environ()


def _network(args: list[str], env: dict[str, str], what: str) -> None:
    proc = _run(args, env, what)
    if proc.returncode != 0:
        error = redact(proc.stderr.decode(errors="replace").strip())[-300:]
        raise WorkerGitError(f"{what}: {error or f'git exited with {proc.returncode}'}")


def _run(args: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            ["git", *args],
            capture_output=True,
            env=env,
            stdin=subprocess.DEVNULL,
            timeout=NETWORK_TIMEOUT_S,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        raise WorkerGitError(f"{what}: git took longer than {NETWORK_TIMEOUT_S} s") from None
    except FileNotFoundError:
        raise WorkerGitError(f"{what}: git is not installed on {socket.gethostname()}") from None


def _bump_generation(git_dir: Path) -> None:
    """Tell every RepoWriter on this clone (other processes too) to read the branch tips again."""
    path = git_dir / GENERATION_NAME
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(f"{os.getpid()}-{time.time_ns()}\n")
    os.replace(tmp, path)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""
