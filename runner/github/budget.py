"""The account's content-creation budget as runner knows it, and the pacing history.

GitHub counts content creations (pull requests, comments, issues) per account in a minute
and in an hour, whoever makes them. runner sees only its own; a secondary limit its own count
cannot explain means others are drawing from the same budget. `ContentBudget` keeps both in
one time-ordered list: runner's own creations (counted in both windows) and creations it
assumes others made (counted in the hour, where they stay until an hour after they were
learned of: the time they were really made is unknown, and assuming later is the safe side).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from typing import Any

MINUTE_S = 60.0
HOUR_S = 3600.0


@dataclass(frozen=True)
class PacingEvent:
    """One change of pace: a secondary limit (what GitHub said and its retry-after, the pause,
    the new intervals), or the intervals back at their configured values. Times are ISO 8601 UTC."""

    at: str
    event: str
    github: str
    retry_after_s: float | None
    pause_s: float
    paused_until: str | None
    write_interval_s: float
    notify_interval_s: float
    assumed_others: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class ContentBudget:
    def __init__(self, per_minute: int, per_hour: int, time_scale: float = 1.0) -> None:
        self.per_minute, self.per_hour = per_minute, per_hour
        self.minute_s, self.hour_s = MINUTE_S / time_scale, HOUR_S / time_scale
        self._entries: deque[tuple[float, bool]] = deque()

    def record(self, now: float) -> None:
        """runner created content now."""
        self._drop_old(now)
        self._entries.append((now, True))

    def confirm_last(self, now: float) -> None:
        """runner's last creation went through, answered by `now`: it counts from then, so that
        runner's window never lets go of it before GitHub's, which counted it on arrival."""
        if self._entries and self._entries[-1][1]:
            self._entries[-1] = (max(self._entries[-1][0], now), True)

    def cancel_last(self) -> None:
        """runner's last creation was refused: it did not count."""
        for index in range(len(self._entries) - 1, -1, -1):
            if self._entries[index][1]:
                del self._entries[index]
                return

    def wait(self, now: float) -> float:
        """Seconds until one more creation fits in both windows."""
        self._drop_old(now)
        waits = [0.0]
        own = [t for t, mine in self._entries if mine and now - t < self.minute_s]
        if len(own) >= self.per_minute:
            waits.append(own[len(own) - self.per_minute] + self.minute_s - now)
        if len(self._entries) >= self.per_hour:
            waits.append(self._entries[len(self._entries) - self.per_hour][0] + self.hour_s - now)
        return max(waits)

    def hour_explains_better(self, now: float) -> bool:
        """A refused creation means others used what runner did not, in the minute or in the hour;
        the hour is the likelier when it needs no more unseen creations than the minute."""
        self._drop_old(now)
        own_minute = sum(1 for t, mine in self._entries if mine and now - t < self.minute_s)
        return self.per_hour - len(self._entries) <= self.per_minute - own_minute

    def assume_hour_full(self, now: float) -> int:
        """Take the hour's budget as spent: what runner did not create, others did, just now."""
        self._drop_old(now)
        missing = max(self.per_hour - len(self._entries), 0)
        self._entries.extend((now, False) for _ in range(missing))
        return missing

    def assumed(self, now: float) -> int:
        self._drop_old(now)
        return sum(1 for _, mine in self._entries if not mine)

    def _drop_old(self, now: float) -> None:
        while self._entries and now - self._entries[0][0] >= self.hour_s:
            self._entries.popleft()
