"""Fixer commands: the user's own tool, run once per issue in a throw-away git worktree.

    run_fixer ─┬─ refs, HEAD and config of the main checkout (before)
               ├─(repository lock) git worktree add --detach <worktrees>/<repo>/issue-<N>-<token> <start>
               ├─ <worktree>.issue.json, <worktree>.plan.md   (beside the worktree, so never committed)
               │     and <worktree>.summary.md, where the command may write what it did (RUNNER_SUMMARY)
               ├─ command: argv, cwd=worktree, stdin=/dev/null, own session ──> <logs>/issue-<N>-<time>-<token>.log
               │     timeout, or processes left behind ──> SIGTERM, grace, SIGKILL to its process group,
               │     its descendants and every process marked with its worktree (RUNNER_WORKTREE)
               ├─ git add -A; git diff --cached --raw <start> ──> git cat-file --batch ──> changed, modes
               │     (into a copy of the worktree's index: its own, and `git status`, stay as the command left them)
               ├─ check (exit 0 and changes): argv, same worktree, same variables, the time left ──> <log>.check.log
               ├─ refs, HEAD and config of the main checkout (after) ──> foreign_changes
               │     (all but the moves runner's own git writer makes meanwhile)
               └─(repository lock) git worktree remove --force   (--keep-worktrees: mark it kept instead)

The command runs outside the lock, so many commands work on one repository at
once. No shell is involved: issue text reaches the command only through
environment variables and files, so `$(...)` in a title stays text. The issue
branch is never checked out; only the git writer moves it, under its lock, from
`changed`. New contents come from the blobs `git add` made, not from reading
the files: filters apply as in a commit, and a symlink to `/etc/passwd` yields
its target path, never the file it points at.

What is committed is what `git status` shows in the worktree once the command
has exited, minus ignored files: nothing outside the worktree, nothing under
`.git`, no nested repository. The changes are taken before the check runs, so
whatever the check leaves behind (caches, build output, even edits) is never
part of the fix it judged.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from runner.core.secrets import TOKEN_ENV
from runner.git.store import GitError
from runner.sage.changes import collect_changes
from runner.sage.command import run_command
from runner.sage.foreign import foreign_changes, main_refs
from runner.sage.worktrees import (
    MARKER_ENV,
    RepoDirs,
    Worktree,
    add_worktree,
    clean_environ,
    git,
    keep_worktree,
    prune_stale_worktrees,
    remove_worktree,
    repo_dirs,
    repo_root,
)

__all__ = ["TAIL_BYTES", "CheckOutcome", "FixerOutcome", "FixerSpec", "prune_stale_worktrees", "run_fixer"]

TAIL_BYTES = 4096
SUMMARY_BYTES = 16_384
TITLE_ENV_CHARS = 4096
# Inherited variables the command does not get unless extra_env passes them on purpose:
# whatever it prints lands in a log file, and tokens must never reach logs. (A sage has
# dropped them already; this keeps run_fixer safe wherever it is called.)
SECRET_ENV = frozenset(TOKEN_ENV)


@dataclass(frozen=True)
class FixerSpec:
    """The fixer command and where it works; picklable, sent once to each sage."""

    command: tuple[str, ...]
    timeout_s: float
    worktrees_dir: str
    logs_dir: str
    keep_worktrees: bool = False
    check: tuple[str, ...] | None = None


@dataclass(frozen=True)
class CheckOutcome:
    """What the check command (`--check`) said about the command's change. `exit_code` None: it
    did not finish in the time the command left it."""

    exit_code: int | None
    timed_out: bool
    output_tail: str
    log_path: str
    duration_s: float

    @property
    def passed(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass(frozen=True)
class FixerOutcome:
    """What one run of the command did.

    `changed` holds every path that differs from the start commit (None = deleted),
    whatever the exit code; it is empty when the command timed out. `modes` has
    an entry for each path whose content is not None. A negative `exit_code` is
    the signal that killed the command.
    """

    exit_code: int | None
    timed_out: bool
    changed: dict[str, bytes | None]
    modes: dict[str, str]
    output_tail: str
    log_path: str
    foreign_changes: list[str]
    duration_s: float
    summary: str = ""
    check: CheckOutcome | None = None


def run_fixer(
    repo: Path,
    start_commit: str,
    issue_number: int,
    branch: str,
    issue_json: bytes,
    plan_text: bytes,
    spec: FixerSpec,
    lock_path: Path,
    extra_env: Mapping[str, str] | None = None,
    *,
    branch_prefix: str,
    hidden_env: frozenset[str] = SECRET_ENV,
) -> FixerOutcome:
    """Run the command for one issue in its own worktree at `start_commit`; report what it changed.

    `branch_prefix` is the run's `--branch-prefix`: branches under it may move while
    the command runs, as the git writer commits other issues, and only those moves
    are not foreign changes.

    Raises GitError when runner's own git plumbing fails (the worktree is removed
    all the same) and ValueError when `worktrees_dir` lies inside the checkout.
    """
    repo = repo.resolve()
    dirs = repo_dirs(repo)
    root = _worktrees_root(repo, Path(spec.worktrees_dir), dirs)
    commit = _resolve_commit(repo, start_commit)
    token = secrets.token_hex(4)
    log_path = _log_path(Path(spec.logs_dir).resolve(), issue_number, token)
    worktree = add_worktree(repo, root, issue_number, token, commit, lock_path)
    try:
        worktree.issue_file.write_bytes(issue_json)
        worktree.plan_file.write_bytes(plan_text)
        env = command_env(repo, issue_number, issue_title(issue_json), branch, worktree, extra_env, hidden_env)
        before = main_refs(repo, dirs)
        run = run_command(spec.command, spec.timeout_s, worktree.path, env, log_path)
        changed, modes = ({}, {}) if run.timed_out else collect_changes(worktree, commit)
        summary = "" if run.timed_out else read_summary(worktree.summary_file)
        check = None
        if spec.check and run.exit_code == 0 and changed:
            check = run_check(spec.check, spec.timeout_s - run.duration_s, worktree.path, env, log_path)
        foreign = foreign_changes(repo, before, main_refs(repo, dirs), branch_prefix)
    finally:
        if spec.keep_worktrees:
            keep_worktree(worktree)
        else:
            remove_worktree(repo, worktree, lock_path)
    return FixerOutcome(
        run.exit_code,
        run.timed_out,
        changed,
        modes,
        read_tail(log_path),
        str(log_path),
        foreign,
        run.duration_s,
        summary,
        check,
    )


def run_check(
    argv: tuple[str, ...], time_left_s: float, worktree: Path, env: dict[str, str], fixer_log: Path
) -> CheckOutcome:
    """Run the check where the command ran, as it ran (no shell, its variables, its process-group
    handling), in the time the command left of the issue's timeout; its log beside the command's."""
    log_path = fixer_log.with_name(fixer_log.name.removesuffix(".log") + ".check.log")
    if time_left_s <= 0:
        log_path.write_text("runner: the command used the whole timeout; no time was left for the check\n")
        return CheckOutcome(None, True, read_tail(log_path), str(log_path), 0.0)
    run = run_command(argv, time_left_s, worktree, env, log_path)
    return CheckOutcome(run.exit_code, run.timed_out, read_tail(log_path), str(log_path), run.duration_s)


def command_env(
    repo: Path,
    number: int,
    title: str,
    branch: str,
    worktree: Worktree,
    extra_env: Mapping[str, str] | None,
    hidden_env: frozenset[str] = SECRET_ENV,
) -> dict[str, str]:
    """The command's environment: ours, minus secrets and repository overrides, plus the issue."""
    env = {k: v for k, v in clean_environ().items() if k not in hidden_env}
    env.update(
        {
            "RUNNER_ISSUE_NUMBER": str(number),
            "RUNNER_ISSUE_TITLE": env_safe(title)[:TITLE_ENV_CHARS],
            "RUNNER_ISSUE_JSON": str(worktree.issue_file),
            "RUNNER_PLAN": str(worktree.plan_file),
            "RUNNER_SUMMARY": str(worktree.summary_file),
            "RUNNER_REPO": str(repo),
            "RUNNER_BRANCH": branch,
        }
    )
    env.update(extra_env or {})
    env["GIT_TERMINAL_PROMPT"] = "0"
    env[MARKER_ENV] = str(worktree.path)
    return env


