"""`runner fetch`: its options, handed to `runner.github.fetch_command.run_fetch`, which does the work
(and is imported only when the command runs, so other commands do not load PyGithub for it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer


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
    from runner.github.fetch_command import FetchRequest, run_fetch

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
