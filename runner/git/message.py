"""The commit message runner writes for an issue: the title, what the fixer changed, the triage,
and the trailers a rerun reads back (`Runner-Issue`, `Runner-Content`)."""
from __future__ import annotations

from runner.core.display import clean, readable
from runner.core.models import SageResult, Task, Ticket


def commit_message(ticket: Ticket | Task, result: SageResult) -> str:
    issue, triage = ticket.issue, ticket.triage
    title = clean(issue.title).strip()
    if len(title) > 60:
        title = title[:59] + "…"
    lines = [f"runner: plan for #{issue.number}: {title}", ""]
    if result.summary:
        lines += [result.summary, ""]
    if result.changes:
        changed = sorted(readable(path) for path in result.changes)
        lines += ["Changed by the fixer command: " + ", ".join(changed[:20]) + (" ..." if len(changed) > 20 else ""), ""]
    lines += [
        f"Priority: {triage.priority.label} ({clean(triage.priority_reason)})",
        f"Kind: {triage.kind}",
        f"Risk: {result.risk}",
        f"Runner-Issue: {issue.number}",
        f"Runner-Content: {issue.content_hash}",
    ]
    return "\n".join(lines) + "\n"
