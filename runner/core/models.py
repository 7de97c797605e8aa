"""Plain-data messages that flow one way through the pipeline.

Every stage hands these to the next; they are small, picklable and carry no
behaviour, so a worker process can receive a `Task` and send back a `SageResult`
without importing anything of the master (queue, UI, publisher). No `slots`: a
frozen dataclass with slots unpickles through a Python `__setstate__`, several
times slower than the plain `__dict__` update, and these cross a pipe per issue.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from runner.core.clock import now_iso


class Priority(IntEnum):
    """Lower value = more urgent, so the enum sorts the way the heap pops."""

    CRITICAL = 0
    HIGH = 1
    MEDIUM = 2
    LOW = 3

    @property
    def label(self) -> str:
        return self.name.capitalize()

    def __reduce_ex__(self, protocol: object) -> tuple:
        return priority_of, (self._value_,)

    @classmethod
    def parse(cls, text: str) -> Priority:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            names = ", ".join(p.label for p in cls)
            raise ValueError(f"unknown priority {text!r} (expected one of {names})") from None


def priority_of(level: int) -> Priority:
    """The priority at `level`; what a pickled Priority calls (Enum's own way is several times slower)."""
    return _PRIORITIES[level]


_PRIORITIES = tuple(Priority)

KINDS = ("bug", "feature", "docs", "security", "performance", "question", "chore")


@dataclass(frozen=True)
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
    issue_type: str | None = None  # the organization's issue type (Bug, Feature, Task...), a maintainer's word


@dataclass(frozen=True)
class InvalidItem:
    """An input item that was valid JSON but not a usable issue."""

    position: int
    line: int | None
    reason: str
    number: int | None = None


@dataclass(frozen=True)
class Triage:
    priority: Priority
    kind: str
    priority_reason: str
    kind_reason: str


@dataclass(frozen=True)
class Task:
    """One unit of sage work: an issue with its triage, bound for one repository."""

    issue: Issue
    triage: Triage
    repo_key: str
    duplicates: tuple[int, ...] = ()
    attempt: int = 1

    def __reduce__(self) -> tuple:
        """One flat tuple on the wire: a task crosses a pipe per issue, and pickling the
        nested dataclasses field by field cost five times as much."""
        i, t = self.issue, self.triage
        return _task_from, (
            (
                i.number,
                i.title,
                i.body,
                i.labels,
                i.repository,
                i.html_url,
                i.updated_at,
                i.position,
                i.content_hash,
                i.issue_type,
            ),
            (t.priority._value_, t.kind, t.priority_reason, t.kind_reason),
            self.repo_key,
            self.duplicates,
            self.attempt,
        )


def _task_from(issue: tuple, triage: tuple, repo_key: str, duplicates: tuple[int, ...], attempt: int) -> Task:
    level, *reasons = triage
    return Task(Issue(*issue), Triage(_PRIORITIES[level], *reasons), repo_key, duplicates, attempt)


class RelatedFile(NamedTuple):
    path: str
    score: float
    lines: tuple[tuple[int, str], ...]
    symbols: tuple[str, ...] = ()


@dataclass(frozen=True)
class SageResult:
    """What a sage produced for one issue: analysis plus the files to commit.

    `written` is set when the worker committed (and pushed) the files itself, on its own
    clone (Dask workers on other hosts); the master then writes nothing for it. `plan` holds
    the rendered plan when it is not among `files` (a fixer's branch holds only the change),
    `fixer_summary` what the fixer command wrote to RUNNER_SUMMARY, `comment` the triage
    comment for the issue (publish mode triage).
    """

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
    written: CommitOutcome | None = None
    plan: str = ""
    fixer_summary: str = ""
    comment: str = ""
    tests: tuple[str, ...] = ()

    @property
    def check_error(self) -> str | None:
        """Why the fixer's change failed `--check`; None when it passed or no check ran."""
        check = (self.fixer or {}).get("check")
        return check.get("error") if isinstance(check, dict) else None

    def __reduce__(self) -> tuple:
        """Related files as plain tuples: a result crosses a pipe per issue, and a named
        tuple is rebuilt by calling its Python `__new__` (half of the unpickling time)."""
        state = dict(self.__dict__)
        state["related"] = tuple(tuple(f) for f in self.related)
        return _result_from, (state,)


def _result_from(state: dict) -> SageResult:
    state["related"] = tuple([_new_tuple(RelatedFile, f) for f in state["related"]])
    result = object.__new__(SageResult)
    result.__dict__.update(state)
    return result


_new_tuple = tuple.__new__


@dataclass(frozen=True)
class CommitOutcome:
    """What the git writer did with a result; `pushed` when the branch is already on the remote."""

    number: int
    status: str
    branch: str
    commit: str | None
    error: str | None = None
    pushed: bool = False


@dataclass(frozen=True)
class Identity:
    name: str = "runner"
    email: str = "runner@localhost"


@dataclass
class Ticket:
    issue: Issue
    triage: Triage
    repo_key: str
    duplicates: tuple[int, ...] = ()
    attempts: int = 0
    enqueued_mono: float = field(default_factory=time.monotonic)
    queued_at: str = field(default_factory=now_iso)
    started_at: str | None = None
    last_error: str | None = None
    repository: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.repo_key, self.issue.number)

    def mark_started(self) -> None:
        self.attempts += 1
        if self.started_at is None:
            self.started_at = now_iso()

    def task(self) -> Task:
        return Task(self.issue, self.triage, self.repo_key, self.duplicates, self.attempts)
