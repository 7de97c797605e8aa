"""Plain-data messages that flow one way through the pipeline.

Every stage hands these to the next; they are small, picklable and carry no
behaviour, so a worker process can receive a `Task` and send back a `SageResult`
without importing anything of the master (queue, UI, publisher).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class Priority(IntEnum):
    """Lower value = more urgent, so the enum sorts the way the heap pops."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3

    @property
    def label(self) -> str:
        return self.name.capitalize()

    @classmethod
    def parse(cls, text: str) -> Priority:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(p.label for p in cls)
            raise ValueError(f"unknown priority {text!r} (expected one of {names})") from None


KINDS = ("bug", "feature", "docs", "security", "performance", "question", "chore")

# Terminal states of an issue in a report (DESIGN.md).
COMMITTED = "committed"
PUBLISHED = "published"
UNCHANGED = "unchanged"
NO_CHANGE = "no-change"
SKIPPED = "skipped"
FAILED = "failed"
DEFERRED = "deferred"


@dataclass(frozen=True, slots=True)
class Issue:
    """A validated GitHub issue, reduced to what runner uses."""

    number: int
    title: str
    body: str
    labels: tuple[str, ...]
    repository: str | None
    html_url: str | None
    updated_at: str | None
    position: int
    content_hash: str


@dataclass(frozen=True, slots=True)
class InvalidItem:
    """An input item that was valid JSON but not a usable issue."""

    position: int
    line: int | None
    reason: str
    number: int | None = None


@dataclass(frozen=True, slots=True)
class Triage:
    priority: Priority
    kind: str
    priority_reason: str
    kind_reason: str


@dataclass(frozen=True, slots=True)
class Task:
    """One unit of sage work: an issue with its triage, bound for one repository."""

    issue: Issue
    triage: Triage
    repo_key: str
    duplicates: tuple[int, ...] = ()
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class RelatedFile:
    path: str
    score: float
    lines: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class SageResult:
    """What a sage produced for one issue: analysis plus the files to commit."""

    number: int
    repo_key: str
    related: tuple[RelatedFile, ...]
    risk: str
    risk_reasons: tuple[str, ...]
    files: dict[str, bytes] = field(default_factory=dict)
    summary: str = ""
    worker_pid: int = 0
    busy_s: float = 0.0
    changes: dict[str, bytes | None] = field(default_factory=dict)
    modes: dict[str, str] = field(default_factory=dict)
    fixer: dict | None = None


@dataclass(frozen=True, slots=True)
class CommitOutcome:
    """What the git writer did with a result."""

    number: int
    status: str
    branch: str
    commit: str | None
    error: str | None = None
