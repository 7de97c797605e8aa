"""A small in-process TTL cache for expensive list queries."""
from __future__ import annotations

import functools
import time
from typing import Any, Callable


class TTLCache:
    """Entries expire ttl_s seconds after they were set; the clock is injectable for tests."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at > self.ttl_s:
            del self._entries[key]
            return None
        return value

    def set(self, key: str, value: Any) -> None:
        self._entries[key] = (self._clock(), value)

    def invalidate(self, key: str | None = None) -> None:
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)


def cached(cache: TTLCache, key_fn: Callable[..., str]):
    """Memoize a function in `cache` under key_fn(*args)."""
    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = key_fn(*args, **kwargs)
            value = cache.get(key)
            if value is None:
                value = func(*args, **kwargs)
                cache.set(key, value)
            return value
        return wrapper
    return decorator
