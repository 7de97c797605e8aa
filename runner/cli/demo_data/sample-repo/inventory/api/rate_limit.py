"""Token-bucket rate limiting per client address."""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field


class TooManyRequests(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"rate limited, retry after {retry_after}s")
        self.retry_after = retry_after


@dataclass
class TokenBucket:
    capacity: int
    refill_per_s: float
    tokens: float = field(default=0.0)
    updated_at: float = field(default_factory=time.monotonic)

    def take(self, now: float) -> bool:
        elapsed = now - self.updated_at
        self.tokens = min(self.capacity, self.tokens + elapsed * self.refill_per_s)
        self.updated_at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def rate_limit(limit: int, per_seconds: int, clock=time.monotonic):
    """Decorate a handler so each remote address gets `limit` calls per `per_seconds`."""
    buckets: dict[str, TokenBucket] = {}

    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(request, conn, settings):
            bucket = buckets.setdefault(
                request.remote_addr, TokenBucket(limit, limit / per_seconds, tokens=limit))
            if not bucket.take(clock()):
                raise TooManyRequests(retry_after=max(1, int(per_seconds / limit)))
            return handler(request, conn, settings)
        return wrapper
    return decorator
