"""Who is where: one ticket per issue between intake and its terminal state.

The ledger only holds issues that are queued or in flight, so its size is
bounded by the queue size plus the pool's slots, not by the input. A run is
over when intake has finished and the ledger is empty.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from runner.models import Issue, Task, Triage
from runner.report import now_iso


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


class Ledger:
    def __init__(self) -> None:
        self._open: dict[tuple[str, int], Ticket] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.intake_done = threading.Event()

    def add(self, ticket: Ticket) -> None:
        with self._lock:
            self._open[ticket.key] = ticket

    def close_many(self, tickets: list[Ticket]) -> None:
        with self._lock:
            for ticket in tickets:
                self._open.pop(ticket.key, None)
            self._changed.notify_all()

    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    def open_tickets(self) -> list[Ticket]:
        with self._lock:
            return list(self._open.values())

    def finished(self) -> bool:
        with self._lock:
            return self.intake_done.is_set() and not self._open

    def wait_changed(self, timeout: float) -> None:
        with self._lock:
            self._changed.wait(timeout)

    def mark_intake_done(self) -> None:
        with self._lock:
            self.intake_done.set()
            self._changed.notify_all()
