"""The run's repositories, opened side by side before anything is read or written.

    config.repos ──open_writers──> {key: RepoWriter}    (git checks, base commit, branch tips,
                                                          the first batch's fast-import)
    writers ──────index_paths────> {key: index file}    (built, updated from an earlier commit's, or found,
                                                          once per base commit)

Why side by side: the time goes to git processes, which run in parallel; eight
repositories took eight times one repository's start-up when opened one after
another. Clones at the same commit share one index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from runner.config import Config, ConfigError
from runner.core.logs import LOGGER
from runner.git.auth import git_origin
from runner.git.store import GitError, RepoWriter
from runner.sage import codeindex
from runner.sage.fixer import FixerSpec, prune_stale_worktrees
from runner.sage.worker import Outputs

log = logging.getLogger(LOGGER)
MAX_AT_ONCE = 8


def open_writers(config: Config) -> dict[str, RepoWriter]:
    """A writer per repository, checked before anything is read or written."""
    targets = dict(config.repos)
    if config.default_repo is not None:
        targets[""] = config.default_repo
    if not targets:
        raise ConfigError("no repository given: use --repo PATH (or --repo OWNER/NAME=PATH, or [repos] in runner.toml)")
    opened: list[RepoWriter] = []

    def open_one(path: Path) -> RepoWriter:
        writer = RepoWriter(path, config.identity, config.branch_prefix, config.base, config.dry_run, stream_ahead=True)
        opened.append(writer)
        return writer

    try:
        return per_repository(open_one, targets)
    except BaseException as exc:
        for writer in opened:
            writer.close()
        if isinstance(exc, GitError):
            raise ConfigError(str(exc)) from None
        raise


def index_paths(writers: dict[str, RepoWriter], cache: Path) -> dict[str, str]:
    """Each repository's index file, built (or found in `cache`) once per distinct base commit."""
    one_per_commit = {w.base_commit: w for w in writers.values()}
    built = per_repository(lambda w: str(_built(w.repo, w.base_commit, cache)), one_per_commit)
    return {key: built[w.base_commit] for key, w in writers.items()}


def _built(repo: Path, commit: str, cache: Path) -> str:
    """The index file of `commit`; the master keeps no connection to it, sages open their own."""
    index, path = codeindex.load_or_build(repo, commit, cache)
    index.close()
    return str(path)


def per_repository(fn: Callable[[Any], Any], items: dict[str, Any]) -> dict[str, Any]:
    """`fn` of each item, all at once; the first failure, in key order, is raised."""
    if len(items) <= 1:
        return {key: fn(item) for key, item in items.items()}
    with ThreadPoolExecutor(min(MAX_AT_ONCE, len(items)), thread_name_prefix="runner-setup") as workers:
        futures = {key: workers.submit(fn, item) for key, item in items.items()}
        return {key: future.result() for key, future in futures.items()}


def sage_outputs(config: Config, writers: dict[str, RepoWriter]) -> Outputs:
    """What the sages return besides the plan: the triage comment (publish mode triage), with
    links to each repository's files on its GitHub web host (an Enterprise host too)."""
    settings = config.github_settings
    triage = settings is not None and settings.publish == "triage" and config.github is not None
    origin = git_origin(settings.api_url) if settings is not None else None
    web = {key: f"{origin}/{key or config.github}" for key in writers} if triage and origin else {}
    return Outputs(commit_plan=config.commit_plan, comment=triage, web_urls=web)


def fixer_spec(config: Config, writers: dict[str, RepoWriter], run_id: str) -> FixerSpec | None:
    """The fixer command's settings; leftovers of a killed run are pruned first (we hold the run lock)."""
    cfg = config
    if not cfg.command:
        return None
    worktrees = cfg.state_dir / "worktrees"
    for writer in writers.values():
        pruned = prune_stale_worktrees(writer.repo, worktrees, Path(writer.lock.lock_file))
        if pruned:
            log.warning("pruned %d worktrees left by an earlier run in %s", len(pruned), writer.repo)
    return FixerSpec(
        cfg.command,
        cfg.task_timeout or 600.0,
        str(worktrees),
        str(cfg.report_dir / f"{run_id}-logs"),
        cfg.keep_worktrees,
        cfg.check,
    )
