"""The pool's small value types: its policy knobs, its counters, and what it reports happened.

Kept apart from `PoolCore` (the state and policies) so that code which only reads a pool's
stats, like the Dask backend, needs none of the pool itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from multiprocessing.context import DefaultContext, ForkContext, ForkServerContext, SpawnContext

# A multiprocessing context that can start a process (BaseContext itself has no `Process`).
StartContext: TypeAlias = "DefaultContext | ForkContext | ForkServerContext | SpawnContext"


@dataclass(frozen=True)
class PoolEvent:
    """Something that happened to the pool. Kinds: spawned, ready (detail: init_s, start_s),
    init_failed, died, exited, timeout, recycle (detail: reason max_tasks|rss), retire,
    resize, broken."""

    kind: str
    pid: int | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)


@dataclass
class PoolStats:
    """Counters since the pool started. `died` counts every exit that was not asked for,
    timeout kills included; `busy_s` maps each sage's pid to the seconds it ran tasks."""

    started: int = 0
    died: int = 0
    recycled: int = 0
    timeouts: int = 0
    init_times_s: list[float] = field(default_factory=list)
    tasks_done: int = 0
    busy_s: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PoolConfig:
    """The policy knobs of SagePool's constructor (documented there)."""

    task_timeout: float | None = None
    max_tasks_per_worker: int | None = None
    max_worker_rss: int | None = None
    inflight_per_worker: int = 2
    max_init_failures: int = 3
    rss_check_interval: float = 0.5
    init_backoff_s: float = 0.1
    initializer_name: str = "None"

    @property
    def small_message(self) -> int:
        """Largest task sent to a busy sage: this many per sage always fit a socket buffer."""
        return max(4096, 64 * 1024 // self.inflight_per_worker)
