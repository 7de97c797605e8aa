"""The autoscaler: the monitor's samples and the run's metrics, through the
scaling policy, into `pool.resize()`.

    ResourceMonitor (thread, every 100 ms) ──history()──> smoothed() ─┐
    RunMetrics + queue depth + pool counts ───────────────────────────┼──> ScalingPolicy.decide()
                                                                      │    (every 0.5 s, this thread)
                                                                      │      └──> pool.resize(n)
                                                                      └──> history -> "scaling_history"

Each decision sees the system CPU averaged over the interval since the previous one, not
one 100 ms reading: the policy may grow on a single decision, so that decision must not
rest on a momentary dip (or be blocked by a momentary spike, such as sages starting).

With a fixed `--workers N` the same loop runs with min = max = N, so the
report still shows what the policy saw, but the size never changes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from runner.pool.protocol import WorkerPool
from runner.records.metrics import RunMetrics
from runner.scaling.monitor import ResourceMonitor
from runner.scaling.policy import ScalingPolicy
from runner.scaling.samples import Decision, PerfSample, ResourceSample

DECIDE_EVERY_S = 0.5
WINDOW_S = 5.0


class Autoscaler(threading.Thread):
    def __init__(
        self,
        pool: WorkerPool,
        policy: ScalingPolicy,
        monitor: ResourceMonitor,
        metrics: RunMetrics,
        queue_depth: Callable[[], int],
        interval_s: float = DECIDE_EVERY_S,
    ) -> None:
        super().__init__(name="runner-autoscaler", daemon=True)
        self.pool = pool
        self.policy = policy
        self.monitor = monitor
        self.metrics = metrics
        self.queue_depth = queue_depth
        self.interval_s = interval_s
        self.last: Decision | None = None
        self.sizes: list[tuple[float, int]] = []
        self.t0 = time.monotonic()
        self._halt = threading.Event()

    def start(self) -> None:
        """Start deciding; the size timeline counts from here."""
        self.t0 = time.monotonic()
        super().start()

    def run(self) -> None:
        while not self._halt.wait(self.interval_s):
            self.step()

    def step(self) -> Decision | None:
        """One decision from the samples since the last one; resizes the pool when the policy says so."""
        resource = smoothed(self.monitor.history(), self.interval_s)
        if resource is None:
            return None
        live = self.pool.target_size
        decision = self.policy.decide(resource, self.perf_sample(), live)
        self.last = decision
        if decision.applied and decision.to_size != live:
            self.pool.resize(decision.to_size)
        self.sizes.append((round(time.monotonic() - self.t0, 3), self.pool.target_size))
        del self.sizes[:-2000]
        return decision

    def perf_sample(self) -> PerfSample:
        """Sages asked for but not spawned yet count as live and idle, like those still starting."""
        m = self.metrics
        return PerfSample(
            throughput_recent=m.throughput_recent(WINDOW_S),
            throughput_previous=m.throughput_previous(WINDOW_S),
            p95_latency_s=m.latency_p95(),
            error_rate=m.error_rate_recent(WINDOW_S),
            queue_depth=self.queue_depth(),
            busy_workers=self.pool.busy_count,
            live_workers=max(self.pool.live_size, self.pool.target_size),
            completed_recent=m.completed_recent(WINDOW_S),
        )

    def stop(self) -> None:
        self._halt.set()

    def history(self) -> list[dict[str, Any]]:
        return [d.as_dict() for d in self.policy.history if d.reportable]


def smoothed(samples: Sequence[ResourceSample], window_s: float) -> ResourceSample | None:
    """The latest sample with system CPU and each worker's CPU averaged over the last `window_s`.

    Memory, load (already a 1-minute average) and RSS stay the latest readings.
    """
    if not samples:
        return None
    latest = samples[-1]
    recent = [s for s in samples if s.at > latest.at - window_s]
    cpu = sum(s.cpu_percent for s in recent) / len(recent)
    if len(latest.worker_pids) != len(latest.worker_cpu):
        return replace(latest, cpu_percent=cpu)
    by_pid: dict[int, list[float]] = {}
    for sample in recent:
        for pid, reading in zip(sample.worker_pids, sample.worker_cpu, strict=False):
            by_pid.setdefault(pid, []).append(reading)
    worker_cpu = [sum(by_pid[pid]) / len(by_pid[pid]) for pid in latest.worker_pids]
    return replace(latest, cpu_percent=cpu, worker_cpu=worker_cpu)
