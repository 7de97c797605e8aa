"""One validated configuration object, built from `runner.toml` and the command line.

Command-line values win over the file; the file wins over defaults. Everything
is checked here, once, so the rest of the code can trust what it is given and
a mistake is reported as a usage error (exit 2) naming the file and the key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import runner.config.checks as checks
from runner.config.github import GitHubSettings, TokenError, api_url, app_credentials, publish_settings, read_token
from runner.config.settings import DEFAULT_CONFIG_NAME, Config, ConfigError, default_state_dir
from runner.core.triage import TriageRules
from runner.git.clones import clone_dir, split_remotes
from runner.learn.settings import learn_settings

_REPO_KEY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def read_toml(path: Path | None) -> tuple[dict[str, Any], Path | None]:
    """The parsed config file (explicit path, else ./runner.toml if present)."""
    if path is None:
        candidate = Path(DEFAULT_CONFIG_NAME)
        if not candidate.is_file():
            return {}, None
        path = candidate
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), path
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def build_config(options: Mapping[str, Any], config_path: Path | None = None) -> Config:
    """Merge the config file and command-line `options` (None = not given) and validate."""
    data, source = read_toml(config_path)
    where = str(source) if source else "command line"
    section = _table(data, "runner", where)
    _check_known_keys(section, where)
    merged = {**section, **{k: v for k, v in options.items() if v is not None and k != "repo_args"}}
    args, table, remotes = split_remotes(
        options.get("repo_args") or [], _table(data, "repos", where), source.parent if source else None
    )
    repos, default_repo = _repos(args, table, source)
    try:
        rules = TriageRules().with_overrides(_table(data, "triage", where))
        config = _with_remotes(_validated(merged, repos, default_repo, rules), remotes)
        config = replace(config, learn=learn_settings(_table(data, "learn", where)))
        if not merged.get("allow_report_in_repo"):
            checks.check_report_dir(config)
        _check_fixer_backend(config)
        github = {
            **_table(data, "github", where),
            **{k: v for k, v in options.items() if k.startswith("gh_") and v is not None},
        }
        return _one_repository_per_clone(_with_github(config, merged.get("github"), github))
    except (ValueError, TypeError, TokenError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _with_remotes(config: Config, remotes: Mapping[str, str]) -> Config:
    """Repositories given as URLs are worked on in their clone under the state directory."""
    if not remotes:
        return config
    if "" in remotes and config.default_repo is not None:
        raise ValueError("--repo PATH may be given once; map more repositories with --repo OWNER/NAME=PATH")
    clones = {key: clone_dir(config.state_dir, url) for key, url in remotes.items()}
    repos = {**config.repos, **{key: path for key, path in clones.items() if key}}
    return replace(config, repos=repos, default_repo=clones.get("", config.default_repo), remotes=dict(remotes))


def _one_repository_per_clone(config: Config) -> Config:
    """Branches, plans and the journal know an issue by clone and number, so a clone may hold one
    repository's issues and a repository may have one clone (runner/run/routing.py)."""
    clones = [
        *((key, path) for key, path in config.repos.items()),
        *((("--repo PATH", config.default_repo),) if config.default_repo is not None else ()),
    ]
    seen: dict[Path, str] = {}
    for key, path in clones:
        if path in seen:
            raise ValueError(
                f"{seen[path]} and {key} are both the clone {path}: a clone holds the issues "
                "of one repository; give each repository its own clone"
            )
        seen[path] = key
    if config.default_repo is not None and config.github is not None and config.github in config.repos:
        raise ValueError(
            f"--github {config.github} is mapped to {config.repos[config.github]}, and the plain "
            f"--repo {config.default_repo} would publish there too: give one of them"
        )
    return config


