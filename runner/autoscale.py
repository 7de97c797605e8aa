"""The autoscaler: the monitor's samples and the run's metrics, through the
scaling policy, into `pool.resize()`.

    ResourceMonitor (thread, every 100 ms) ──latest()──┐
    RunMetrics + queue depth + pool counts ────────────┼──> ScalingPolicy.decide() ──> pool.resize(n)
                                                       │    (once a second, this thread)
                                                       └──> history -> report "scaling_history"

With a fixed `--workers N` the same loop runs with min = max = N, so the
report still shows what the policy saw, but the size never changes.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from runner.metrics import RunMetrics
from runner.monitor import ResourceMonitor
from runner.scaling import Decision, PerfSample, ScalingPolicy

DECIDE_EVERY_S = 1.0
WINDOW_S = 5.0


class Autoscaler(threading.Thread):
    def __init__(
        self,
        pool: Any,
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
        self._t0 = time.monotonic()
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.interval_s):
            self.step()

    def step(self) -> Decision | None:
        """One decision from the latest samples; resizes the pool when the policy says so."""
        resource = self.monitor.latest()
        if resource is None:
            return None
        live = self.pool.target_size
        decision = self.policy.decide(resource, self.perf_sample(), live)
        self.last = decision
        if decision.applied and decision.to_size != live:
            self.pool.resize(decision.to_size)
        self.sizes.append((round(time.monotonic() - self._t0, 3), self.pool.target_size))
        del self.sizes[:-1000]
        return decision

    def perf_sample(self) -> PerfSample:
        m = self.metrics
        return PerfSample(
            throughput_recent=m.throughput_recent(WINDOW_S),
            throughput_previous=m.throughput_previous(WINDOW_S),
            p95_latency_s=m.latency_p95(),
            error_rate=m.error_rate_recent(WINDOW_S),
            queue_depth=self.queue_depth(),
            busy_workers=self.pool.busy_count,
            live_workers=self.pool.live_size,
            completed_recent=m.completed_recent(WINDOW_S),
        )

    def stop(self) -> None:
        self._halt.set()

    def history(self) -> list[dict[str, Any]]:
        return [d.as_dict() for d in self.policy.history if d.reportable]
