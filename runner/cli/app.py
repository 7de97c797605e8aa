"""The typer application: `runner process`, `nightly`, `status`, `retry` and `fetch`.

Every error runner raises on purpose is a `RunnerError` carrying its exit code, so a command
catches that one family, prints its message (never a traceback) and exits with the code.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import typer

from runner import __version__
from runner.cli import options
from runner.cli.learn import learn, status_lines
from runner.cli.logs import setup_logging
from runner.config import Config, ConfigError, build_config, default_state_dir, read_toml
from runner.core.errors import RunnerError
from runner.core.locks import RunLock
from runner.core.secrets import redact
from runner.core.status import ExitCode
from runner.git.packedrefs import release_held_locks
from runner.records.journal import Journal, JournalError
from runner.run.pipeline import ProcessRun

JOURNAL_NAME = "journal.sqlite"
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

    _run_batch(options, config, ui, start)


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


def _run_batch(options: dict, config_path: Path | None, ui, start, after=None) -> None:
    """Config, state-dir lock, journal, signals, report, exit code: what every batch command shares."""
    try:
        cfg = build_config(options, config_path)
        setup_logging(cfg.state_dir, [cfg.github_settings.token] if cfg.github_settings else [])
        with RunLock(cfg.state_dir):
            _connect_app(cfg)
            _sync_clones(cfg)
            journal = Journal(cfg.state_dir / JOURNAL_NAME)
            try:
                run = start(cfg, journal)
                with _stop_on_signals(run, ui):
                    outcome = run.execute()
                if after is not None:
                    after(cfg, journal, run, outcome)
            finally:
                journal.close()
    except RunnerError as exc:
        ui.error(str(exc))
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        ui.error("interrupted before the run started; nothing was written")
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    ui.summary(outcome)
    raise typer.Exit(outcome.exit_code)


def _connect_app(cfg: Config) -> None:
    """As a GitHub App: find the installation and take its first token now, so a wrong key or
    installation is a usage error before any work."""
    if cfg.github_settings is not None and cfg.github_settings.app is not None:
        from runner.github.app_auth import connect_app

        connect_app(cfg.github_settings)


def _sync_clones(cfg: Config) -> None:
    """Clone or fetch the repositories given as URLs (`<state-dir>/clones/`), under the run lock."""
    if not cfg.remotes:
        return
    from runner.config.github import TokenError, api_url, read_token
    from runner.core.secrets import token_environ
    from runner.git.clones import CloneError, sync_all

    settings = cfg.github_settings
    try:
        if settings is not None:
            from runner.github.client import current_token

            token, url = current_token(settings), settings.api_url
        else:
            token = read_token(None) if token_environ().get("GITHUB_TOKEN", "").strip() else ""
            url = api_url()
        sync_all(cfg.remotes, cfg.state_dir, token, url)
    except (CloneError, TokenError) as exc:
        raise ConfigError(str(exc)) from None


@contextmanager
def _stop_on_signals(run: ProcessRun, ui):
    """First SIGINT/SIGTERM: finish in-flight issues and report; second: stop at once, but
    not before giving back a packed-refs.lock held in a repository (git refuses to write
    refs there while it exists)."""
    received = []

    def handler(signum, _frame):
        received.append(signum)
        if len(received) == 1:
            ui.note(f"{signal.Signals(signum).name}: finishing in-flight issues (again to stop at once)")
            run.request_stop(signal.Signals(signum).name)
        else:
            release_held_locks()
            os._exit(128 + signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


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
        _run_batch(options, config, ui, start, after)
    finally:
        for path in inputs:
            path.unlink(missing_ok=True)


@app.command()
def status(
    state_dir: Path | None = typer.Option(None, help="runner's own files [$XDG_STATE_HOME/runner]"),
    runs: int = typer.Option(5, help="how many recent runs to show"),
    json_output: bool = typer.Option(False, "--json", help="one JSON object on stdout: runs, by_state, issues"),
    every_issue: bool = typer.Option(
        False, "--all", help="list every issue the journal knows, not only failed, deferred and requeued ones"
    ),
    published: bool = typer.Option(False, "--published", help="list each issue's pull request and triage comment URLs"),
) -> None:
    """The last runs, issues by state, the failed and deferred ones with their errors, and what was published."""
    journal = _open_journal(state_dir)
    try:
        if json_output:
            from runner.cli.jsonout import emit, status_document

            emit(status_document(journal, runs, every_issue))
            return
        for run in journal.runs(runs):
            totals = run["totals"] or {}
            typer.echo(
                f"{run['run_id']}  {run['command']:8} exit {run['exit_code']!s:4} "
                f"{run['finished_at'] or '(did not finish)'}  " + ", ".join(f"{k} {v}" for k, v in totals.items())
            )
            if run["finished_at"]:
                typer.echo(f"  report: {run['report'] or 'not written'}")
        typer.echo("issues by state: " + (", ".join(f"{k} {v}" for k, v in sorted(journal.counts().items())) or "none"))
        for row in journal.rows(states=None if every_issue else ("failed", "check-failed", "deferred", "retry")):
            typer.echo(f"  {row.repo or '(default)'}#{row.number} {row.state}: {redact(row.last_error or '')}")
        _echo_published(journal, published)
        models = status_lines((state_dir or default_state_dir()).expanduser().resolve())
        typer.echo("triage models:" if models else "triage models: none (runner learn OWNER/NAME)")
        for line in models:
            typer.echo(line)
    finally:
        journal.close()


def _echo_published(journal: Journal, each: bool) -> None:
    """How many issues have a pull request and a triage comment; with `each`, where, per issue."""
    comments = journal.comments()
    pulls = {(row.repo, row.number): row.pull_request for row in journal.rows() if row.pull_request}
    typer.echo(
        f"published: {len(pulls)} pull requests, {len(comments)} triage comments"
        + ("" if each or not (pulls or comments) else " (--published lists them)")
    )
    if each:
        for repo, number in sorted({*pulls, *comments}):
            where = [
                f"{what} {url}"
                for what, url in (
                    ("pull request", pulls.get((repo, number))),
                    ("comment", comments.get((repo, number))),
                )
                if url
            ]
            typer.echo(f"  {repo or '(default)'}#{number}: " + ", ".join(where))


@app.command()
def retry(
    failed: bool = typer.Option(False, "--failed", help="requeue failed issues (check-failed ones too)"),
    deferred: bool = typer.Option(False, "--deferred", help="requeue deferred issues"),
    state_dir: Path | None = typer.Option(None, help="runner's own files [$XDG_STATE_HOME/runner]"),
) -> None:
    """Mark failed and/or deferred issues so the next nightly run takes them again."""
    wanted = (("failed", failed), ("check-failed", failed), ("deferred", deferred))
    states = tuple(s for s, on in wanted if on) or ("failed", "check-failed", "deferred")
    journal = _open_journal(state_dir)
    try:
        typer.echo(f"requeued {journal.requeue(states)} issues ({', '.join(states)})")
    finally:
        journal.close()


def _open_journal(state_dir: Path | None) -> Journal:
    directory = (state_dir or default_state_dir()).expanduser().resolve()
    try:
        return Journal(directory / JOURNAL_NAME)
    except JournalError as exc:
        typer.echo(f"runner: error: {exc}", err=True)
        raise typer.Exit(ExitCode.USAGE) from None


@app.command()
def fetch(
    repository: str = typer.Argument(..., metavar="OWNER/REPO", help="the repository whose issues to fetch"),
    output: Path | None = typer.Option(None, "--output", "-o", help="write JSON Lines here, atomically [stdout]"),
    state: str = typer.Option("open", help="open, closed or all"),
    label: list[str] = typer.Option([], "--label", help="only issues with this label (repeatable: all must match)"),
    since: str | None = typer.Option(None, help="only issues updated at or after this ISO 8601 time"),
    token_file: Path | None = typer.Option(None, help="file holding the token [$GITHUB_TOKEN]"),
    state_dir: Path | None = typer.Option(
        None, help="runner's own files, incl. the page cache [$XDG_STATE_HOME/runner]"
    ),
    max_wait: float = typer.Option(120.0, help="longest rate-limit wait in seconds before giving up (exit 3)"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary line"),
    json_output: bool = typer.Option(
        False, "--json", help="counts and the output path as one JSON object on stdout (needs --output)"
    ),
) -> None:
    """Download a repository's issues as JSON Lines (pull requests left out)."""
    from runner.github.fetch import FetchRequest, run_fetch

    request = FetchRequest(
        repo=repository,
        output=output,
        state=state,
        labels=tuple(label),
        since=since,
        token_file=token_file,
        state_dir=state_dir,
        max_wait_s=max_wait,
        quiet=quiet,
        json_output=json_output,
    )
    raise typer.Exit(run_fetch(request, sys.stdout, sys.stderr))


app.command(name="learn")(learn)


def main() -> None:
    app(prog_name="runner")


if __name__ == "__main__":
    main()
