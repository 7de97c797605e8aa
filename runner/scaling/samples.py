"""What the scaling policy reads and what it says: the machine and run samples that come in
(from the monitor and the master), its advice, and the decisions that go out to the
autoscaler and the report's scaling_history. Plain frozen data, shared by every scaling module.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Action = Literal["grow", "shrink", "hold"]
Suppression = Literal["cooldown", "confidence", "hysteresis", "bounds"]
REPORTED_SUPPRESSIONS = frozenset({"cooldown", "confidence"})


@dataclass(frozen=True)
class ResourceSample:
    """One reading of the machine and of our own processes."""

    at: float
    cpu_percent: float
    mem_percent: float
    load_per_cpu: float
    master_rss: int
    worker_rss: list[int] = field(default_factory=list)
    worker_cpu: list[float] = field(default_factory=list)
    worker_pids: list[int] = field(default_factory=list)

    @property
    def total_rss(self) -> int:
        return self.master_rss + sum(self.worker_rss)


@dataclass(frozen=True)
class PerfSample:
    """How the run is going; built by the master from RunMetrics and the queue."""

    throughput_recent: float
    throughput_previous: float
    p95_latency_s: float | None
    error_rate: float
    queue_depth: int
    busy_workers: int
    live_workers: int
    completed_recent: int | None = None


@dataclass(frozen=True)
class Advice:
    action: Action
    target: int
    confidence: float
    reasons: list[str]
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """One call of ``decide``; ``as_dict`` is what the report's scaling_history holds."""

    at: str
    action: Action
    from_size: int
    to_size: int
    applied: bool
    suppressed_by: Suppression | None
    confidence: float
    inputs: dict[str, Any]
    reasons: list[str]
    scores: dict[str, float] = field(default_factory=dict)
    repeats: int = 1

    @property
    def reportable(self) -> bool:
        return self.applied or self.suppressed_by in REPORTED_SUPPRESSIONS

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
