from __future__ import annotations

import json
import threading

import pytest
from conftest import FakeClock

from runner.github.breaker import BreakerEvent, BreakerState, CallNotPermitted, CircuitBreaker


def make_breaker(clock: FakeClock, **overrides) -> CircuitBreaker:
    options = dict(
        window_size=10,
        minimum_calls=4,
        failure_rate_threshold=0.5,
        wait_in_open_s=30.0,
        permitted_calls_in_half_open=3,
        clock=clock,
        wall_clock=lambda: 1_700_000_000.0,
    )
    options.update(overrides)
    return CircuitBreaker("github", **options)


def record(breaker: CircuitBreaker, outcomes: str) -> None:
    for outcome in outcomes:
        assert breaker.try_acquire()
        breaker.record_failure() if outcome == "F" else breaker.record_success()


def open_breaker(breaker: CircuitBreaker) -> None:
    record(breaker, "FFFF")
    assert breaker.state is BreakerState.OPEN


def test_stays_closed_below_minimum_calls_even_when_all_fail():
    breaker = make_breaker(FakeClock())
    record(breaker, "FFF")
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate is None


def test_opens_when_failure_rate_reaches_threshold():
    breaker = make_breaker(FakeClock())
    record(breaker, "SSF")
    assert breaker.state is BreakerState.CLOSED
    record(breaker, "F")
    assert breaker.state is BreakerState.OPEN
    event = breaker.events[-1]
    assert (event.from_state, event.to_state, event.failure_rate, event.calls) == ("closed", "open", 0.5, 4)


def test_window_slides_so_old_failures_age_out():
    breaker = make_breaker(FakeClock(), window_size=4, minimum_calls=4)
    record(breaker, "FSSS")
    record(breaker, "SFSS")
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate == 0.25


def test_open_rejects_until_wait_elapsed_then_half_opens_on_next_acquire():
    clock = FakeClock()
    breaker = make_breaker(clock)
    open_breaker(breaker)
    assert not breaker.try_acquire()
    clock.advance(29.9)
    assert not breaker.try_acquire()
    clock.advance(0.1)
    assert breaker.state is BreakerState.OPEN
    assert breaker.try_acquire()
    assert breaker.state is BreakerState.HALF_OPEN


def test_half_open_hands_out_exactly_the_permitted_probes():
    clock = FakeClock()
    breaker = make_breaker(clock)
    open_breaker(breaker)
    clock.advance(30)
    permits = [breaker.try_acquire() for _ in range(10)]
    assert permits == [True, True, True] + [False] * 7


def test_half_open_closes_when_probes_mostly_succeed_and_window_is_reset():
    clock = FakeClock()
    breaker = make_breaker(clock)
    open_breaker(breaker)
    clock.advance(30)
    for _ in range(3):
        assert breaker.try_acquire()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.HALF_OPEN
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate is None
    last = breaker.events[-1]
    assert (last.from_state, last.to_state, last.calls) == ("half_open", "closed", 3)
    assert last.failure_rate == pytest.approx(1 / 3)


def test_half_open_reopens_when_probe_failure_rate_reaches_threshold():
    clock = FakeClock()
    breaker = make_breaker(clock)
    open_breaker(breaker)
    clock.advance(30)
    for _ in range(3):
        breaker.try_acquire()
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    assert breaker.state is BreakerState.OPEN
    assert not breaker.try_acquire()
    clock.advance(30)
    assert breaker.try_acquire()


def test_outcomes_without_outstanding_probe_are_ignored_in_half_open():
    clock = FakeClock()
    breaker = make_breaker(clock)
    open_breaker(breaker)
    clock.advance(30)
    assert breaker.try_acquire()
    breaker.record_failure()
    breaker.record_failure()  # a late result from a call admitted while closed
    breaker.record_failure()
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.try_acquire() and breaker.try_acquire()
    assert not breaker.try_acquire()


def test_outcomes_reported_while_open_are_ignored():
    clock = FakeClock()
    breaker = make_breaker(clock)
    open_breaker(breaker)
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN
    assert len(breaker.events) == 1


