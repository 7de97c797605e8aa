"""Where an issue ended up, and how a command ends: each written once, here.

`Status` is the terminal state of an issue in a report (DESIGN.md); being a `StrEnum`, a
status is the same string in JSON, in SQLite and in a comparison with a literal. The
journal's finer progress states (pushing, opening-pr, ...) are its own: they are resume
points, not outcomes.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Status(StrEnum):
    COMMITTED = "committed"
    PUBLISHED = "published"
    UNCHANGED = "unchanged"
    NO_CHANGE = "no-change"
    CHECK_FAILED = "check-failed"
    SKIPPED = "skipped"
    FAILED = "failed"
    DEFERRED = "deferred"
    INVALID = "invalid"


SUCCEEDED = frozenset({Status.COMMITTED, Status.PUBLISHED, Status.UNCHANGED, Status.NO_CHANGE})
"""The statuses that count as done: the report's `succeeded` total, the journal's resting states."""

FAILURES = frozenset({Status.FAILED, Status.CHECK_FAILED})
"""The statuses that count as failed: the report's `failed` total, exit code 1. A fix that failed its
`--check` is a failure a person has to look at, kept local, even when `--publish-failed` showed it."""


class ExitCode(IntEnum):
    """The exit codes of every command (README, DESIGN.md)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    DEFERRED = 3
    LOCKED = 75
    INTERRUPTED = 130
