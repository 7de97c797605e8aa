"""Rate limits, injected faults and request statistics of the GitHub emulator.

GitHub's documented rules, per user:
  primary    N requests per hour; the window opens at the first counted request and
             resets one hour later; conditional 304 answers and GET /rate_limit are free.
  secondary  at most 80 content-creating requests per minute and 500 per hour, at most
             100 requests in flight, and (emulator option) a minimum interval between writes.
             A refused write blocks the user's writes until its retry-after has passed: each
             write before then is one more violation. Limits can also be injected at random
             (seeded), as GitHub's undocumented ones arrive, every few minutes on average.
All windows run on the emulated clock (see EmulatedClock). Every secondary refusal is kept
(`Stats.limit_events`) with its emulated time, reason and the client's User-Agent, so a
benchmark can tell its clients apart and time what happened after each one.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.testing.emulator.config import EmulatedClock, EmulatorConfig

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
        self.blocked_until: float | None = None
        self.next_injection: float | None = None


@dataclass(frozen=True)
class Refusal:
    """A write refused by a secondary limit: emulated seconds to wait, and which rule said no."""

    wait: float
    reason: str


class Limiter:
    """Per-user primary and secondary rate-limit accounting."""

    def __init__(self, config: Callable[[], EmulatorConfig], clock: EmulatedClock) -> None:
        self._config = config
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._in_flight = 0
        self.max_in_flight = 0
        self._rng = random.Random(config().seed)

    def reseed(self, seed: int) -> None:
        with self._lock:
            self._rng = random.Random(seed)

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

    def admit_write(self, user: str | None, creates_content: bool) -> Refusal | None:
        """Record a write, or say why it breaks a secondary limit and how long to wait (emulated s)."""
        cfg = self._config()
        with self._lock:
            now = self._clock.now()
            bucket = self._bucket(user)
            if cfg.secondary_limits:
                refusal = (
                    self._blocked(bucket, now)
                    or self._injected(cfg, bucket, now)
                    or _secondary_wait(cfg, bucket, now, creates_content)
                )
                if refusal is not None:
                    bucket.blocked_until = max(bucket.blocked_until or now, now + refusal.wait)
                    return refusal
            bucket.last_write = now
            if creates_content:
                bucket.content.append(now)
            return None

    @staticmethod
    def _blocked(bucket: _Bucket, now: float) -> Refusal | None:
        if bucket.blocked_until is not None and now < bucket.blocked_until:
            return Refusal(bucket.blocked_until - now, "blocked")
        return None

    def _injected(self, cfg: EmulatorConfig, bucket: _Bucket, now: float) -> Refusal | None:
        """Exponentially spaced surprises (a Poisson process on the emulated clock), per user."""
        if not cfg.inject_secondary_every_s:
            return None
        if bucket.next_injection is None:
            bucket.next_injection = now + self._rng.expovariate(1.0 / cfg.inject_secondary_every_s)
            return None
        if now < bucket.next_injection:
            return None
        wait = cfg.inject_secondary_wait_s
        bucket.next_injection = now + wait + self._rng.expovariate(1.0 / cfg.inject_secondary_every_s)
        return Refusal(wait, "injected")

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


def _secondary_wait(cfg: EmulatorConfig, bucket: _Bucket, now: float, creates_content: bool) -> Refusal | None:
    if cfg.min_write_interval_s and bucket.last_write is not None:
        elapsed = now - bucket.last_write
        if elapsed < cfg.min_write_interval_s:
            return Refusal(cfg.min_write_interval_s - elapsed, "write_interval")
    if not creates_content:
        return None
    while bucket.content and bucket.content[0] <= now - HOUR:
        bucket.content.popleft()
    if len(bucket.content) >= cfg.content_per_hour:
        return Refusal(bucket.content[0] + HOUR - now if bucket.content else HOUR, "content_per_hour")
    if cfg.content_per_minute == 0:
        return Refusal(MINUTE, "content_per_minute")
    recent = [t for t in bucket.content if t > now - MINUTE]
    if len(recent) >= cfg.content_per_minute:
        return Refusal(recent[-cfg.content_per_minute] + MINUTE - now, "content_per_minute")
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
    """Counters that tests and benchmarks read through GET /_emulator/stats, and the last
    `EVENTS_KEPT` secondary refusals (in-process only: `limit_events`)."""

    EVENTS_KEPT = 20000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_status: Counter[str] = Counter()
        self._by_route: Counter[str] = Counter()
        self._by_reason: Counter[str] = Counter()
        self._events: deque[dict[str, Any]] = deque(maxlen=self.EVENTS_KEPT)

    def secondary(self, at: float, reason: str, wait: float, user: str | None, agent: str) -> None:
        """One secondary refusal: emulated time, rule, emulated wait asked for, user, client."""
        with self._lock:
            self._counts["secondary_limit_violations"] += 1
            self._by_reason[reason] += 1
            self._events.append({"at": at, "reason": reason, "wait": wait, "user": user, "agent": agent})

    def limit_events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)

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
            self._by_reason.clear()
            self._events.clear()

    def to_dict(self, max_in_flight: int = 0) -> dict[str, Any]:
        names = (
            "requests",
            "reads",
            "writes",
            "not_modified",
            "primary_limit_violations",
            "secondary_limit_violations",
            "failures_injected",
            "drops_injected",
            "bad_credentials",
            "issues_created",
            "comments_created",
            "comments_updated",
            "pulls_created",
            "labels_created",
            "labels_added",
            "labels_removed",
            "issues_closed",
            "merge_attempts",
            "replies_lost",
            "internal_errors",
            "installation_tokens_issued",
            "git_pushes",
        )
        with self._lock:
            data: dict[str, Any] = {name: self._counts.get(name, 0) for name in names}
            data["limit_violations"] = data["primary_limit_violations"] + data["secondary_limit_violations"]
            data["by_status"] = dict(self._by_status)
            data["by_route"] = dict(self._by_route)
            data["secondary_by_reason"] = dict(self._by_reason)
        data["max_in_flight"] = max_in_flight
        return data
