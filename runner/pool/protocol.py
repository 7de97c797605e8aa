"""The contract every pool of sages keeps, whichever machine the sages run on.

The dispatcher, the autoscaler and the report are written against `WorkerPool`, never
against a backend: `SagePool` (local processes) and `runner.dask.DaskPool` (a Dask cluster)
both satisfy it, and `tests/pool/test_contract.py` runs the same suite against each.

What a caller may rely on, beyond the signatures:
- `start()` returns once every sage has run its initializer (or raises `InitializerError`).
- `submit` never blocks for long; the caller bounds its in-flight work with `wait_for_slot`
  and `free_slots`, so the backend's queue stays short.
- A future fails with a `PoolError` subclass that says why (`WorkerCrashed`, `TaskTimeout`,
  `PoolBroken`, ...); a task whose worker died before it started is resent, never run twice.
- `resize(n)` takes effect in the background; `target_size` is what was asked,
  `live_size` what runs now.
- `shutdown(cancel_futures=True)` fails what has not run and returns promptly.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, Protocol, runtime_checkable

from runner.pool.types import PoolStats


@runtime_checkable
class WorkerPool(Protocol):
    def start(self, wait: bool = True, timeout: float | None = None) -> None: ...

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future: ...

    def free_slots(self) -> int: ...

    def wait_for_slot(self, timeout: float | None = None, at_least: int = 1) -> bool: ...

    def resize(self, n: int) -> None: ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None: ...

    @property
    def target_size(self) -> int: ...

    @property
    def live_size(self) -> int: ...

    @property
    def busy_count(self) -> int: ...

    @property
    def idle_count(self) -> int: ...

    def worker_pids(self) -> list[int]: ...

    def stats(self) -> PoolStats: ...

    def describe(self) -> dict[str, Any]: ...
