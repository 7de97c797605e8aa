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
    SKIPPED = "skipped"
    FAILED = "failed"
    DEFERRED = "deferred"
    INVALID = "invalid"


SUCCEEDED = frozenset({Status.COMMITTED, Status.PUBLISHED, Status.UNCHANGED, Status.NO_CHANGE})
"""The statuses that count as done: the report's `succeeded` total, the journal's resting states."""


class ExitCode(IntEnum):
    """The exit codes of every command (README, DESIGN.md)."""

    OK = 0
    FAILED = 1
    USAGE = 2
    DEFERRED = 3
    LOCKED = 75
    INTERRUPTED = 130
