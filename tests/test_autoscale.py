"""Adaptive scaling wired end to end: real sages, the real psutil monitor, the real policy."""
from __future__ import annotations

import collections
import os
import time

import pytest

import pool_tasks
from runner.autoscale import Autoscaler
from runner.metrics import RunMetrics
from runner.monitor import PsutilSampler, ResourceMonitor
from runner.pool import SagePool
from runner.scaling import ScalingPolicy


@pytest.mark.timeout(90)
def test_an_io_bound_backlog_makes_the_pool_grow(tmp_path):
    pool = SagePool(1, inflight_per_worker=1)
    pool.start()
    metrics = RunMetrics()
    backlog = collections.deque(range(400))
    monitor = ResourceMonitor(PsutilSampler(os.getpid(), pool.worker_pids), interval_s=0.05)
    # The machine's own load (other tests, a noisy neighbour) is not what this test is about:
    # high marks out of reach leave the decision to the backlog and the busy workers.
    policy = ScalingPolicy(1, 4, cooldown_s=0.5, hysteresis=2, cpu_high=1000, mem_high=1000, load_high=1000)
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
