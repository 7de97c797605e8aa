"""The sages on a Dask cluster, behind the same `WorkerPool` contract as the local pool.

    master: DaskPool (pool) ──client.submit──> scheduler ──> worker: SagePlugin (worker)
              │  futures: in-flight bookkeeping      │            runs sage.work, and for
              ◀──────────── results ─────────────────┘            `--repo URL` commits and
                                                                  pushes on its host (git)

tracking holds the pool's results and watch threads; futures its in-flight bookkeeping.
`DaskPool` is loaded on first use: a Dask worker imports `runner.dask.worker` and must not
import the master's side.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.dask.pool import DaskPool

__all__ = ["DaskPool"]


def __getattr__(name: str) -> Any:
    if name == "DaskPool":
        from runner.dask.pool import DaskPool

        return DaskPool
    raise AttributeError(f"module 'runner.dask' has no attribute {name!r}")
