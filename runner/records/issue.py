"""What the run writes about an issue: its report record and its commit message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from runner.core.clock import now_iso
from runner.core.models import CommitOutcome, SageResult, Ticket
from runner.records.journal import Journal
from runner.records.report import ReportSink


def issue_record(
    ticket: Ticket,
    status: str,
    branch: str,
    outcome: CommitOutcome | None,
    error: str | None,
    result: SageResult | None,
    pull_request: str | None,
    latency_s: float,
    finished_at: str | None = None,
    comment: str | None = None,
) -> dict[str, Any]:
    """The report's record of one issue. `comment` and `published` say what reached GitHub and
    where: the triage comment's URL, and a list of {"what", "url"} (the pull request, the comment)."""
    record: dict[str, Any] = {
        "number": ticket.issue.number,
        "title": ticket.issue.title,
        "repository": ticket.repository or ticket.repo_key or None,
        "priority": ticket.triage.priority.label,
        "kind": ticket.triage.kind,
        "priority_reason": ticket.triage.priority_reason,
        "kind_reason": ticket.triage.kind_reason,
        "status": status,
        "branch": branch,
        "commit": outcome.commit if outcome else None,
        "pull_request": pull_request,
        "attempts": ticket.attempts,
        "queued_at": ticket.queued_at,
        "started_at": ticket.started_at,
        "finished_at": finished_at or now_iso(),
        "latency_s": round(latency_s, 4),
        "error": error,
        "risk": result.risk if result else None,
        "related": [f.path for f in result.related[:5]] if result else [],
        "related_symbols": {f.path: list(f.symbols) for f in result.related[:5] if f.symbols} if result else {},
        "tests": list(result.tests) if result else [],
        "duplicates": list(ticket.duplicates),
        "comment": comment,
        "published": [
            {"what": what, "url": url} for what, url in (("pull_request", pull_request), ("comment", comment)) if url
        ],
    }
    if result is not None and result.fixer is not None:
        record["fixer"] = result.fixer
    return record


class CarriedIssue(NamedTuple):
    """An issue owed by an earlier run that reaches its terminal state without being processed
    (`runner nightly`: GitHub no longer has it, or could not give it just now)."""

    repo: str
    number: int
    status: str
    error: str
    branch: str | None = None
    pull_request: str | None = None


def record_carried(sink: ReportSink, journal: Journal | None, run_id: str, carried: Sequence[CarriedIssue]) -> None:
    """Report and journal each carried issue's state, as for any issue of the run."""
    if not carried:
        return
    finished_at = now_iso()
    sink.add_issues(
        [
            {
                "number": c.number,
                "title": None,
                "repository": c.repo or None,
                "priority": None,
                "kind": None,
                "status": c.status,
                "branch": c.branch,
                "commit": None,
                "pull_request": c.pull_request,
                "attempts": 0,
                "queued_at": None,
                "started_at": None,
                "finished_at": finished_at,
                "latency_s": 0.0,
                "error": c.error,
            }
            for c in carried
        ]
    )
    if journal is not None:
        journal.record_rows(
            [Journal.row(c.repo, c.number, c.status, run_id=run_id, error=c.error, at=finished_at) for c in carried],
            durable=True,
        )
