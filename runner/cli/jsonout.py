"""`--json`: one JSON object on stdout for programs, in the spirit of `gh ... --json`.

stdout then carries that object and nothing else, so `runner process ... --json | jq` works
whatever the run prints for people; those lines go to stderr, and `--quiet` leaves stderr to
errors alone. Every document passes through `redact` as a whole, the way every other output
of runner does, so an error text that quotes the token cannot carry it out.
"""

from __future__ import annotations

import json
import sys
from contextlib import redirect_stdout
from typing import Any, TextIO

from runner.cli.ui import TerminalObserver
from runner.core.secrets import redact
from runner.records.journal import IssueRow, Journal
from runner.run.outcome import RunOutcome

ATTENTION = ("failed", "deferred", "retry")


def emit(document: dict[str, Any], out: TextIO | None = None) -> None:
    """Write `document` as one indented JSON object and a newline."""
    stream = out or sys.stdout
    stream.write(redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n")
    stream.flush()


def run_document(outcome: RunOutcome, command: str) -> dict[str, Any]:
    """What `process` and `nightly` print with `--json`: the summary, with the report's paths."""
    return {
        "run_id": outcome.run_id,
        "command": command,
        "exit_code": int(outcome.exit_code),
        "totals": dict(outcome.totals),
        "by_status": dict(sorted(outcome.by_status.items())),
        "report": {"json": _path(outcome.json_path), "markdown": _path(outcome.md_path)},
        "report_error": outcome.report_error,
        "nothing_to_do": outcome.extra.get("nothing_to_do"),
    }


def status_document(journal: Journal, runs: int, every_issue: bool) -> dict[str, Any]:
    """What `runner status --json` prints: recent runs, issue counts by state, and the issues
    that need attention (every issue with `--all`)."""
    rows = journal.rows(states=None if every_issue else ATTENTION)
    return {
        "runs": journal.runs(runs),
        "by_state": dict(sorted(journal.counts().items())),
        "issues": [_issue(row) for row in sorted(rows, key=lambda r: (r.repo, r.number))],
    }


def _issue(row: IssueRow) -> dict[str, Any]:
    return {
        "repo": row.repo or None,
        "number": row.number,
        "state": row.state,
        "attempts": row.attempts,
        "error": row.last_error,
        "branch": row.branch,
        "commit": row.commit,
        "pull_request": row.pull_request,
        "updated_at": row.updated_at,
    }


def _path(path: Any) -> str | None:
    return str(path) if path is not None else None


class JsonObserver(TerminalObserver):
    """The terminal observer with its summary moved to stderr (or dropped with `--quiet`) and
    the JSON summary on stdout in its place."""

    def __init__(self, command: str, quiet: bool = False) -> None:
        super().__init__(quiet=quiet)
        self.command = command

    def summary(self, outcome: Any) -> None:
        if self.quiet:
            self.close()
            if outcome.report_error:
                self.error(outcome.report_error)
        else:
            with redirect_stdout(sys.stderr):
                super().summary(outcome)
        emit(run_document(outcome, self.command))

    def note(self, message: str) -> None:
        if not self.quiet:
            super().note(message)