def _check_fixer_backend(config: Config) -> None:
    """An external cluster's workers cannot see the master's paths; they clone repositories given as URLs."""
    if not config.command or config.backend != "dask":
        return
    keys = [*config.repos, *([""] if config.default_repo is not None else [])]
    local = [key or "--repo" for key in keys if key not in config.remotes]
    if local:
        raise ValueError(
            "command with backend dask needs every repository given as a URL (each worker host "
            f"clones it); local paths for: {', '.join(local)}; or use backend local or dask-local"
        )


def _with_github(config: Config, repo: str | None, table: Mapping[str, Any]) -> Config:
    """Add GitHub settings when publishing was asked for (`--github OWNER/NAME`)."""
    if not repo:
        if table.get("gh_publish"):
            raise ValueError("--publish needs --github OWNER/NAME: without it nothing is published")
        return config
    if not _REPO_KEY.match(repo):
        raise ValueError(f"--github {repo!r} must look like OWNER/NAME")
    get = lambda key, default: table.get(f"gh_{key}", table.get(key, default))  # noqa: E731
    token_file = get("token_file", None)
    labels = get("labels", ["runner"])
    if isinstance(labels, str) or not all(isinstance(x, str) for x in labels):
        raise ValueError("github labels must be a list of strings")
    scale = checks.time_scale(get("time_scale", 1.0))
    app = app_credentials(get("app_id", None), get("app_key_file", None), get("installation_id", None), repo.lower())
    if app is not None and token_file:
        raise ValueError("give a token file or a GitHub App (app_id, app_key_file), not both")
    settings = GitHubSettings(
        api_url=str(get("api_url", None) or api_url()),
        token="" if app is not None else read_token(Path(token_file).expanduser() if token_file else None),
        app=app,
        write_interval_s=float(get("write_interval", 1.0)) / scale,
        notify_interval_s=float(get("notify_interval", 3.0)) / scale,
        content_per_minute=checks.positive_int(get("content_per_minute", 80), "content_per_minute"),
        content_per_hour=checks.positive_int(get("content_per_hour", 500), "content_per_hour"),
        max_wait_s=float(get("max_wait", 120.0)) / scale,
        secondary_wait_s=float(get("secondary_wait", 60.0)) / scale,
        comment=checks.flag(get("comment", True), "github comment"),
        time_scale=scale,
        labels=tuple(labels),
        recreate_closed=bool(get("recreate", False)),
        remote=str(get("remote", "origin")),
        push_timeout_s=float(get("push_timeout", 600.0)),
        login=checks.login(get("login", None)),
        **publish_settings(get, has_fixer=bool(config.command), commit_plan=config.commit_plan),
    )
    if settings.write_interval_s < 0 or settings.notify_interval_s < 0 or settings.max_wait_s < 0:
        raise ValueError("write_interval, notify_interval and max_wait must not be negative")
    if settings.push_timeout_s <= 0:
        raise ValueError(f"push_timeout must be a positive number of seconds, got {settings.push_timeout_s:g}")
    return replace(config, github=repo.lower(), github_settings=settings)


RUNNER_KEYS = frozenset(
    {
        "aging_s",
        "allow_report_in_repo",
        "author_email",
        "author_name",
        "backend",
        "base",
        "branch_prefix",
        "check",
        "command",
        "commit_plan",
        "dask_workers",
        "dry_run",
        "github",
        "grace",
        "keep_worktrees",
        "max_attempts",
        "max_workers",
        "min_workers",
        "plan_dir",
        "publish_failed",
        "queue_size",
        "quiet",
        "report_dir",
        "scheduler",
        "state_dir",
        "task_timeout",
        "templates",
        "worker_cache",
        "workers",
    }
)


def _check_known_keys(section: Mapping[str, Any], where: str) -> None:
    """A misspelt key would otherwise be ignored without a word."""
    unknown = sorted(set(section) - RUNNER_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key{'s' if len(unknown) > 1 else ''} in [runner]: "
            f"{', '.join(unknown)} (known keys: {', '.join(sorted(RUNNER_KEYS))})"
        )


