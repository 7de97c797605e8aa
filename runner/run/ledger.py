"""Who is where: one ticket per issue between intake and its terminal state.

The ledger only holds issues that are queued or in flight, so its size is
bounded by the queue size plus the pool's slots, not by the input. A run is
over when intake has finished and the ledger is empty.
"""

from __future__ import annotations

import threading

from runner.core.models import Ticket


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
