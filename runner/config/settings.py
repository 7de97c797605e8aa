"""The configuration object every stage is given: what a run may do, validated once by `load`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from runner.config.github import GitHubSettings
from runner.core.errors import UsageError
from runner.core.models import Identity
from runner.core.selection import Selection
from runner.core.triage import TriageRules
from runner.learn.settings import LearnSettings

DEFAULT_CONFIG_NAME = "runner.toml"


class ConfigError(UsageError):
    """Bad configuration or usage (exit 2)."""


@dataclass(frozen=True)
class Config:
    repos: Mapping[str, Path]
    default_repo: Path | None
    state_dir: Path
    report_dir: Path
    branch_prefix: str = "runner/issue-"
    base: str | None = None
    identity: Identity = field(default_factory=Identity)
    plan_dir: str = ".runner/issues/{number}"
    templates_dir: Path | None = None
    workers: int | None = None
    min_workers: int = 1
    max_workers: int = 8
    queue_size: int = 500
    aging_s: float = 300.0
    task_timeout: float | None = 600.0
    max_attempts: int = 3
    grace_s: float = 30.0
    command: tuple[str, ...] | None = None
    check: tuple[str, ...] | None = None
    publish_failed: bool = False
    selection: Selection = field(default_factory=Selection)
    keep_worktrees: bool = False
    commit_plan: bool = False
    dry_run: bool = False
    quiet: bool = False
    rules: TriageRules = field(default_factory=TriageRules)
    github: str | None = None
    github_settings: GitHubSettings | None = None
    backend: str = "local"
    scheduler: str | None = None
    dask_workers: int | None = None
    remotes: Mapping[str, str] = field(default_factory=dict)
    worker_cache: str | None = None
    learn: LearnSettings = field(default_factory=LearnSettings)

    def branch_for(self, number: int) -> str:
        return f"{self.branch_prefix}{number}"

    def plan_dir_for(self, number: int) -> str:
        return self.plan_dir.format(number=number)


def default_state_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "runner"