def _table(data: Mapping[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _repos(args: list[str], table: Mapping[str, Any], source: Path | None) -> tuple[dict[str, Path], Path | None]:
    repos: dict[str, Path] = {}
    base = source.parent if source else Path.cwd()
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(f"{source}: [repos] {key!r} must be a path string")
        if not _REPO_KEY.match(key):
            raise ConfigError(f"{source}: [repos] key {key!r} must look like OWNER/NAME")
        repos[_repo_key(key)] = _resolve(base / Path(value).expanduser())
    default = None
    for arg in args:
        key, sep, path = arg.partition("=")
        if sep and _REPO_KEY.match(key):
            repos[_repo_key(key)] = _resolve(Path(path).expanduser())
        elif default is None:
            default = _resolve(Path(arg).expanduser())
        else:
            raise ConfigError("--repo PATH may be given once; map more repositories with --repo OWNER/NAME=PATH")
    return repos, default


def _repo_key(key: str) -> str:
    if not _REPO_KEY.match(key):
        raise ConfigError(f"repository {key!r} must look like OWNER/NAME")
    return key.lower()


def _resolve(path: Path) -> Path:
    return path.resolve()


def _validated(m: Mapping[str, Any], repos: dict[str, Path], default_repo: Path | None, rules: TriageRules) -> Config:
    prefix = str(m.get("branch_prefix", "runner/issue-"))
    checks.check_branch_prefix(prefix)
    plan_dir = checks.check_plan_dir(str(m.get("plan_dir", ".runner/issues/{number}")))
    backend, scheduler, dask_workers = checks.backend(m)
    workers = checks.workers(m.get("workers"))
    if dask_workers is not None:
        if workers is not None and workers != dask_workers:
            raise ValueError(f"--workers {workers} and --dask-workers {dask_workers} disagree: give one")
        workers = dask_workers
    min_w, max_w = int(m.get("min_workers", 1)), int(m.get("max_workers", max(8, workers or 0)))
    if not 1 <= min_w <= max_w:
        raise ValueError(f"need 1 <= min_workers ({min_w}) <= max_workers ({max_w})")
    timeout = m.get("task_timeout", 600.0)
    command = checks.command(m.get("command"))
    check = checks.command(m.get("check"), "check")
    if check and not command:
        raise ValueError("check runs after a fixer command: give command (--command) too")
    state_dir = Path(m.get("state_dir") or default_state_dir()).expanduser().resolve()
    return Config(
        repos=repos,
        default_repo=default_repo,
        state_dir=state_dir,
        report_dir=Path(m.get("report_dir") or state_dir / "reports").expanduser().resolve(),
        branch_prefix=prefix,
        base=m.get("base"),
        identity=checks.identity(m),
        plan_dir=plan_dir,
        templates_dir=Path(m["templates"]).expanduser().resolve() if m.get("templates") else None,
        workers=workers,
        min_workers=min_w,
        max_workers=max_w,
        queue_size=checks.positive_int(m.get("queue_size", 500), "queue_size"),
        aging_s=float(m.get("aging_s", 300.0)),
        task_timeout=float(timeout) if timeout else None,
        max_attempts=checks.positive_int(m.get("max_attempts", 3), "max_attempts"),
        grace_s=float(m.get("grace", 30.0)),
        command=command,
        check=check,
        publish_failed=checks.flag(m.get("publish_failed", False), "publish_failed"),
        selection=checks.selection(m),
        keep_worktrees=bool(m.get("keep_worktrees", False)),
        commit_plan=checks.flag(m.get("commit_plan", False), "commit_plan"),
        dry_run=bool(m.get("dry_run", False)),
        quiet=bool(m.get("quiet", False)),
        rules=rules,
        backend=backend,
        scheduler=scheduler,
        dask_workers=dask_workers,
        worker_cache=str(m["worker_cache"]) if m.get("worker_cache") else None,
    )
