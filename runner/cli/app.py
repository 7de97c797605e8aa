"""The typer application: `runner process` and `nightly` here; `status` and `retry`
(runner/cli/status.py), `fetch` (runner/cli/fetch.py) and `learn` (runner/cli/learn.py) are
registered on it, and the run around each batch is runner/cli/batch.py.

Every error runner raises on purpose is a `RunnerError` carrying its exit code, so a command
catches that one family, prints its message (never a traceback) and exits with the code.
"""

from __future__ import annotations

from pathlib import Path

import typer

from runner import __version__
from runner.cli import options
from runner.cli.batch import run_batch
from runner.cli.fetch import fetch
from runner.cli.learn import learn
from runner.cli.status import retry, status
from runner.config import Config, ConfigError, read_toml
from runner.records.journal import Journal
from runner.run.pipeline import ProcessRun

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Turn GitHub issues into ready-to-review branches.",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runner {__version__}")
        raise typer.Exit()


@app.callback()
def root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True)) -> None:
    """runner: a batch runner for GitHub issues."""


@app.command()
def process(
    input: str | None = typer.Argument(
        None, help="issues as a JSON array or JSON Lines; '-' reads stdin; omitted with --github: fetch the open issues"
    ),
    repo: list[str] = typer.Option([], "--repo", help="PATH, or OWNER/NAME=PATH (repeatable)"),
    report_dir: Path | None = typer.Option(
        None,
        help="where <run-id>.json and .md (and fixer logs) go [<state-dir>/reports]; not inside a target repository",
    ),
    allow_report_in_repo: bool = typer.Option(
        False, "--allow-report-in-repo", help="allow --report-dir inside a target repository's working tree"
    ),
    state_dir: Path | None = typer.Option(None, help="runner's own files [$XDG_STATE_HOME/runner]"),
    config: Path | None = typer.Option(None, help="config file [./runner.toml if present]"),
    workers: str | None = typer.Option(None, help="number of sage processes, or 'auto'"),
    min_workers: int | None = typer.Option(None, help="lower bound for --workers auto"),
    max_workers: int | None = typer.Option(None, help="upper bound for --workers auto"),
    base: str | None = typer.Option(None, help="branch new issue branches start from [current branch]"),
    branch_prefix: str | None = typer.Option(None, help="branch name prefix [runner/issue-]"),
    templates: Path | None = typer.Option(None, help="your own Jinja2 templates directory"),
    plan_dir: str | None = typer.Option(None, help="where plans go in the branch [.runner/issues/{number}]"),
    author_name: str | None = typer.Option(None, help="commit author and committer name [runner]"),
    author_email: str | None = typer.Option(None, help="commit author and committer email"),
    queue_size: int | None = typer.Option(None, help="priority queue bound [500]"),
    timeout: float | None = typer.Option(None, "--timeout", help="per-issue time limit in seconds [600]"),
    max_attempts: int | None = typer.Option(None, help="attempts per issue for transient failures [3]"),
    dry_run: bool = typer.Option(False, "--dry-run", help="analyse and show what would be done; write nothing to git"),
    quiet: bool = options.QUIET,
    json_output: bool = options.JSON,
    github: str | None = typer.Option(None, help="publish to OWNER/NAME: push, draft PR, labels, comment"),
    token_file: Path | None = options.TOKEN_FILE,
    login: str | None = options.LOGIN,
    app_id: int | None = options.APP_ID,
    app_key_file: Path | None = options.APP_KEY_FILE,
    installation_id: int | None = typer.Option(None, help="the App's installation [the one on --github's repository]"),
    write_interval: float | None = typer.Option(None, help="seconds between GitHub writes [1]"),
    notify_interval: float | None = typer.Option(None, help="seconds between PRs/comments [3]"),
    max_wait: float | None = typer.Option(None, help="longest rate-limit wait before deferring [120]"),
    recreate: bool = typer.Option(False, "--recreate", help="open a new PR where a closed one exists"),
    no_comment: bool = typer.Option(
        False,
        "--no-comment",
        help='no comment on the issue (the PR\'s "Closes #N" shows there): one content write per issue instead of two',
    ),
    remote: str | None = typer.Option(None, help="remote to push to [origin]"),
    push_timeout: float | None = typer.Option(
        None, help="seconds a git push may take before its issues are deferred [600]"
    ),
    pr_label: list[str] = typer.Option([], "--pr-label", help="label for runner's PRs (repeatable) [runner]"),
    label: list[str] = typer.Option([], "--label", hidden=True, help="deprecated spelling of --pr-label"),
    publish: str | None = typer.Option(
        None,
        "--publish",
        help="with --github: triage (labels and one comment "
        "on the issue, nothing pushed) or pr (a draft PR) [pr with --command, "
        "else triage]",
    ),
    commit_plan: bool = typer.Option(
        False,
        "--commit-plan",
        help="commit the plan files on the issue branch even "
        "with a fixer command (needed for --publish pr without one)",
    ),
    command: str | None = typer.Option(None, help="fixer command run per issue in its own worktree (no shell)"),
    check: str | None = typer.Option(
        None,
        "--check",
        help="run after the fixer changed files, in its "
        'worktree (no shell), e.g. "pytest -x -q"; a failure keeps the fix '
        "local: check-failed",
    ),
    publish_failed: bool = typer.Option(
        False, "--publish-failed", help="publish fixes that failed --check too, as drafts labelled checks-failed"
    ),
    issue: list[int] = options.ISSUE,
    issue_label: list[str] = options.ISSUE_LABEL,
    exclude_label: list[str] = options.EXCLUDE_LABEL,
    since: str | None = options.SINCE,
    limit: int | None = typer.Option(
        None,
        "--limit",
        metavar="N",
        help="only the N highest-priority issues of the whole input (after the other filters)",
    ),
    keep_worktrees: bool = typer.Option(False, "--keep-worktrees", help="keep each issue's worktree after the run"),
    backend: str | None = typer.Option(None, help="where sages run: local, dask (--scheduler) or dask-local [local]"),
    scheduler: str | None = typer.Option(None, help="Dask scheduler address for --backend dask (tcp://HOST:8786)"),
    dask_workers: int | None = typer.Option(None, help="worker processes of --backend dask-local [--workers]"),
    worker_cache: str | None = typer.Option(
        None, help="clone cache on each Dask worker host, for --repo URL [$XDG_CACHE_HOME/runner/clones]"
    ),
) -> None:
    """Process a batch of issues into one branch per issue (and, with --github, a draft PR)."""
    options = {
        "repo_args": repo,
        "report_dir": report_dir,
        "allow_report_in_repo": allow_report_in_repo or None,
        "state_dir": state_dir,
        "workers": workers,
        "min_workers": min_workers,
        "max_workers": max_workers,
        "base": base,
        "branch_prefix": branch_prefix,
        "templates": templates,
        "plan_dir": plan_dir,
        "author_name": author_name,
        "author_email": author_email,
        "queue_size": queue_size,
        "task_timeout": timeout,
        "max_attempts": max_attempts,
        "dry_run": dry_run or None,
        "quiet": quiet or None,
        "github": github,
        "gh_comment": False if no_comment else None,
        "gh_token_file": token_file,
        "gh_write_interval": write_interval,
        "gh_notify_interval": notify_interval,
        "gh_max_wait": max_wait,
        "gh_recreate": recreate or None,
        "gh_remote": remote,
        "gh_labels": _pr_labels(pr_label, label),
        "gh_push_timeout": push_timeout,
        "gh_login": login,
        "gh_publish": publish,
        "commit_plan": commit_plan or None,
        "gh_app_id": app_id,
        "gh_app_key_file": app_key_file,
        "gh_installation_id": installation_id,
        "command": command,
        "check": check,
        "publish_failed": publish_failed or None,
        **_selection_options(issue, issue_label, exclude_label, since, limit),
        "keep_worktrees": keep_worktrees or None,
        "backend": backend,
        "scheduler": scheduler,
        "dask_workers": dask_workers,
        "worker_cache": worker_cache,
    }
    ui = _observer("process", quiet, json_output)

    def start(cfg: Config, journal: Journal) -> ProcessRun:
        if input is None and cfg.github is None:
            raise ConfigError("give an issues file (or '-' for stdin), or --github OWNER/NAME to fetch them")
        return ProcessRun(cfg, input, ui, journal=journal)

    run_batch(options, config, ui, start)


