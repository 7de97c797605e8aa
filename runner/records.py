"""What the run writes about an issue: its report record and its commit message."""
from __future__ import annotations

from typing import Any, NamedTuple, Sequence

from runner import sage
from runner.display import readable
from runner.journal import Journal
from runner.ledger import Ticket
from runner.models import CommitOutcome, SageResult
from runner.report import ReportSink, now_iso


def issue_record(ticket: Ticket, status: str, branch: str, outcome: CommitOutcome | None, error: str | None,
                 result: SageResult | None, pull_request: str | None, latency_s: float,
                 finished_at: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "number": ticket.issue.number,
        "title": ticket.issue.title,
        "repository": ticket.repository or ticket.repo_key or None,
        "priority": ticket.triage.priority.label,
        "kind": ticket.triage.kind,
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
    sink.add_issues([{
        "number": c.number, "title": None, "repository": c.repo or None, "priority": None, "kind": None,
        "status": c.status, "branch": c.branch, "commit": None, "pull_request": c.pull_request, "attempts": 0,
        "queued_at": None, "started_at": None, "finished_at": finished_at, "latency_s": 0.0, "error": c.error,
    } for c in carried])
    if journal is not None:
        journal.record_rows([Journal.row(c.repo, c.number, c.status, run_id=run_id, error=c.error, at=finished_at)
                             for c in carried], durable=True)


def github_counts(publishers: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for publisher in publishers.values():
        for key, value in publisher.counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def pool_stats(pool) -> dict[str, Any]:
    stats = pool.stats()
    described = pool.describe() if hasattr(pool, "describe") else {"backend": "local"}
    return {"started": stats.started, "died": stats.died, "recycled": stats.recycled,
            "timeouts": stats.timeouts, "tasks_done": stats.tasks_done, **described}


def commit_message(ticket: Ticket, result: SageResult) -> str:
    issue, triage = ticket.issue, ticket.triage
    title = sage.clean(issue.title).strip()
    if len(title) > 60:
        title = title[:59] + "…"
    lines = [f"runner: plan for #{issue.number}: {title}", ""]
    if result.summary:
        lines += [result.summary, ""]
    if result.changes:
        changed = sorted(readable(path) for path in result.changes)
        lines += ["Changed by the fixer command: " + ", ".join(changed[:20]) + (" ..." if len(changed) > 20 else ""), ""]
    lines += [
        f"Priority: {triage.priority.label} ({sage.clean(triage.priority_reason)})",
        f"Kind: {triage.kind}",
        f"Risk: {result.risk}",
        f"Runner-Issue: {issue.number}",
        f"Runner-Content: {issue.content_hash}",
    ]
    return "\n".join(lines) + "\n"

