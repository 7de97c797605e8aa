"""The commit message runner writes for an issue: the title, what the fixer changed, the triage,
and the trailers a rerun reads back (`Runner-Issue`, `Runner-Content`)."""

from __future__ import annotations

from runner.core.display import clean, readable
from runner.core.models import SageResult, Task, Ticket
from runner.core.secrets import redact


def commit_message(ticket: Ticket | Task, result: SageResult) -> str:
    """The issue's commit message. A fixer's commit says what changed; when its branch holds
    only the change, the plan (and the command's own summary) is the message body, ahead of
    the trailers runner reads back (`Runner-Issue`, `Runner-Content`)."""
    issue, triage = ticket.issue, ticket.triage
    title = clean(issue.title).strip()
    if len(title) > 60:
        title = title[:59] + "…"
    what = "fix" if result.changes else "plan"
    lines = [f"runner: {what} for #{issue.number}: {title}", ""]
    if result.summary:
        lines += [result.summary, ""]
    if result.fixer_summary:
        lines += [redact(result.fixer_summary.strip()), ""]
    if result.changes:
        changed = sorted(readable(path) for path in result.changes)
        lines += [
            "Changed by the fixer command: " + ", ".join(changed[:20]) + (" ..." if len(changed) > 20 else ""),
            "",
        ]
    if result.plan:
        lines += [result.plan.strip(), ""]
    lines += [
        f"Priority: {triage.priority.label} ({clean(triage.priority_reason)})",
        f"Kind: {triage.kind}",
        f"Risk: {result.risk}",
        f"Runner-Issue: {issue.number}",
        f"Runner-Content: {issue.content_hash}",
    ]
    return "\n".join(lines) + "\n"