def _observer(command: str, quiet: bool, json_output: bool):
    """The terminal UI, or with --json the one that prints the summary as JSON on stdout."""
    if json_output:
        from runner.cli.jsonout import JsonObserver

        return JsonObserver(command, quiet=quiet)
    from runner.cli.ui import TerminalObserver

    return TerminalObserver(quiet=quiet)


def _pr_labels(pr_label: list[str], label: list[str]) -> list[str] | None:
    """`--pr-label`, and its old spelling `--label` for one more release, with a warning."""
    if label:
        typer.echo(
            "runner: warning: --label is deprecated and will be removed in the next release: it sets the "
            "labels of runner's pull requests; use --pr-label (--issue-label selects issues by label)",
            err=True,
        )
    return [*pr_label, *label] or None


def _selection_options(
    issue: list[int], issue_label: list[str], exclude_label: list[str], since: str | None, limit: int | None
) -> dict:
    """The options that choose which issues a run takes (runner.core.selection), for build_config."""
    return {
        "select_issues": issue or None,
        "select_labels": issue_label or None,
        "exclude_labels": exclude_label or None,
        "select_since": since,
        "select_limit": limit,
    }


@app.command()
def nightly(
    config: Path | None = typer.Option(None, help="config file with [repos] and [github] [./runner.toml]"),
    state_dir: Path | None = typer.Option(None, help="runner's own files [$XDG_STATE_HOME/runner]"),
    report_dir: Path | None = typer.Option(None, help="where reports go [<state-dir>/reports]"),
    allow_report_in_repo: bool = typer.Option(
        False, "--allow-report-in-repo", help="allow --report-dir inside a target repository's working tree"
    ),
    token_file: Path | None = options.TOKEN_FILE,
    app_id: int | None = options.APP_ID,
    app_key_file: Path | None = options.APP_KEY_FILE,
    installation_id: int | None = typer.Option(None, help="the App's installation [the one on the first repository]"),
    quiet: bool = options.QUIET,
    json_output: bool = options.JSON,
    login: str | None = options.LOGIN,
    issue: list[int] = options.ISSUE,
    issue_label: list[str] = options.ISSUE_LABEL,
    exclude_label: list[str] = options.EXCLUDE_LABEL,
    since: str | None = options.SINCE,
    limit: int | None = typer.Option(
        None, "--limit", metavar="N", help="only the N highest-priority issues (the rest stay for the next night)"
    ),
) -> None:
    """The cron batch: new and updated issues of every configured repository, processed and published."""
    from runner.run.nightly import QuietRun, advance_marks, nightly_input, retrain_models

    ui = _observer("nightly", quiet, json_output)
    data, _ = read_toml(config)
    first = sorted((data.get("repos") or {}).keys())[:1]
    options = {
        "state_dir": state_dir,
        "report_dir": report_dir,
        "allow_report_in_repo": allow_report_in_repo or None,
        "quiet": quiet or None,
        "github": first[0] if first else None,
        "gh_token_file": token_file,
        "gh_login": login,
        "gh_app_id": app_id,
        "gh_app_key_file": app_key_file,
        "gh_installation_id": installation_id,
        **_selection_options(issue, issue_label, exclude_label, since, limit),
    }
    marks: dict[str, str] = {}
    inputs: list[Path] = []

    def start(cfg: Config, journal: Journal):
        retrain_models(cfg, ui.note)
        tonight = nightly_input(cfg, journal)
        inputs.append(tonight.path)
        marks.update(tonight.marks)
        if not tonight.issues:
            return QuietRun(cfg, journal, tonight)
        return ProcessRun(
            cfg, str(tonight.path), ui, journal=journal, skip_unchanged=True, command="nightly", carried=tonight.carried
        )

    def after(cfg: Config, journal: Journal, run, outcome) -> None:
        advance_marks(journal, marks, outcome.work_exit_code, run.stop_reason is not None or cfg.selection.partial)

    try:
        run_batch(options, config, ui, start, after)
    finally:
        for path in inputs:
            path.unlink(missing_ok=True)


app.command()(status)
app.command()(retry)
app.command()(fetch)
app.command(name="learn")(learn)


def main() -> None:
    app(prog_name="runner")


if __name__ == "__main__":
    main()
