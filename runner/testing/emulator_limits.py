"""Rate limits, injected faults and request statistics of the GitHub emulator.

GitHub's documented rules, per user:
  primary    N requests per hour; the window opens at the first counted request and
             resets one hour later; conditional 304 answers and GET /rate_limit are free.
  secondary  at most 80 content-creating requests per minute and 500 per hour, at most
             100 requests in flight, and (emulator option) a minimum interval between writes.
All windows run on the emulated clock (see EmulatedClock).
"""
from __future__ import annotations

import random
import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any, Callable

from runner.testing.emulator_config import EmulatedClock, EmulatorConfig

HOUR = 3600.0
MINUTE = 60.0


@dataclass(frozen=True)
class RateSnapshot:
    """The numbers a response reports in its x-ratelimit-* headers."""

    limit: int
    used: int
    reset: int
    resource: str = "core"

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)

    def headers(self) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.limit),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-reset": str(self.reset),
            "x-ratelimit-used": str(self.used),
            "x-ratelimit-resource": self.resource,
        }

    def as_json(self) -> dict[str, int]:
        return {"limit": self.limit, "used": self.used, "remaining": self.remaining, "reset": self.reset}


class _Bucket:
    def __init__(self) -> None:
        self.window_start: float | None = None
        self.used = 0
        self.last_write: float | None = None
        self.content: deque[float] = deque()


class Limiter:
    """Per-user primary and secondary rate-limit accounting."""

    def __init__(self, config: Callable[[], EmulatorConfig], clock: EmulatedClock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._in_flight = 0
        self.max_in_flight = 0

    def limit_for(self, user: str | None) -> int:
        cfg = self._config()
        return cfg.primary_limit if user else cfg.anonymous_limit

    def snapshot(self, user: str | None) -> RateSnapshot:
        with self._lock:
            return self._snapshot(user, self._clock.now())

    def consume(self, user: str | None) -> tuple[bool, RateSnapshot]:
        """Count one request; False when the hourly budget is already spent."""
        with self._lock:
            now = self._clock.now()
            bucket = self._rolled(user, now)
            if bucket.window_start is None:
                bucket.window_start = now
            allowed = bucket.used < self.limit_for(user)
            if allowed:
                bucket.used += 1
            return allowed, self._snapshot(user, now)

    def refund(self, user: str | None) -> RateSnapshot:
        """Give back a request that turned out to be a free conditional hit."""
        with self._lock:
            now = self._clock.now()
            bucket = self._rolled(user, now)
            bucket.used = max(bucket.used - 1, 0)
            return self._snapshot(user, now)

    def admit_write(self, user: str | None, creates_content: bool) -> float | None:
        """Record a write, or return the emulated seconds to wait when it breaks a secondary limit."""
        cfg = self._config()
        with self._lock:
            now = self._clock.now()
            bucket = self._bucket(user)
            if cfg.secondary_limits:
                wait = _secondary_wait(cfg, bucket, now, creates_content)
                if wait is not None:
                    return wait
            bucket.last_write = now
            if creates_content:
                bucket.content.append(now)
            return None

    def enter(self) -> bool:
        """Track a request in flight; False when that exceeds the concurrency limit."""
        cfg = self._config()
        with self._lock:
            if cfg.secondary_limits and self._in_flight >= cfg.max_concurrent:
                return False
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            return True

    def leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _bucket(self, user: str | None) -> _Bucket:
        return self._buckets.setdefault(user or "", _Bucket())

    def _rolled(self, user: str | None, now: float) -> _Bucket:
        bucket = self._bucket(user)
        if bucket.window_start is not None and now >= bucket.window_start + HOUR:
            bucket.window_start = None
            bucket.used = 0
        return bucket

    def _snapshot(self, user: str | None, now: float) -> RateSnapshot:
        bucket = self._rolled(user, now)
        start = bucket.window_start if bucket.window_start is not None else now
        reset = int(self._clock.real_time_of(start + HOUR)) + 1
        return RateSnapshot(limit=self.limit_for(user), used=bucket.used, reset=reset)


def _secondary_wait(cfg: EmulatorConfig, bucket: _Bucket, now: float, creates_content: bool) -> float | None:
    if cfg.min_write_interval_s and bucket.last_write is not None:
        elapsed = now - bucket.last_write
        if elapsed < cfg.min_write_interval_s:
            return cfg.min_write_interval_s - elapsed
    if not creates_content:
        return None
    while bucket.content and bucket.content[0] <= now - HOUR:
        bucket.content.popleft()
    if len(bucket.content) >= cfg.content_per_hour:
        return bucket.content[0] + HOUR - now if bucket.content else HOUR
    if cfg.content_per_minute == 0:
        return MINUTE
    recent = [t for t in bucket.content if t > now - MINUTE]
    if len(recent) >= cfg.content_per_minute:
        return recent[-cfg.content_per_minute] + MINUTE - now
    return None


class FaultInjector:
    """Seeded coin flips deciding which requests fail or lose their connection."""

    def __init__(self, seed: int) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

    def draw(self, cfg: EmulatorConfig) -> str | int | None:
        """Return "drop", a 5xx status, or None for a healthy request."""
        with self._lock:
            if cfg.drop_rate and self._rng.random() < cfg.drop_rate:
                return "drop"
            if cfg.failure_rate and self._rng.random() < cfg.failure_rate:
                return self._rng.choice((502, 503))
            return None


    def lose_reply(self, cfg: EmulatorConfig) -> bool:
        """True when a processed request should lose its reply (the client cannot tell it succeeded)."""
        if not cfg.lost_reply_rate:
            return False
        with self._lock:
            return self._rng.random() < cfg.lost_reply_rate


class Stats:
    """Counters that tests and benchmarks read through GET /_emulator/stats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._by_route: Counter[str] = Counter()

    def incr(self, key: str, n: int = 1) -> None:
        with self._lock:
            self._counts[key] += n

    def response(self, route: str, status: int) -> None:
        with self._lock:
            self._by_status[str(status)] += 1
            self._by_route[route] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._by_status.clear()
            self._by_route.clear()

    def to_dict(self, max_in_flight: int = 0) -> dict[str, Any]:
        names = (
            "requests", "reads", "writes", "not_modified", "primary_limit_violations",
            "secondary_limit_violations", "failures_injected", "drops_injected", "bad_credentials",
            "issues_created", "comments_created", "pulls_created", "labels_created", "issues_closed",
            "merge_attempts", "replies_lost", "internal_errors",
        )
        with self._lock:
            data: dict[str, Any] = {name: self._counts.get(name, 0) for name in names}
            data["limit_violations"] = data["primary_limit_violations"] + data["secondary_limit_violations"]
            data["by_status"] = dict(self._by_status)
            data["by_route"] = dict(self._by_route)
        data["max_in_flight"] = max_in_flight
        return data
