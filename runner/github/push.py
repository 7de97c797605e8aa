"""Pushing a batch of issue branches: one `git push` per chunk of branches, fast-forward only.

A push rejected because another push held the ref's lock is tried again (a few times, with a
short pause); a non-fast-forward is final, because runner never forces. A push that times out
stalls every later push of the run in this repository (deferred, not failed), since the remote
is not answering. The token reaches git through the auth helper's environment, never argv.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from github import GithubException

from runner.config.github import GitHubSettings
from runner.core.secrets import redact
from runner.core.status import Status
from runner.git.auth import git_auth_env
from runner.git.clones import porcelain_statuses
from runner.git.cmd import git_environ, git_proc, run_in_own_group
from runner.github.breaker import CircuitBreaker
from runner.github.client import current_token

PUSH_CHUNK = 200
PUSH_TRIES = 3
PUSH_RETRY_S = 1.0


class BranchPusher:
    """The push half of a repository's `Publisher`, sharing its breaker."""

    def __init__(
        self, *, repo_path: Path, settings: GitHubSettings, breaker: CircuitBreaker, sleep: Callable[[float], None]
    ) -> None:
        self.repo_path = repo_path
        self.settings = settings
        self.breaker = breaker
        self.sleep = sleep
        self._push_stalled: str | None = None

    # -- git push --------------------------------------------------------------------------

    def push(self, branches: list[str]) -> dict[str, tuple[str, str]]:
        """Push branches (fast-forward only); problems by branch as (status, error)."""
        if self._push_stalled:
            return {b: (Status.DEFERRED, self._push_stalled) for b in branches}
        problems: dict[str, tuple[str, str]] = {}
        url = self._remote_url()
        if url is None:
            return {b: (Status.FAILED, f"the repository has no remote {self.settings.remote!r}") for b in branches}
        for start in range(0, len(branches), PUSH_CHUNK):
            chunk = branches[start : start + PUSH_CHUNK]
            for attempt in range(PUSH_TRIES):
                if not self.breaker.try_acquire():
                    problems.update({b: (Status.DEFERRED, "circuit breaker open") for b in chunk})
                    break
                failed = self._push_chunk(chunk, url)
                retry = [b for b, (status, _) in failed.items() if status == "retry"]
                if not retry or attempt == PUSH_TRIES - 1:
                    problems.update(
                        {b: (Status.DEFERRED if st == "retry" else st, msg) for b, (st, msg) in failed.items()}
                    )
                    break
                problems.update({b: v for b, v in failed.items() if v[0] != "retry"})
                chunk = retry
                self.sleep(PUSH_RETRY_S * (attempt + 1))
        return problems

    def _push_chunk(self, chunk: list[str], url: str) -> dict[str, tuple[str, str]]:
        refspecs = [f"refs/heads/{b}:refs/heads/{b}" for b in chunk]
        try:
            token = current_token(self.settings)
        except (GithubException, OSError) as exc:
            self.breaker.record_failure()
            return {b: (Status.DEFERRED, f"no GitHub App token for the push: {redact(str(exc))[:300]}") for b in chunk}
        env = git_environ(git_auth_env(url, token, self.settings.api_url))
        argv = ["git", "-C", str(self.repo_path), "push", "--porcelain", self.settings.remote, *refspecs]
        try:
            proc = run_in_own_group(argv, env, self.settings.push_timeout_s)
        except subprocess.TimeoutExpired:
            self.breaker.record_failure()
            self._push_stalled = (
                f"git push to {self.settings.remote!r} timed out after "
                f"{self.settings.push_timeout_s:g} s (push_timeout); not pushed in this run"
            )
            return {b: (Status.DEFERRED, self._push_stalled) for b in chunk}
        except OSError as exc:
            self.breaker.record_failure()
            return {b: (Status.DEFERRED, f"git push could not run: {exc.strerror or exc}") for b in chunk}
        statuses = porcelain_statuses(proc.stdout.decode(errors="replace"))
        if proc.returncode != 0 and not statuses:
            self.breaker.record_failure()
            error = redact(proc.stderr.decode(errors="replace").strip()[-300:], token)
            return {b: (Status.DEFERRED, f"git push failed: {error}") for b in chunk}
        self.breaker.record_success()
        problems = {}
        for branch in chunk:
            flag, summary = statuses.get(f"refs/heads/{branch}", ("?", "no status from git push"))
            if flag == "!" and not _permanent_rejection(summary):
                problems[branch] = ("retry", f"push rejected for now ({summary})")
            elif flag == "!":
                problems[branch] = (Status.FAILED, f"push rejected ({summary}); runner never forces")
            elif flag == "?":
                problems[branch] = (Status.FAILED, summary)
        return problems

    def _remote_url(self) -> str | None:
        proc = git_proc(self.repo_path, "remote", "get-url", self.settings.remote)
        return proc.stdout.decode("utf-8", "surrogateescape").strip() if proc.returncode == 0 else None


def _permanent_rejection(summary: str) -> bool:
    """A non-fast-forward is final (runner never forces); a lock held by another push is not."""
    return any(word in summary for word in ("non-fast-forward", "fetch first", "stale info", "already exists"))
