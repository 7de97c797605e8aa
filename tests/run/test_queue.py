"""runner.run.queue.PriorityQueue: strict levels, FIFO within a level, aging, backpressure, retries."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import FakeClock

from runner.run.queue import PriorityQueue

CRITICAL, HIGH, MEDIUM, LOW = 0, 1, 2, 3


def drain_items(queue: PriorityQueue) -> list:
    out = []
    while (got := queue.get(timeout=0)) is not None:
        out.append(got[0])
    return out


def start(target, *args) -> threading.Thread:
    thread = threading.Thread(target=target, args=args, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


def test_strict_priority_order(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=10, aging_s=300, clock=clock)
    for item, level in [("low", LOW), ("high", HIGH), ("critical", CRITICAL), ("medium", MEDIUM)]:
        assert queue.put(item, level)
        clock.advance(1)
    assert drain_items(queue) == ["critical", "high", "medium", "low"]


def test_fifo_within_a_level_even_at_the_same_instant(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=100, aging_s=300, clock=clock)
    for n in range(20):
        queue.put(f"m{n}", MEDIUM)
    assert drain_items(queue) == [f"m{n}" for n in range(20)]


def test_fifo_within_each_level_when_levels_interleave(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=100, aging_s=300, clock=clock)
    for n in range(5):
        queue.put(f"low{n}", LOW)
        queue.put(f"high{n}", HIGH)
        clock.advance(1)
    assert drain_items(queue) == [f"high{n}" for n in range(5)] + [f"low{n}" for n in range(5)]


def test_get_reports_level_and_enqueue_time(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=300, clock=clock)
    queue.put("x", HIGH)
    assert queue.get(timeout=0) == ("x", HIGH, 1000.0)


def test_low_item_ages_ahead_of_a_much_later_critical_item(clock: FakeClock) -> None:
    aging = 10.0
    queue = PriorityQueue(maxsize=5, aging_s=aging, clock=clock)
    queue.put("old low", LOW)
    clock.advance(3 * aging + 0.5)
    queue.put("new critical", CRITICAL)
    assert drain_items(queue) == ["old low", "new critical"]


def test_critical_still_wins_before_the_aging_horizon(clock: FakeClock) -> None:
    aging = 10.0
    queue = PriorityQueue(maxsize=5, aging_s=aging, clock=clock)
    queue.put("old low", LOW)
    clock.advance(3 * aging - 0.5)
    queue.put("new critical", CRITICAL)
    assert drain_items(queue) == ["new critical", "old low"]


def test_aging_is_one_level_per_aging_period(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=10.0, clock=clock)
    queue.put("medium", MEDIUM)
    clock.advance(10.5)
    queue.put("high", HIGH)
    queue.put("critical", CRITICAL)
    assert drain_items(queue) == ["critical", "medium", "high"]


def test_put_on_a_full_queue_times_out_and_keeps_what_it_has(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=2, aging_s=300, clock=clock)
    assert queue.put("a", LOW) and queue.put("b", LOW)
    assert queue.put("c", CRITICAL, timeout=0.05) is False
    assert len(queue) == 2
    assert drain_items(queue) == ["a", "b"]


@pytest.mark.timeout(20)
def test_blocked_put_proceeds_when_a_get_makes_room(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=1, aging_s=300, clock=clock)
    queue.put("first", LOW)
    results: list[bool] = []
    producer = start(lambda: results.append(queue.put("second", LOW, timeout=10)))
    producer.join(0.1)
    assert producer.is_alive(), "put must block while the queue is full"
    assert queue.get(timeout=0)[0] == "first"
    producer.join(10)
    assert results == [True]
    assert queue.get(timeout=0)[0] == "second"


def test_a_blocked_reader_refills_only_once_the_queue_is_down_to_three_quarters(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=8, aging_s=300, clock=clock)
    for n in range(8):
        queue.put(n, LOW)
    results: list[bool] = []
    producer = start(lambda: results.append(queue.put("late", LOW, timeout=30)))
    assert queue.get(timeout=0)[0] == 0
    producer.join(0.3)
    assert producer.is_alive(), "one free place must not wake the reader (it would wake once per issue)"
    assert queue.get(timeout=0)[0] == 1
    producer.join(10)
    assert results == [True]
    assert drain_items(queue) == [2, 3, 4, 5, 6, 7, "late"]


@pytest.mark.timeout(30)
def test_many_producers_and_consumers_lose_and_duplicate_nothing() -> None:
    queue: PriorityQueue[tuple[int, int]] = PriorityQueue(maxsize=3, aging_s=300)
    received: list[tuple[int, int]] = []
    lock = threading.Lock()

    def produce(pid: int) -> None:
        for n in range(150):
            assert queue.put((pid, n), n % 4, timeout=10)

    def consume() -> None:
        while (got := queue.get(timeout=2)) is not None:
            with lock:
                received.append(got[0])

    consumers = [start(consume) for _ in range(2)]
    producers = [start(produce, pid) for pid in range(4)]
    for thread in producers:
        thread.join(20)
    queue.close()
    for thread in consumers:
        thread.join(20)
    assert sorted(received) == [(pid, n) for pid in range(4) for n in range(150)]


def test_requeued_item_is_invisible_until_due(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=300, clock=clock)
    queue.requeue("retry", HIGH, enqueued_at=clock(), not_before=clock() + 30)
    assert len(queue) == 1
    assert queue.get(timeout=0) is None
    clock.advance(29.9)
    assert queue.get(timeout=0) is None
    clock.advance(0.1)
    assert queue.get(timeout=0) == ("retry", HIGH, 1000.0)


def test_due_requeue_is_served_at_its_original_place_in_line(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=300, clock=clock)
    first_seen = clock()
    clock.advance(50)
    queue.put("newer high", HIGH)
    queue.requeue("older high retry", HIGH, enqueued_at=first_seen, not_before=clock() + 5)
    assert queue.get(timeout=0)[0] == "newer high"
    queue.put("another high", HIGH)
    clock.advance(5)
    assert drain_items(queue) == ["older high retry", "another high"]


def test_requeue_without_delay_is_available_at_once(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=300, clock=clock)
    queue.requeue("retry", LOW, enqueued_at=clock())
    assert queue.get(timeout=0)[0] == "retry"


def test_requeue_bypasses_the_bound(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=1, aging_s=300, clock=clock)
    queue.put("admitted", LOW)
    queue.requeue("retry", LOW, enqueued_at=clock())
    assert len(queue) == 2
    assert queue.put("more", LOW, timeout=0.02) is False
    assert drain_items(queue) == ["admitted", "retry"]
    assert queue.put("more", LOW, timeout=0.02) is True


@pytest.mark.timeout(20)
def test_get_timeout_is_real_time_even_with_a_frozen_clock(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=300, clock=clock)
    queue.requeue("later", LOW, enqueued_at=clock(), not_before=clock() + 60)
    results: list = []
    waiter = start(lambda: results.append(queue.get(timeout=0.05)))
    waiter.join(5)
    assert not waiter.is_alive()
    assert results == [None]


@pytest.mark.timeout(20)
def test_waiting_get_picks_up_a_requeued_item_once_it_is_due(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=300, clock=clock)
    queue.requeue("retry", LOW, enqueued_at=clock(), not_before=clock() + 0.05)
    results: list = []
    waiter = start(lambda: results.append(queue.get(timeout=10)))
    waiter.join(0.1)
    clock.advance(1)
    waiter.join(10)
    assert results and results[0][0] == "retry"


def test_get_on_an_empty_queue_times_out() -> None:
    queue = PriorityQueue(maxsize=5)
    assert queue.get(timeout=0) is None
    assert queue.get(timeout=0.02) is None


@pytest.mark.timeout(20)
def test_close_wakes_a_waiting_get() -> None:
    queue = PriorityQueue(maxsize=5)
    results: list = []
    waiter = start(lambda: results.append(queue.get()))
    waiter.join(0.1)
    assert waiter.is_alive()
    queue.close()
    waiter.join(5)
    assert not waiter.is_alive()
    assert results == [None]


def test_closed_queue_still_hands_out_pending_items(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=5, aging_s=300, clock=clock)
    queue.put("a", LOW)
    queue.put("b", CRITICAL)
    queue.close()
    assert queue.get()[0] == "b"
    assert queue.get()[0] == "a"
    assert queue.get() is None


@pytest.mark.timeout(20)
def test_close_releases_a_blocked_put_without_dropping_its_item(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=1, aging_s=300, clock=clock)
    queue.put("a", LOW)
    results: list[bool] = []
    producer = start(lambda: results.append(queue.put("b", LOW, timeout=10)))
    producer.join(0.1)
    queue.close()
    producer.join(5)
    assert results == [True]
    assert drain_items(queue) == ["a", "b"]


def test_depth_by_level_counts_ready_and_delayed(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=10, aging_s=300, clock=clock)
    queue.put("c1", CRITICAL)
    queue.put("l1", LOW)
    queue.put("l2", LOW)
    queue.requeue("h-retry", HIGH, enqueued_at=clock(), not_before=clock() + 100)
    assert queue.depth_by_level() == [1, 1, 0, 2]
    assert len(queue) == 4
    queue.get(timeout=0)
    assert queue.depth_by_level() == [0, 1, 0, 2]


def test_drain_returns_everything_and_frees_the_bound(clock: FakeClock) -> None:
    queue = PriorityQueue(maxsize=2, aging_s=300, clock=clock)
    queue.put("a", LOW)
    queue.put("b", HIGH)
    queue.requeue("c", MEDIUM, enqueued_at=clock(), not_before=clock() + 100)
    assert sorted(queue.drain()) == ["a", "b", "c"]
    assert len(queue) == 0 and queue.depth_by_level() == [0, 0, 0, 0]
    assert queue.put("d", LOW, timeout=0) and queue.put("e", LOW, timeout=0)


def test_maxsize_must_be_positive() -> None:
    with pytest.raises(ValueError):
        PriorityQueue(maxsize=0)


def test_default_clock_is_monotonic_and_works_without_injection() -> None:
    queue = PriorityQueue(maxsize=3)
    before = time.monotonic()
    queue.put("x", MEDIUM)
    item, level, enqueued_at = queue.get(timeout=0)
    assert (item, level) == ("x", MEDIUM)
    assert before <= enqueued_at <= time.monotonic()
