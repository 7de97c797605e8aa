"""Adaptive scaling wired end to end: real sages, the real psutil monitor, the real policy."""

from __future__ import annotations

import collections
import os
import time
from pathlib import Path

import pool_tasks
import pytest
from conftest import FakeClock

from runner.pool import SagePool
from runner.records.metrics import RunMetrics
from runner.scaling.autoscaler import Autoscaler, smoothed
from runner.scaling.monitor import PsutilSampler, ResourceMonitor
from runner.scaling.policy import ScalingPolicy
from runner.scaling.samples import ResourceSample


def reading(at: float, cpu: float, pids: list[int] | None = None, worker_cpu: float = 2.0) -> ResourceSample:
    pids = pids or []
    return ResourceSample(
        at=at,
        cpu_percent=cpu,
        mem_percent=40.0,
        load_per_cpu=0.2,
        master_rss=50 << 20,
        worker_rss=[30 << 20] * len(pids),
        worker_cpu=[worker_cpu] * len(pids),
        worker_pids=pids,
    )


def test_decisions_see_cpu_averaged_since_the_previous_decision():
    samples = [reading(0.0, 90.0)] + [
        reading(t / 10, cpu) for t, cpu in zip(range(1, 6), (20, 20, 100, 20, 40), strict=False)
    ]
    merged = smoothed(samples, window_s=0.5)
    assert merged.cpu_percent == pytest.approx(40.0)
    assert merged.at == 0.5
    assert smoothed([], 0.5) is None


def test_worker_cpu_is_averaged_per_live_worker():
    samples = [reading(0.1, 10.0, [1, 2], worker_cpu=10.0), reading(0.2, 10.0, [2, 3], worker_cpu=30.0)]
    merged = smoothed(samples, window_s=0.5)
    assert merged.worker_pids == [2, 3]
    assert merged.worker_cpu == [20.0, 30.0]


class Rig:
    """A real pool whose sages block on a gate file, a monitor fed by a scripted sampler,
    and a policy on a fake clock: every decision is made by calling `step()`."""

    def __init__(self, tmp_path: Path, cpu: float, start: int = 2) -> None:
        self.gate = str(tmp_path / "gate")
        self.clock = FakeClock()
        self.cpu = cpu
        self.pool = SagePool(start, inflight_per_worker=1)
        self.pool.start()
        self.monitor = ResourceMonitor(self._sample)
        self.policy = ScalingPolicy(1, 16, clock=self.clock, load_high=1000, mem_high=1000, cpu_count=2)
        self.scaler = Autoscaler(self.pool, self.policy, self.monitor, RunMetrics(clock=self.clock), lambda: 500)

    def _sample(self) -> ResourceSample:
        return reading(self.clock.now, self.cpu, self.pool.worker_pids())

    def occupy_every_sage(self) -> None:
        assert self.pool.wait_ready(timeout=60)
        while self.pool.free_slots() > 0:
            self.pool.submit(pool_tasks.gated, self.gate, 1)
        assert self.pool.busy_count == self.pool.target_size

    def decide(self) -> int:
        self.clock.advance(0.5)
        self.monitor.sample_once()
        self.scaler.step()
        return self.pool.target_size

    def close(self) -> None:
        Path(self.gate).touch()
        self.pool.shutdown(wait=True)


@pytest.mark.timeout(90)
def test_a_deep_queue_at_low_cpu_takes_a_real_pool_from_2_to_16_in_two_decisions(tmp_path):
    rig = Rig(tmp_path, cpu=10.0)
    try:
        sizes = [rig.pool.target_size]
        for _ in range(3):
            rig.occupy_every_sage()
            sizes.append(rig.decide())
        assert sizes == [2, 6, 16, 16]
        assert rig.pool.wait_ready(timeout=60)
        assert rig.pool.stats().started == 16
    finally:
        rig.close()
    applied = [d for d in rig.policy.history if d.applied]
    assert [(d.from_size, d.to_size) for d in applied] == [(2, 6), (6, 16)]


@pytest.mark.timeout(60)
def test_a_step_is_held_until_the_new_sages_are_busy(tmp_path):
    rig = Rig(tmp_path, cpu=10.0)
    try:
        rig.occupy_every_sage()
        assert rig.decide() == 6
        assert rig.decide() == 6  # the four new sages hold no task yet: not busy, no growth
        rig.occupy_every_sage()
        assert rig.decide() == 16
    finally:
        rig.close()


@pytest.mark.timeout(60)
def test_a_cpu_saturated_machine_never_grows_the_pool(tmp_path):
    rig = Rig(tmp_path, cpu=97.0)
    try:
        rig.occupy_every_sage()
        sizes = {rig.decide() for _ in range(20)}
    finally:
        rig.close()
    assert sizes == {2}
    assert not any(d.applied for d in rig.policy.history)


@pytest.mark.timeout(90)
def test_an_io_bound_backlog_makes_the_pool_grow(tmp_path):
    pool = SagePool(1, inflight_per_worker=1)
    pool.start()
    metrics = RunMetrics()
    backlog = collections.deque(range(400))
    monitor = ResourceMonitor(PsutilSampler(os.getpid(), pool.worker_pids), interval_s=0.05)
    # The machine's own load (other tests, a noisy neighbour) is not what this test is about:
    # high marks out of reach leave the decision to the backlog and the busy workers.
    policy = ScalingPolicy(1, 4, cpu_high=1000, mem_high=1000, load_high=1000)
    scaler = Autoscaler(pool, policy, monitor, metrics, lambda: len(backlog), interval_s=0.2)
    log = str(tmp_path / "ids.log")
    monitor.start()
    scaler.start()
    try:
        deadline = time.monotonic() + 60
        while backlog and time.monotonic() < deadline and pool.target_size < 3:
            if not pool.wait_for_slot(0.1):
                continue
            task_id = backlog.popleft()
            metrics.record_enqueued(task_id)
            metrics.record_started(task_id)
            future = pool.submit(pool_tasks.log_id, log, task_id, 0.05)
            future.add_done_callback(lambda f, k=task_id: metrics.record_finished(k, "committed", "Medium"))
    finally:
        scaler.stop()
        scaler.join()
        monitor.stop()
        pool.shutdown(wait=True)
    grown = [d for d in policy.history if d.applied and d.action == "grow"]
    assert grown, [d.as_dict() for d in policy.history]
    assert pool.stats().started >= 3
    assert all(d["inputs"]["queue_depth"] > 0 for d in scaler.history() if d["action"] == "grow")
