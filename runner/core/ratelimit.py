"""GitHub's rate-limit answers, read in one place for the publisher's retries and for `fetch`.

GitHub refuses with 429, or 403 plus a sign: `Retry-After` (secondary limits),
`X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` (the primary limit), or a message that
says "rate limit" (a secondary limit answered without headers). What to do with the wait is
the caller's choice: the publisher defers or pauses, `fetch` waits or gives up.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any


def lowered(headers: Mapping[str, Any] | None) -> dict[str, str]:
    """Header names in lower case (PyGithub and requests keep the server's spelling)."""
    return {str(key).lower(): str(value) for key, value in dict(headers or {}).items()}


def is_rate_limit(status: int | None, headers: Mapping[str, str], message: str = "") -> bool:
    """Whether an answer is a rate-limit refusal; `headers` as `lowered` gives them. The retry
    policy gives no `message`: text in an error decides nothing there, since an issue's own
    words can end up in one; `fetch` reads GitHub's own answer body and gives it."""
    if status == 429:
        return True
    if status != 403:
        return False
    return "retry-after" in headers or headers.get("x-ratelimit-remaining") == "0" or "rate limit" in message.lower()


def wait_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds GitHub asked for: `Retry-After`, else the primary limit's reset when it is used
    up; None when the answer does not say."""
    retry_after = _float(headers.get("retry-after"))
    if retry_after is not None:
        return max(0.0, retry_after)
    reset = _float(headers.get("x-ratelimit-reset"))
    if reset is not None and headers.get("x-ratelimit-remaining") == "0":
        return max(0.0, reset - (time.time() if now is None else now))
    return None


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