def issue_title(issue_json: bytes) -> str:
    try:
        data = json.loads(issue_json)
    except ValueError:
        return ""
    title = data.get("title") if isinstance(data, dict) else None
    return title if isinstance(title, str) else ""


def env_safe(text: str) -> str:
    """Text an environment variable can hold: no NUL, no lone surrogates."""
    return text.replace("\0", "").encode("utf-8", "replace").decode("utf-8")


def _worktrees_root(repo: Path, worktrees_dir: Path, dirs: RepoDirs) -> Path:
    """Where this repository's worktrees go; never inside its checkout (or, for a bare
    repository such as the clone of a `--repo URL`, inside its git directory)."""
    bare = git("-C", str(repo), "rev-parse", "--is-bare-repository").strip() == b"true"
    top = (
        str(dirs.common)
        if bare
        else git("-C", str(repo), "rev-parse", "--show-toplevel").decode("utf-8", "surrogateescape").strip()
    )
    toplevel, wanted = Path(top).resolve(), worktrees_dir.resolve()
    if wanted == toplevel or toplevel in wanted.parents:
        raise ValueError(f"worktrees directory {wanted} is inside the checkout {toplevel}")
    return repo_root(wanted, dirs.common)


def _resolve_commit(repo: Path, start_commit: str) -> str:
    if not start_commit or start_commit.startswith("-"):
        raise GitError(f"{start_commit!r} is not a valid start commit")
    try:
        out = git("-C", str(repo), "rev-parse", "--verify", "--quiet", f"{start_commit}^{{commit}}")
    except GitError:
        raise GitError(f"{repo}: {start_commit!r} does not name a commit") from None
    return out.decode().strip()


def _log_path(logs_dir: Path, number: int, token: str) -> Path:
    logs_dir.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return logs_dir / f"issue-{number}-{stamp}-{token}.log"


def read_summary(path: Path, size: int = SUMMARY_BYTES) -> str:
    """What the command wrote to RUNNER_SUMMARY: its first `size` bytes as text; "" when it wrote
    nothing there. Only a regular file counts: a symlink could point anywhere on the machine."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return ""
        data = file.read(size)
    return data.decode("utf-8", errors="replace").strip()


def read_tail(path: Path, size: int = TAIL_BYTES) -> str:
    """The end of the log, from the first whole word: a word cut by the seek could be part of a
    secret that redaction no longer recognises."""
    with open(path, "rb") as log:
        log.seek(0, os.SEEK_END)
        start = max(0, log.tell() - size)
        log.seek(start)
        data = log.read()
    if start > 0:
        cut = re.search(rb"\s", data)
        data = data[cut.end() :] if cut else b""
    return data.decode("utf-8", errors="replace")
