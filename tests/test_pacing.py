"""Write pacing with a fake clock: intervals, content budgets, slowing down, deferring."""
from __future__ import annotations

import pytest

from runner.pacing import Pacer
from runner.retry import Deferral


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(t: FakeTime, **kw) -> Pacer:
    return Pacer(clock=t.clock, sleep=t.sleep, **kw)


def test_writes_and_notifications_keep_their_intervals():
    t = FakeTime()
    p = pacer(t, write_interval_s=1.0, notify_interval_s=3.0)
    assert p.before_write(notify=True) == 0
    assert p.before_write() == pytest.approx(1.0)
    assert p.before_write(notify=True) == pytest.approx(2.0)
    t.now += 10
    assert p.before_write(notify=True) == 0


def test_per_minute_budget_waits_for_the_window():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=80, per_hour=500)
    for _ in range(80):
        assert p.before_write(notify=True) == 0
    assert p.before_write(notify=True) == pytest.approx(60.0)
    assert p.notifications == 81


def test_hourly_budget_beyond_max_wait_defers_instead_of_blocking():
    t = FakeTime()
    p = pacer(t, write_interval_s=0, notify_interval_s=0, per_minute=1000, per_hour=5, max_wait_s=120)
    for _ in range(5):
        p.before_write(notify=True)
    with pytest.raises(Deferral) as caught:
        p.before_write(notify=True)
    assert caught.value.retry_after_s == pytest.approx(3600.0)
    assert t.slept == []


def test_slow_down_after_a_secondary_limit():
    t = FakeTime()
    p = pacer(t, write_interval_s=0.0, notify_interval_s=0.0)
    p.slow_down(0.4)
    assert p.write_interval_s == pytest.approx(0.4) and p.notify_interval_s == pytest.approx(0.4)
    p.slow_down(0.1)
    assert p.write_interval_s == pytest.approx(0.8)
    p.slow_down(3600)
    assert p.write_interval_s == 60.0
