"""Polite pacing for GitHub writes.

GitHub asks integrations to serialize writes, to leave at least a second
between them and more between writes that notify people (pull requests,
comments), and it enforces a content-creation budget (80 per minute, 500 per
hour). `Pacer` keeps all three with a sliding window. PyGithub's own
`seconds_between_writes` is not used because the pace must adapt: after a
secondary rate limit both intervals grow (`slow_down`), so one limited answer
is not followed by another. If the next slot is further away than
`max_wait_s`, `Deferral` is raised instead of blocking for an hour. Clock and
sleep are injected so the rules are tested without waiting.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

from runner.retry import Deferral

MAX_INTERVAL_S = 60.0


class Pacer:
    def __init__(
        self,
        write_interval_s: float = 1.0,
        notify_interval_s: float = 3.0,
        per_minute: int = 80,
        per_hour: int = 500,
        max_wait_s: float = 120.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.write_interval_s = write_interval_s
        self.notify_interval_s = notify_interval_s
        self.windows = ((60.0, per_minute), (3600.0, per_hour))
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._sleep = sleep
        self._created: deque[float] = deque()
        self._last_write: float | None = None
        self._last_notify: float | None = None
        self._lock = threading.Lock()
        self.waited_s = 0.0
        self.writes = 0
        self.notifications = 0

    def before_write(self, notify: bool = False) -> float:
        """Block until the next write (a notifying one if `notify`) is allowed; returns the wait."""
        with self._lock:
            wait = self.wait_needed(self._clock(), notify)
            if wait > self.max_wait_s:
                raise Deferral(f"write budget: next slot in {wait:.0f} s", retry_after_s=wait)
            if wait > 0:
                self._sleep(wait)
                self.waited_s += wait
            now = self._clock()
            self._last_write = now
            self.writes += 1
            if notify:
                self._last_notify = now
                self._created.append(now)
                self.notifications += 1
            return wait

    def wait_needed(self, now: float, notify: bool) -> float:
        while self._created and now - self._created[0] >= self.windows[-1][0]:
            self._created.popleft()
        waits = [0.0]
        if self._last_write is not None:
            waits.append(self._last_write + self.write_interval_s - now)
        if notify:
            if self._last_notify is not None:
                waits.append(self._last_notify + self.notify_interval_s - now)
            for span, limit in self.windows:
                recent = [t for t in self._created if now - t < span]
                if len(recent) >= limit:
                    waits.append(recent[len(recent) - limit] + span - now)
        return max(waits)

    def slow_down(self, retry_after_s: float) -> None:
        """After a secondary limit: at least double both intervals, and never go below what was asked."""
        with self._lock:
            floor = min(retry_after_s, MAX_INTERVAL_S)
            self.write_interval_s = min(max(self.write_interval_s * 2, floor), MAX_INTERVAL_S)
            self.notify_interval_s = min(max(self.notify_interval_s * 2, floor), MAX_INTERVAL_S)
