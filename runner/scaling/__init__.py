"""How many sages a run uses: measured, decided, applied.

    monitor (psutil samples: CPU, memory, load) ─┐
                                                 ├─> autoscaler ──policy──> pool.resize(n)
    run metrics (throughput, latency) ───────────┘     (scoring, hysteresis, cooldown)

The policy is pure (clock and samples are given), so it is tested without sleeping; samples
holds what it reads and decides.
"""

from __future__ import annotations

from runner.scaling.autoscaler import Autoscaler
from runner.scaling.monitor import PsutilSampler, ResourceMonitor
from runner.scaling.policy import ScalingPolicy
from runner.scaling.samples import Decision, PerfSample, ResourceSample

__all__ = [
    "Autoscaler",
    "Decision",
    "PerfSample",
    "PsutilSampler",
    "ResourceMonitor",
    "ResourceSample",
    "ScalingPolicy",
]
