"""The vocabulary every stage shares, and nothing else: it imports no other runner package.

models (the messages that flow one way: Issue, Triage, Task, Ticket, SageResult, ...),
status (issue statuses and exit codes), errors (the `RunnerError` root), triage (priority
and kind rules), labels (a label's many spellings, for the rules and for learning), retry
(error classification and backoff), secrets (token variables and redaction), clock, display
(text safe to show), jsonstream, locks, logs.
"""

from __future__ import annotations

from runner.core.errors import RunnerError, UsageError
from runner.core.status import SUCCEEDED, ExitCode, Status

__all__ = ["SUCCEEDED", "ExitCode", "RunnerError", "Status", "UsageError"]
