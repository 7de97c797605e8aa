"""Polite pacing for GitHub writes, adapting to secondary rate limits.

    before_write(notify) ──> waits for: the pause GitHub asked for (every write)
                                        the write interval (every write)
                                        the notify interval and the content budget (PRs, comments)
    limited(retry_after) ──> one pause for every writer: until retry-after (else secondary_wait),
                             doubled while limits come in a row; both intervals x2 (from at
                             least GitHub's advice, 1 s / 3 s; at most x8); the hour's content
                             budget assumed full when that explains a refused creation best
    a write not limited  ──> the intervals come back to the configured ones, a sixth of the
                             way per write (additive increase, multiplicative decrease); to
                             no less than GitHub's advice once GitHub has objected

GitHub asks integrations to serialize writes, to leave a second between them and more
between writes that notify people, and it enforces a content-creation budget per account
(80 per minute, 500 per hour) that other clients with the same token also draw from. After a
secondary limit it asks to wait for `retry-after`, or a minute, longer if limits repeat. The
pause is GitHub's answer to now; the wider intervals are the careful probe after it, and they
narrow again as writes go through, as TCP's congestion window and Netflix's concurrency-limits
do, so one limited answer costs a pause and a few slower writes, not the rest of the run.

Content creations are counted in sliding windows: runner's own, and those it assumes others
made. A refused creation that runner's own count cannot explain tells it others spent the
account's budget, in the minute or in the hour. When the hour needs no more unseen creations
than the minute to explain it, the hour is taken as full from then on and the next writes wait
for its oldest entries to leave the window; otherwise the retry-after says when the minute has
room again. A write is counted unlimited once the next one is asked for with no limit reported
in between (one publishing thread writes, so answers come in order), and a creation counts
from then: GitHub counted it when it arrived, so runner's window must not let go of it sooner.

If the next slot is further away than `max_wait_s`, `Deferral` is raised instead of blocking
for an hour. Clocks and sleep are injected so the rules are tested without waiting;
`time_scale` compresses the fixed durations (the windows, GitHub's advice) for an emulator
running on compressed time (the configured ones come compressed from the configuration).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from runner.core.logs import LOGGER
from runner.core.retry import Deferral
from runner.github.budget import ContentBudget, PacingEvent

GUIDE_WRITE_S = 1.0
GUIDE_NOTIFY_S = 3.0
BACKOFF = 2.0
MAX_BACKOFF = 8.0
RECOVERY_WRITES = 6
MAX_PAUSE_DOUBLINGS = 5
EVENTS_KEPT = 500
RECOVERIES_KEPT = 100
log = logging.getLogger(LOGGER)


class Pacer:
    def __init__(
        self,
        write_interval_s: float = 1.0,
        notify_interval_s: float = 3.0,
        per_minute: int = 80,
        per_hour: int = 500,
        max_wait_s: float = 120.0,
        secondary_wait_s: float = 60.0,
        time_scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.configured = (write_interval_s, notify_interval_s)
        self.write_interval_s, self.notify_interval_s = self.configured
        self._target = self.configured
        self._guide = (GUIDE_WRITE_S / time_scale, GUIDE_NOTIFY_S / time_scale)
        self._steps = (0.0, 0.0)
        self.budget = ContentBudget(per_minute, per_hour, time_scale)
        self.max_wait_s = max_wait_s
        self.secondary_wait_s = secondary_wait_s
        self._clock, self._sleep, self._wall = clock, sleep, wall
        self._lock = threading.Lock()
        self._last_write: float | None = None
        self._last_notify: float | None = None
        self._paused_until: float | None = None
        self._streak = 0
        self._unsettled = False
        self._unsettled_notify = False
        self._limited_at: float | None = None
        self.events: deque[PacingEvent] = deque(maxlen=EVENTS_KEPT)
        self.recoveries_s: deque[float] = deque(maxlen=RECOVERIES_KEPT)
        self.waited_s = self.paused_s = self.longest_pause_s = 0.0
        self.writes = self.notifications = self.limits = 0

    # -- before each write ------------------------------------------------------------------

    def before_write(self, notify: bool = False) -> float:
        """Block until the next write (a notifying one if `notify`) is allowed; returns the wait."""
        with self._lock:
            self._settle()
            now = self._clock()
            pause = self._pause_left(now)
            wait = max(pause, self.wait_needed(now, notify))
            if wait > self.max_wait_s:
                reason = (
                    f"paused by GitHub for {pause:.0f} s more (secondary rate limit)"
                    if pause >= wait
                    else f"write budget: next slot in {wait:.0f} s"
                )
                raise Deferral(reason, retry_after_s=wait)
            if wait > 0:
                self._sleep(wait)
                self.waited_s += wait
                self.paused_s += pause
            now = self._clock()
            self._last_write = now
            self.writes += 1
            if notify:
                self._last_notify = now
                self.budget.record(now)
                self.notifications += 1
            self._unsettled, self._unsettled_notify = True, notify
            return wait

    def wait_needed(self, now: float, notify: bool) -> float:
        """Seconds until the intervals and (for a notifying write) the content budget allow it."""
        waits = [0.0]
        if self._last_write is not None:
            waits.append(self._last_write + self.write_interval_s - now)
        if notify:
            if self._last_notify is not None:
                waits.append(self._last_notify + self.notify_interval_s - now)
            waits.append(self.budget.wait(now))
        return max(waits)

    def _pause_left(self, now: float) -> float:
        return max(self._paused_until - now, 0.0) if self._paused_until is not None else 0.0

    def _settle(self) -> None:
        """The write allowed last time went through without a limit: one step back to the configured pace."""
        if not self._unsettled:
            return
        if self._unsettled_notify:
            self.budget.confirm_last(self._clock())
        self._unsettled = False
        self._streak = 0
        if self._steps == (0.0, 0.0):
            return
        self.write_interval_s = max(self._target[0], self.write_interval_s - self._steps[0])
        self.notify_interval_s = max(self._target[1], self.notify_interval_s - self._steps[1])
        if (self.write_interval_s, self.notify_interval_s) == self._target:
            self._steps = (0.0, 0.0)
            if self._limited_at is not None:
                self.recoveries_s.append(round(self._clock() - self._limited_at, 3))
                self._limited_at = None
            self._event("recovered", "", None, 0.0)

    # -- after a secondary limit -------------------------------------------------------------

    def limited(self, retry_after_s: float | None, said: str = "") -> float:
        """GitHub answered a write with a secondary rate limit: pause every writer, back off.
        Returns the pause in seconds from now."""
        with self._lock:
            now = self._clock()
            creation = self._unsettled and self._unsettled_notify
            if creation:
                self.budget.cancel_last()
            self._unsettled = False
            self._streak += 1
            self.limits += 1
            base = retry_after_s if retry_after_s is not None else self.secondary_wait_s
            pause = base * BACKOFF ** min(self._streak - 1, MAX_PAUSE_DOUBLINGS)
            self._paused_until = max(self._paused_until or now, now + pause)
            self.longest_pause_s = max(self.longest_pause_s, pause)
            if self._limited_at is None:
                self._limited_at = now
            self._back_off()
            if creation and self.budget.hour_explains_better(now):
                self.budget.assume_hour_full(now)
            self._event("limited", said, retry_after_s, pause)
            log.warning(
                "GitHub secondary rate limit (%s): writes paused for %.0f s, intervals now %.2f s / %.2f s",
                said or "no details",
                pause,
                self.write_interval_s,
                self.notify_interval_s,
            )
            return pause

    def _back_off(self) -> None:
        """Intervals x2, from at least GitHub's advice, to at most x8 of it (or of the configured
        ones). Faster-than-advised intervals were the user's to try; after a limit the pace comes
        back to the advice, not below it."""
        self._target = _pair(max(c, g) for c, g in zip(self.configured, self._guide, strict=False))
        widened = [
            min(max(current * BACKOFF, target), target * MAX_BACKOFF)
            for current, target in zip((self.write_interval_s, self.notify_interval_s), self._target, strict=False)
        ]
        self.write_interval_s, self.notify_interval_s = widened
        self._steps = _pair((w - t) / RECOVERY_WRITES for w, t in zip(widened, self._target, strict=False))

    def _event(self, kind: str, said: str, retry_after_s: float | None, pause: float) -> None:
        until = self._paused_until if pause else None
        self.events.append(
            PacingEvent(
                at=_iso(self._wall()),
                event=kind,
                github=said,
                retry_after_s=retry_after_s,
                pause_s=round(pause, 3),
                paused_until=_iso(self._wall() + (until - self._clock())) if until is not None else None,
                write_interval_s=round(self.write_interval_s, 4),
                notify_interval_s=round(self.notify_interval_s, 4),
                assumed_others=self.budget.assumed(self._clock()),
            )
        )

    # -- for the live view and the report -----------------------------------------------------

    def paused_until(self) -> float | None:
        """Wall-clock time the current pause ends, or None; read without the lock, which a
        sleeping writer holds."""
        until = self._paused_until
        now = self._clock()
        return self._wall() + (until - now) if until is not None and until > now else None

    def summary(self) -> dict[str, Any]:
        recoveries = list(self.recoveries_s)
        return {
            "writes": self.writes,
            "notifications": self.notifications,
            "waited_s": round(self.waited_s, 3),
            "paused_s": round(self.paused_s, 3),
            "secondary_limits": self.limits,
            "longest_pause_s": round(self.longest_pause_s, 3),
            "write_interval_s": {
                "configured": self.configured[0],
                "target": round(self._target[0], 4),
                "now": round(self.write_interval_s, 4),
            },
            "notify_interval_s": {
                "configured": self.configured[1],
                "target": round(self._target[1], 4),
                "now": round(self.notify_interval_s, 4),
            },
            "recovered_after_s": recoveries,
            "assumed_others_in_hour": self.budget.assumed(self._clock()),
        }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pair(values: Iterable[float]) -> tuple[float, float]:
    """(write, notify) from values computed for both intervals alike."""
    write, notify = values
    return write, notify
