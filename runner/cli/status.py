"""`runner status` and `runner retry`: they read or requeue the journal of earlier runs and start
no run, so they take no lock and need no configuration beyond the state directory.
"""

from __future__ import annotations

from pathlib import Path

import typer

from runner.cli.batch import JOURNAL_NAME
from runner.cli.learn import status_lines
from runner.config import default_state_dir
from runner.core.secrets import redact
from runner.core.status import ExitCode
from runner.records.journal import Journal, JournalError


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
