"""`runner learn`: a repository's triage model from its own labelled issues.

    runner learn OWNER/NAME                    closed and open issues from GitHub (runner fetch's
                                               paginated, ETag-cached listing)
    runner learn --from FILE [--repository R]  issue objects as `runner fetch` writes them; each
                                               item's repository from its repository_url, or R

Prints, per repository, what was learned (issue counts, cross-validated macro F1 against
the rules on the same issues) or why the rules stay, and the labels it could not map
(map them in runner.toml's `[learn.labels]`). `runner nightly` retrains through
`runner.run.learning.refresh_models`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from runner.config import ConfigError, default_state_dir, read_toml
from runner.core.status import ExitCode
from runner.core.triage import TriageRules
from runner.learn.settings import LearnSettings, learn_settings
from runner.run.learning import _fetch_into_list, learn_repository


def learn(
    repository: str | None = typer.Argument(
        None, metavar="[OWNER/NAME]", help="fetch this repository's labelled issues"
    ),
    from_file: Path | None = typer.Option(None, "--from", help="issue objects (JSON array or JSON Lines) instead"),
    as_repository: str | None = typer.Option(None, "--repository", help="with --from: the repository of every item"),
    config: Path | None = typer.Option(None, help="config file with the learn and triage tables [./runner.toml]"),
    state_dir: Path | None = typer.Option(None, help="runner's own files; models go to <state-dir>/models"),
    token_file: Path | None = typer.Option(None, help="file holding the GitHub token [$GITHUB_TOKEN]"),
    max_wait: float = typer.Option(120.0, help="longest rate-limit wait in seconds before giving up"),
) -> None:
    """Learn a repository's kinds and priorities from the labels its maintainers gave its issues."""
    say = typer.echo
    try:
        rules, settings = _settings(config)
        directory = (state_dir or _state_dir_of(config) or default_state_dir()).expanduser().resolve()
        if (repository is None) == (from_file is None):
            raise ConfigError("give OWNER/NAME to fetch from GitHub, or --from FILE")
        if from_file is not None:
            groups = _groups(_read_items(from_file), as_repository, from_file)
        else:
            assert repository is not None
            groups = {repository.lower(): _fetch_all(repository, directory, token_file, max_wait)}
    except (ConfigError, ValueError) as exc:
        typer.echo(f"runner: error: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None
    except _FetchFailed as exc:
        typer.echo(f"runner: error: {exc}", err=True)
        raise typer.Exit(exc.code) from None
    try:
        for repo, items in groups.items():
            learn_repository(repo, items, directory, rules, settings, say)
    except ConfigError as exc:
        typer.echo(f"runner: error: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None


class _FetchFailed(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _settings(config: Path | None) -> tuple[TriageRules, LearnSettings]:
    data, source = read_toml(config)
    where = str(source) if source else "command line"
    try:
        triage, table = data.get("triage", {}), data.get("learn", {})
        if not isinstance(triage, dict) or not isinstance(table, dict):
            raise ValueError("[triage] and [learn] must be tables")
        return TriageRules().with_overrides(triage), learn_settings(table)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _state_dir_of(config: Path | None) -> Path | None:
    data, source = read_toml(config)
    value = (data.get("runner") or {}).get("state_dir") if isinstance(data.get("runner"), dict) else None
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() or source is None else source.parent / path


def _read_items(path: Path) -> Iterator[Any]:
    from runner.run import source

    if not path.is_file():
        raise ConfigError(f"{path} does not exist")
    try:
        for _line, value in source._values(path, source.detect_format(path)):
            yield value
    except source.InputError as exc:
        raise ConfigError(str(exc)) from None


def _groups(values: Iterator[Any], repository: str | None, path: Path) -> dict[str, list[dict[str, Any]]]:
    """Items by repository: --repository for all, else each item's repository_url."""
    from runner.github.fetch import check_repo
    from runner.run.source import repository_from_url

    if repository is not None:
        check_repo(repository)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for position, value in enumerate(values, start=1):
        if not isinstance(value, dict):
            continue
        url = value.get("repository_url")
        repo = repository or (repository_from_url(url) if isinstance(url, str) else None)
        if not repo:
            raise ConfigError(f"{path}: item {position} has no repository_url; give --repository OWNER/NAME")
        groups[repo.lower()].append(value)
    return dict(groups)


def _fetch_all(repository: str, state_dir: Path, token_file: Path | None, max_wait: float) -> list[dict[str, Any]]:
    """Every issue, open and closed, through runner fetch's cached pages."""
    from runner.config.github import GitHubSettings, TokenError, api_url, read_token
    from runner.core.secrets import redact, token_environ
    from runner.github.client import make_github
    from runner.github.fetch import FetchError, fetch_issues

    env = token_environ()
    token = ""
    try:
        token = read_token(token_file, env)
        gh = make_github(GitHubSettings(api_url=api_url(env), token=token, max_wait_s=max_wait))
        try:
            return _fetch_into_list(gh, repository, state_dir, max_wait, fetch_issues)
        finally:
            gh.close()
    except TokenError as exc:
        raise ConfigError(str(exc)) from None
    except FetchError as exc:
        raise _FetchFailed(redact(str(exc), token), exc.exit_code) from None


def status_lines(state_dir: Path) -> list[str]:
    """One line per stored model for `runner status` (metadata only: nothing heavy is imported)."""
    if not (state_dir / "models").is_dir():
        return []
    try:
        from runner.learn import store as model_store
    except ImportError:
        return []
    lines = []
    for repository, meta in model_store.stored(state_dir):
        if isinstance(meta, str):
            lines.append(f"  {repository}: {meta}")
            continue
        parts = []
        for target, info in (meta.get("targets") or {}).items():
            if info.get("trained"):
                parts.append(
                    f"{target} F1 {info.get('cv_macro_f1', 0):.2f} (rules {info.get('cv_rules_macro_f1') or 0:.2f}, "
                    f"{info.get('examples')} issues{_folds_note(info)})"
                )
            else:
                parts.append(f"{target} by rules ({info.get('reason')})")
        lines.append(f"  {repository}: trained {meta.get('trained_at')}; " + "; ".join(parts))
    return lines


def _folds_note(info: dict) -> str:
    return ", folds in time order" if info.get("cv_folds") == "time order" else ""


if __name__ == "__main__":  # pragma: no cover
    typer.run(learn)
