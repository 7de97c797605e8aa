"""Command line: `runner process` (and, as they land, fetch / nightly / status)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from runner import __version__
from runner.config import ConfigError, build_config
from runner.pipeline import EXIT_LOCKED, EXIT_USAGE, ProcessRun, RunAbort
from runner.runlock import AlreadyRunning, RunLock
from runner.source import InputError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, help="Turn GitHub issues into ready-to-review branches.")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runner {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True)) -> None:
    """runner: a batch runner for GitHub issues."""


@app.command()
def process(
    input: Optional[str] = typer.Argument(None, help="issues as a JSON array or JSON Lines; '-' reads stdin; "
                                          "omitted with --github: fetch the open issues"),
    repo: List[str] = typer.Option([], "--repo", help="PATH, or OWNER/NAME=PATH (repeatable)"),
    report_dir: Optional[Path] = typer.Option(None, help="where <run-id>.json and .md go [reports]"),
    state_dir: Optional[Path] = typer.Option(None, help="runner's own files [$XDG_STATE_HOME/runner]"),
    config: Optional[Path] = typer.Option(None, help="config file [./runner.toml if present]"),
    workers: Optional[str] = typer.Option(None, help="number of sage processes, or 'auto'"),
    min_workers: Optional[int] = typer.Option(None, help="lower bound for --workers auto"),
    max_workers: Optional[int] = typer.Option(None, help="upper bound for --workers auto"),
    base: Optional[str] = typer.Option(None, help="branch new issue branches start from [current branch]"),
    branch_prefix: Optional[str] = typer.Option(None, help="branch name prefix [runner/issue-]"),
    templates: Optional[Path] = typer.Option(None, help="your own Jinja2 templates directory"),
    plan_dir: Optional[str] = typer.Option(None, help="where plans go in the branch [.runner/issues/{number}]"),
    author_name: Optional[str] = typer.Option(None, help="commit author and committer name [runner]"),
    author_email: Optional[str] = typer.Option(None, help="commit author and committer email"),
    queue_size: Optional[int] = typer.Option(None, help="priority queue bound [500]"),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="per-issue time limit in seconds [600]"),
    max_attempts: Optional[int] = typer.Option(None, help="attempts per issue for transient failures [3]"),
    dry_run: bool = typer.Option(False, "--dry-run", help="analyse and show what would be done; write nothing to git"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="only errors and the summary (for cron)"),
    github: Optional[str] = typer.Option(None, help="publish to OWNER/NAME: push, draft PR, labels, comment"),
    token_file: Optional[Path] = typer.Option(None, help="file holding the GitHub token [$GITHUB_TOKEN]"),
    write_interval: Optional[float] = typer.Option(None, help="seconds between GitHub writes [1]"),
    notify_interval: Optional[float] = typer.Option(None, help="seconds between PRs/comments [3]"),
    max_wait: Optional[float] = typer.Option(None, help="longest rate-limit wait before deferring [120]"),
    recreate: bool = typer.Option(False, "--recreate", help="open a new PR where a closed one exists"),
    remote: Optional[str] = typer.Option(None, help="remote to push to [origin]"),
    label: List[str] = typer.Option([], "--label", help="label for runner's PRs (repeatable) [runner]"),
) -> None:
    """Process a batch of issues into one branch per issue (and, with --github, a draft PR)."""
    from runner.ui import TerminalObserver

    options = {
        "repo_args": repo, "report_dir": report_dir, "state_dir": state_dir, "workers": workers,
        "min_workers": min_workers, "max_workers": max_workers, "base": base, "branch_prefix": branch_prefix,
        "templates": templates, "plan_dir": plan_dir, "author_name": author_name, "author_email": author_email,
        "queue_size": queue_size, "task_timeout": timeout, "max_attempts": max_attempts,
        "dry_run": dry_run or None, "quiet": quiet or None, "github": github,
        "gh_token_file": token_file, "gh_write_interval": write_interval, "gh_notify_interval": notify_interval,
        "gh_max_wait": max_wait, "gh_recreate": recreate or None, "gh_remote": remote, "gh_labels": label or None,
    }
    ui = TerminalObserver(quiet=quiet)
    try:
        cfg = build_config(options, config)
        if input is None and cfg.github is None:
            raise ConfigError("give an issues file (or '-' for stdin), or --github OWNER/NAME to fetch them")
        with RunLock(cfg.state_dir):
            outcome = ProcessRun(cfg, input, ui).execute()
    except (ConfigError, InputError) as exc:
        ui.error(str(exc))
        raise typer.Exit(EXIT_USAGE) from None
    except AlreadyRunning as exc:
        ui.error(str(exc))
        raise typer.Exit(EXIT_LOCKED) from None
    except RunAbort as exc:
        ui.error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ui.error("interrupted")
        raise typer.Exit(130) from None
    ui.summary(outcome)
    raise typer.Exit(outcome.exit_code)


@app.command()
def fetch(
    repository: str = typer.Argument(..., metavar="OWNER/REPO", help="the repository whose issues to fetch"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="write JSON Lines here, atomically [stdout]"),
    state: str = typer.Option("open", help="open, closed or all"),
    label: List[str] = typer.Option([], "--label", help="only issues with this label (repeatable: all must match)"),
    since: Optional[str] = typer.Option(None, help="only issues updated at or after this ISO 8601 time"),
    token_file: Optional[Path] = typer.Option(None, help="file holding the token [$GITHUB_TOKEN]"),
    state_dir: Optional[Path] = typer.Option(None, help="runner's own files, incl. the page cache [$XDG_STATE_HOME/runner]"),
    max_wait: float = typer.Option(120.0, help="longest rate-limit wait in seconds before giving up (exit 3)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary line"),
) -> None:
    """Download a repository's issues as JSON Lines (pull requests left out)."""
    from runner.fetch import FetchRequest, run_fetch

    request = FetchRequest(repo=repository, output=output, state=state, labels=tuple(label), since=since,
                           token_file=token_file, state_dir=state_dir, max_wait_s=max_wait, quiet=quiet)
    raise typer.Exit(run_fetch(request, sys.stdout, sys.stderr))


def main() -> None:
    app(prog_name="runner")


if __name__ == "__main__":
    sys.exit(main())
