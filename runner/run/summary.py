"""What the report says about the run as a whole: the pool's and the publishers' counters."""

from __future__ import annotations

from typing import Any

from runner.pool import WorkerPool


def github_counts(publishers: dict[str, Any]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for publisher in publishers.values():
        for key, value in publisher.counts.items():
            totals[key] = totals.get(key, 0) + value
    return totals


def pool_stats(pool: WorkerPool) -> dict[str, Any]:
    stats = pool.stats()
    described = pool.describe()
    return {
        "started": stats.started,
        "died": stats.died,
        "recycled": stats.recycled,
        "timeouts": stats.timeouts,
        "tasks_done": stats.tasks_done,
        **described,
    }
