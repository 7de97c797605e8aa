"""Circuit breaker with a count-based sliding window (resilience4j semantics).

Why: when GitHub (or any dependency) is failing, hammering it wastes attempts and
rate-limit budget. The breaker stops calls for a while, then lets a few probes
through to find out whether the dependency has recovered.

States and transitions::

    CLOSED ──(window holds >= minimum_calls outcomes and failure rate >= threshold)──> OPEN
    OPEN ──(wait_in_open_s elapsed, seen by the next try_acquire)──> HALF_OPEN
    HALF_OPEN ──(all probes reported, probe failure rate >= threshold)──> OPEN
    HALF_OPEN ──(all probes reported, probe failure rate <  threshold)──> CLOSED (window reset)
    HALF_OPEN ──(max_wait_in_half_open_s elapsed with probes outstanding)──> OPEN

Rules:

* CLOSED: every ``try_acquire`` is permitted. Each outcome goes into a window of the
  last ``window_size`` outcomes. The failure rate is only judged once the window
  holds ``min(minimum_calls, window_size)`` outcomes.
* OPEN: ``try_acquire`` returns False until ``wait_in_open_s`` has elapsed on the
  injected clock; the first ``try_acquire`` after that moves to HALF_OPEN and takes
  a probe permit. Outcomes reported while OPEN (calls admitted before the breaker
  opened) are ignored.
* HALF_OPEN: exactly ``permitted_calls_in_half_open`` permits are handed out, never
  more. Once that many probe outcomes have been reported, the breaker decides. An
  outcome reported while no probe is outstanding is ignored. ``release_permit``
  returns a permit that was taken but not used (the call never ran).
* ``call(fn)`` raises ``CallNotPermitted`` when no permit is available; an exception
  from ``fn`` counts as a failure only if ``is_failure(exc)`` is true, otherwise as a
  success. ``BaseException`` that is not an ``Exception`` (KeyboardInterrupt, ...)
  releases the permit and records nothing.

Every transition is appended to ``events`` (bounded) and passed to ``on_transition``,
which is called outside the lock so it may read the breaker. All methods are
thread-safe.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from runner.core.errors import RunnerError

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CallNotPermitted(RunnerError):
    """Raised by ``CircuitBreaker.call`` when the breaker refuses the call."""

    def __init__(self, name: str, state: BreakerState) -> None:
        super().__init__(f"circuit breaker {name!r} is {state.value}; call not permitted")
        self.name = name
        self.state = state


@dataclass(frozen=True)
class BreakerEvent:
    """One state transition; ``at`` is wall-clock ISO 8601 (UTC, milliseconds)."""

    at: str
    name: str
    from_state: str
    to_state: str
    failure_rate: float | None
    calls: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso_ms(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).isoformat(timespec="milliseconds")


def _every_exception(exc: BaseException) -> bool:
    return True


class CircuitBreaker:
    """A sliding-window circuit breaker; see the module docstring for the rules."""

    def __init__(
        self,
        name: str,
        *,
        window_size: int = 20,
        failure_rate_threshold: float = 0.5,
        minimum_calls: int = 10,
        wait_in_open_s: float = 30.0,
        permitted_calls_in_half_open: int = 3,
        max_wait_in_half_open_s: float | None = None,
        is_failure: Callable[[BaseException], bool] = _every_exception,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        on_transition: Callable[[BreakerEvent], None] | None = None,
        max_events: int = 200,
    ) -> None:
        if window_size < 1 or minimum_calls < 1 or permitted_calls_in_half_open < 1:
            raise ValueError("window_size, minimum_calls and permitted_calls_in_half_open must be >= 1")
        if not 0.0 < failure_rate_threshold <= 1.0:
            raise ValueError("failure_rate_threshold must be in (0, 1]")
        self.name = name
        self._threshold = failure_rate_threshold
        self._minimum_calls = min(minimum_calls, window_size)
        self._wait_in_open_s = wait_in_open_s
        self._probes = permitted_calls_in_half_open
        self._max_wait_in_half_open_s = max_wait_in_half_open_s
        self._is_failure = is_failure
        self._clock = clock
        self._wall_clock = wall_clock
        self._on_transition = on_transition
        self._lock = threading.Lock()
        self._window: deque[bool] = deque(maxlen=window_size)  # True = failure
        self._events: deque[BreakerEvent] = deque(maxlen=max_events)
        self._state = BreakerState.CLOSED
        self._state_since = clock()
        self._probes_issued = 0
        self._probe_failures = 0
        self._probes_reported = 0

    @property
    def state(self) -> BreakerState:
        return self._state

    @property
    def events(self) -> list[BreakerEvent]:
        with self._lock:
            return list(self._events)

    @property
    def failure_rate(self) -> float | None:
        """Failure rate of the closed-state window, None until it holds enough calls."""
        with self._lock:
            return self._window_rate()

    def try_acquire(self) -> bool:
        """Take a permit for one call; False means the call must not be made now."""
        with self._lock:
            event = self._expire_timed_state()
            permitted = self._take_permit()
        self._emit(event)
        return permitted

    def release_permit(self) -> None:
        """Give back a permit that was acquired but whose call never ran."""
        with self._lock:
            if self._state is BreakerState.HALF_OPEN and self._probes_issued > self._probes_reported:
                self._probes_issued -= 1

    def record_success(self) -> None:
        self._record(failed=False)

    def record_failure(self) -> None:
        self._record(failed=True)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn`` under the breaker, recording its outcome."""
        if not self.try_acquire():
            raise CallNotPermitted(self.name, self._state)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            self._record(failed=self._is_failure(exc))
            raise
        except BaseException:
            self.release_permit()
            raise
        self.record_success()
        return result

    def _record(self, *, failed: bool) -> None:
        with self._lock:
            if self._state is BreakerState.CLOSED:
                event = self._record_closed(failed)
            elif self._state is BreakerState.HALF_OPEN:
                event = self._record_probe(failed)
            else:
                event = None
        self._emit(event)

    def _record_closed(self, failed: bool) -> BreakerEvent | None:
        self._window.append(failed)
        rate = self._window_rate()
        if rate is not None and rate >= self._threshold:
            return self._transition(BreakerState.OPEN, rate, len(self._window))
        return None

    def _record_probe(self, failed: bool) -> BreakerEvent | None:
        if self._probes_reported >= self._probes_issued:
            return None
        self._probes_reported += 1
        self._probe_failures += failed
        if self._probes_reported < self._probes:
            return None
        rate = self._probe_failures / self._probes_reported
        target = BreakerState.OPEN if rate >= self._threshold else BreakerState.CLOSED
        return self._transition(target, rate, self._probes_reported)

    def _take_permit(self) -> bool:
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.HALF_OPEN and self._probes_issued < self._probes:
            self._probes_issued += 1
            return True
        return False

    def _expire_timed_state(self) -> BreakerEvent | None:
        elapsed = self._clock() - self._state_since
        if self._state is BreakerState.OPEN and elapsed >= self._wait_in_open_s:
            return self._transition(BreakerState.HALF_OPEN, None, 0)
        limit = self._max_wait_in_half_open_s
        if self._state is BreakerState.HALF_OPEN and limit is not None and elapsed >= limit:
            return self._transition(BreakerState.OPEN, None, self._probes_reported)
        return None

    def _window_rate(self) -> float | None:
        if len(self._window) < self._minimum_calls:
            return None
        return sum(self._window) / len(self._window)

    def _transition(self, target: BreakerState, rate: float | None, calls: int) -> BreakerEvent:
        event = BreakerEvent(
            at=_iso_ms(self._wall_clock()),
            name=self.name,
            from_state=self._state.value,
            to_state=target.value,
            failure_rate=rate,
            calls=calls,
        )
        self._state = target
        self._state_since = self._clock()
        self._probes_issued = self._probes_reported = self._probe_failures = 0
        if target is BreakerState.CLOSED:
            self._window.clear()
        self._events.append(event)
        return event

    def _emit(self, event: BreakerEvent | None) -> None:
        if event is not None and self._on_transition is not None:
            self._on_transition(event)
