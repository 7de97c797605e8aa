"""The master's bounded priority queue: heapq, FIFO within a level, with aging.

Ordering key: an entry enqueued at time ``t`` with level ``L`` (Critical=0 ..
Low=3) is ordered by ``t + L * aging_s``. At any moment this is the same order
as "level minus one level per `aging_s` waited", so a Low issue is served ahead
of any Critical issue that arrived more than ``3 * aging_s`` after it: nothing
starves, and without aging pressure the levels are strict and FIFO.

`put` blocks while the queue holds `maxsize` entries (backpressure on the
reader; nothing is ever dropped). A blocked `put` is woken once the queue has
drained to its low-water mark (three quarters full), not at every `get`: the
reader then refills in a burst instead of waking once per issue. Retries come back through `requeue` with a
not-before time; they bypass the bound (they were admitted already, and the
dispatcher must never block on itself) and wait in a second heap until due.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
LEVELS = 4


@dataclass
class _Entry(Generic[T]):
    """Heaps hold (key, seq, entry) tuples: tuple comparison runs in C, a dataclass's
    generated `__lt__` in Python, and the heap compares on every push and pop."""

    key: float
    seq: int
    level: int
    enqueued_at: float
    item: T


class PriorityQueue(Generic[T]):
    def __init__(self, maxsize: int = 500, aging_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.aging_s = aging_s
        self._clock = clock
        self._ready: list[tuple[float, int, _Entry[T]]] = []
        self._delayed: list[tuple[float, int, _Entry[T]]] = []
        self._seq = itertools.count()
        self._admitted = 0
        self._low_water = maxsize - max(1, maxsize // 4)
        self._cond = threading.Condition()
        self._closed = False

    def put(self, item: T, level: int, timeout: float | None = None) -> bool:
        """Admit a new item, waiting while the queue is full; False on timeout."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._admitted < self.maxsize or self._closed, timeout):
                return False
            now = self._clock()
            self._push(_Entry(now + level * self.aging_s, next(self._seq), level, now, item))
            self._admitted += 1
            self._cond.notify_all()
            return True

    def requeue(self, item: T, level: int, enqueued_at: float, not_before: float = 0.0) -> None:
        """Put a retried item back, keeping its place in line, eligible from `not_before`."""
        entry = _Entry(enqueued_at + level * self.aging_s, next(self._seq), level, enqueued_at, item)
        with self._cond:
            self._admitted += 1
            if not_before > self._clock():
                heapq.heappush(self._delayed, (not_before, entry.seq, entry))
            else:
                self._push(entry)
            self._cond.notify_all()

    def get(self, timeout: float | None = None) -> tuple[T, int, float] | None:
        """The most urgent due item as (item, level, enqueued_at), or None on timeout/close.

        `timeout` is real time (like `put`); the injected clock only orders items and decides when
        a requeued item is due, so a test's frozen clock cannot turn a timeout into a hang.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                self._promote_due()
                if self._ready:
                    entry = heapq.heappop(self._ready)[2]
                    self._admitted -= 1
                    if self._admitted == self._low_water:
                        self._cond.notify_all()
                    return entry.item, entry.level, entry.enqueued_at
                if self._closed and not self._delayed:
                    return None
                wait = self._wait_time(deadline)
                if wait is not None and wait <= 0:
                    return None
                self._cond.wait(wait)

    def close(self) -> None:
        """Wake waiters for shutdown; pending items stay readable."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def __len__(self) -> int:
        with self._cond:
            return len(self._ready) + len(self._delayed)

    def depth_by_level(self) -> list[int]:
        with self._cond:
            depth = [0] * LEVELS
            for _, _, entry in self._ready:
                depth[entry.level] += 1
            for _, _, entry in self._delayed:
                depth[entry.level] += 1
            return depth

    def drain(self) -> list[T]:
        """Remove and return everything left (for shutdown reporting)."""
        with self._cond:
            items = [e.item for _, _, e in self._ready] + [e.item for _, _, e in self._delayed]
            self._ready.clear()
            self._delayed.clear()
            self._admitted = 0
            self._cond.notify_all()
            return items

    def _push(self, entry: _Entry[T]) -> None:
        heapq.heappush(self._ready, (entry.key, entry.seq, entry))

    def _promote_due(self) -> None:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            self._push(heapq.heappop(self._delayed)[2])

    def _wait_time(self, deadline: float | None) -> float | None:
        candidates = []
        if deadline is not None:
            candidates.append(deadline - time.monotonic())
        if self._delayed:
            candidates.append(max(self._delayed[0][0] - self._clock(), 0.001))
        return min(candidates) if candidates else None