def test_released_permit_can_be_taken_again():
    clock = FakeClock()
    breaker = make_breaker(clock, permitted_calls_in_half_open=1)
    open_breaker(breaker)
    clock.advance(30)
    assert breaker.try_acquire()
    assert not breaker.try_acquire()
    breaker.release_permit()
    assert breaker.try_acquire()


def test_half_open_with_lost_probes_reopens_after_max_wait():
    clock = FakeClock()
    breaker = make_breaker(clock, max_wait_in_half_open_s=60)
    open_breaker(breaker)
    clock.advance(30)
    for _ in range(3):
        breaker.try_acquire()
    clock.advance(60)
    assert not breaker.try_acquire()
    assert breaker.state is BreakerState.OPEN


def test_call_raises_call_not_permitted_when_open():
    breaker = make_breaker(FakeClock())
    open_breaker(breaker)
    with pytest.raises(CallNotPermitted) as caught:
        breaker.call(lambda: "never")
    assert caught.value.name == "github"
    assert caught.value.state is BreakerState.OPEN


def test_call_counts_exceptions_through_the_is_failure_predicate():
    breaker = make_breaker(FakeClock(), is_failure=lambda exc: not isinstance(exc, KeyError))
    for _ in range(4):
        with pytest.raises(KeyError):
            breaker.call(lambda: {}["missing"])
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failure_rate == 0.0
    for _ in range(4):
        with pytest.raises(ConnectionError):
            breaker.call(_raise, ConnectionError("reset"))
    assert breaker.failure_rate == 0.5
    assert breaker.state is BreakerState.OPEN


def test_call_returns_result_and_records_success():
    breaker = make_breaker(FakeClock())
    assert breaker.call(lambda a, b=0: a + b, 2, b=3) == 5
    record(breaker, "SSS")
    assert breaker.failure_rate == 0.0


def test_keyboard_interrupt_releases_probe_permit_without_recording():
    clock = FakeClock()
    breaker = make_breaker(clock, permitted_calls_in_half_open=1)
    open_breaker(breaker)
    clock.advance(30)
    with pytest.raises(KeyboardInterrupt):
        breaker.call(_raise, KeyboardInterrupt())
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state is BreakerState.CLOSED


def test_on_transition_is_called_outside_the_lock_and_events_are_json_ready():
    clock = FakeClock()
    seen: list[tuple[BreakerEvent, BreakerState]] = []
    breaker: CircuitBreaker

    def on_transition(event: BreakerEvent) -> None:
        seen.append((event, breaker.state))
        _ = breaker.failure_rate  # would deadlock if called under the lock

    breaker = make_breaker(clock, on_transition=on_transition)
    open_breaker(breaker)
    clock.advance(30)
    breaker.try_acquire()
    assert [(e.to_state, s) for e, s in seen] == [("open", BreakerState.OPEN), ("half_open", BreakerState.HALF_OPEN)]
    payload = json.loads(json.dumps([e.as_dict() for e in breaker.events]))
    assert payload[0]["at"] == "2023-11-14T22:13:20.000+00:00"
    assert payload[0]["name"] == "github"


def test_events_list_is_bounded():
    clock = FakeClock()
    breaker = make_breaker(clock, max_events=5, permitted_calls_in_half_open=1)
    open_breaker(breaker)
    for _ in range(10):
        clock.advance(30)
        breaker.try_acquire()
        breaker.record_failure()
    assert len(breaker.events) == 5


def test_minimum_calls_larger_than_window_is_capped_at_window_size():
    breaker = make_breaker(FakeClock(), window_size=3, minimum_calls=10)
    record(breaker, "FFF")
    assert breaker.state is BreakerState.OPEN


@pytest.mark.timeout(30)
def test_concurrent_probes_never_exceed_permits():
    clock = FakeClock()
    breaker = make_breaker(clock, permitted_calls_in_half_open=3)
    open_breaker(breaker)
    clock.advance(30)
    granted: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def contend() -> None:
        start.wait()
        results = [breaker.try_acquire() for _ in range(200)]
        with lock:
            granted.extend(results)

    threads = [threading.Thread(target=contend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(granted) == 3


def _raise(exc: BaseException) -> None:
    raise exc
