"""Error classification and retry backoff.

Why: a retry only helps when the failure is about *when* the call was made (a reset
connection, a 502, a rate limit), never about *what* was asked (a 404, a 422, bad
credentials). Classification looks at exception types and structured fields (HTTP
status, errno, rate-limit headers) and never at message text, which changes between
library versions and languages.

    exception ──> classify() ──> "transient" | "permanent"
                       │
    RetryPolicy.plan(exc, attempt) ──> retry after delay | defer ("not now") | fail

``Deferral`` is raised by callers that decide not to try now (breaker open, rate-limit
reset too far away); the issue then ends as ``deferred`` and a later run picks it up.
"""

from __future__ import annotations

import errno
import random
import socket
import sys
from dataclasses import dataclass
from typing import Any, Literal

from runner.core import ratelimit

Classification = Literal["transient", "permanent"]

TRANSIENT_ERRNOS = frozenset(
    {
        errno.ECONNRESET,
        errno.ECONNREFUSED,
        errno.ECONNABORTED,
        errno.ETIMEDOUT,
        errno.EPIPE,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ENETRESET,
        errno.EAGAIN,
        errno.EINTR,
    }
)

_TRANSIENT_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.gaierror,
)


_OPTIONAL_TRANSIENT = {
    "http.client": ("IncompleteRead",),
    "requests.exceptions": ("ConnectionError", "Timeout", "ChunkedEncodingError", "RetryError"),
    "urllib3.exceptions": ("TimeoutError", "ProtocolError", "MaxRetryError"),
}


def _transient_types() -> tuple[type[BaseException], ...]:
    """The built-in transient errors plus those of HTTP libraries already loaded (an
    exception of a library nobody imported cannot occur, and importing them costs start-up)."""
    found = list(_TRANSIENT_TYPES)
    for module_name, names in _OPTIONAL_TRANSIENT.items():
        module = sys.modules.get(module_name)
        if module is not None:
            found += [getattr(module, name) for name in names if hasattr(module, name)]
    return tuple(found)


def _github_class(name: str) -> type | None:
    """A PyGithub exception class, if PyGithub is loaded: an exception of it cannot exist
    otherwise, and a run without `--github` should not import PyGithub just to classify."""
    module = sys.modules.get("github")
    return getattr(module, name, None) if module is not None else None


class Deferral(Exception):
    """Not now: the issue is left for a later run instead of being failed."""

    def __init__(self, reason: str, retry_after_s: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


def classify(exc: BaseException) -> Classification:
    """Say whether trying the same thing again later could succeed."""
    marker = getattr(exc, "transient", None)
    if isinstance(marker, bool):
        return "transient" if marker else "permanent"
    if isinstance(exc, Deferral):
        return "transient"
    status = http_status(exc)
    if status is not None:
        return "transient" if _transient_status(status, exc) else "permanent"
    if isinstance(exc, _transient_types()):
        return "transient"
    if isinstance(exc, OSError) and exc.errno in TRANSIENT_ERRNOS:
        return "transient"
    return "permanent"


def is_rate_limited(exc: BaseException) -> bool:
    """True for GitHub primary/secondary rate limits and HTTP 429."""
    limited = _github_class("RateLimitExceededException")
    if limited is not None and isinstance(exc, limited):
        return True
    return ratelimit.is_rate_limit(http_status(exc), _headers(exc))


def http_status(exc: BaseException) -> int | None:
    """The HTTP status carried by a PyGithub or requests exception, if any."""
    github_error = _github_class("GithubException")
    if github_error is not None and isinstance(exc, github_error):
        status = getattr(exc, "status", None)
        return status if isinstance(status, int) else None
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_s(exc: BaseException, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait (Retry-After or rate-limit reset), if known."""
    if isinstance(exc, Deferral):
        return exc.retry_after_s
    return ratelimit.wait_s(_headers(exc), now)


@dataclass(frozen=True)
class RetryPlan:
    """What to do after a failed attempt."""

    action: Literal["retry", "defer", "fail"]
    delay_s: float = 0.0
    reason: str = ""


class RetryPolicy:
    """Exponential backoff with jitter, capped; ``attempt`` counts from 1."""

    def __init__(
        self,
        max_attempts: int = 3,
        base_delay_s: float = 0.5,
        max_delay_s: float = 30.0,
        jitter: float = 0.5,
        rng: random.Random | None = None,
        max_wait_s: float = 60.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError("jitter must be a fraction in [0, 1]")
        if base_delay_s < 0 or max_delay_s < base_delay_s:
            raise ValueError("need 0 <= base_delay_s <= max_delay_s")
        self.max_attempts = max_attempts
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.jitter = jitter
        self.max_wait_s = max_wait_s
        self._rng = rng or random.Random()

    def next_delay(self, attempt: int) -> float:
        """Delay before attempt ``attempt + 1``: base·2^(attempt-1), capped, then
        reduced by a random share of up to ``jitter`` so retries spread out."""
        exponent = min(max(attempt, 1) - 1, 62)
        capped = min(self.max_delay_s, self.base_delay_s * 2.0**exponent)
        return capped * (1.0 - self.jitter * self._rng.random())

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Retry transient failures while attempts remain; a Deferral is never retried."""
        if isinstance(exc, Deferral) or attempt >= self.max_attempts:
            return False
        return classify(exc) == "transient"

    def plan(self, exc: BaseException, attempt: int, now: float | None = None) -> RetryPlan:
        """Decide retry / defer / fail, honouring the server's Retry-After."""
        if isinstance(exc, Deferral):
            return RetryPlan("defer", reason=exc.reason)
        wait = retry_after_s(exc, now)
        transient = classify(exc) == "transient"
        if transient and wait is not None and wait > self.max_wait_s:
            return RetryPlan("defer", reason=f"server asked to wait {wait:.0f} s")
        if is_rate_limited(exc) and attempt >= self.max_attempts:
            return RetryPlan("defer", reason="rate limited")
        if not self.should_retry(exc, attempt):
            return RetryPlan("fail", reason=classify(exc))
        delay = max(self.next_delay(attempt), wait or 0.0)
        return RetryPlan("retry", delay_s=delay, reason="transient")


def _transient_status(status: int, exc: BaseException) -> bool:
    return status >= 500 or is_rate_limited(exc)


def _headers(exc: BaseException) -> dict[str, str]:
    headers: Any = getattr(exc, "headers", None)
    if headers is None:
        headers = getattr(getattr(exc, "response", None), "headers", None)
    return ratelimit.lowered(headers)
