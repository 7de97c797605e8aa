"""The backend choice point: which pool runs the sages for a run.

Every backend offers the same small surface the dispatcher needs: `start()`
(pre-initialize all workers, return their initialization times), `submit`,
`wait_for_slot`, `size` and `shutdown`.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
from typing import Any, Callable

from runner import sage
from runner.config import Config

INFLIGHT_PER_WORKER = 2


def default_workers(config: Config) -> int:
    if config.workers:
        return config.workers
    return max(config.min_workers, min(config.max_workers, os.cpu_count() or 1))


def make_pool(config: Config, setup: sage.SageSetup) -> StdlibPool:
    return StdlibPool(default_workers(config), setup)


class StdlibPool:
    """A ProcessPoolExecutor with slot accounting, so the queue decides the order."""

    def __init__(self, workers: int, setup: sage.SageSetup) -> None:
        self.size = workers
        self._setup = setup
        self._slots = threading.Semaphore(workers * INFLIGHT_PER_WORKER)
        self._pool: cf.ProcessPoolExecutor | None = None

    def start(self) -> list[float]:
        ctx = multiprocessing.get_context("forkserver")
        self._pool = cf.ProcessPoolExecutor(self.size, mp_context=ctx, initializer=sage.initialize,
                                            initargs=(self._setup,))
        probes = [self._pool.submit(sage.init_time) for _ in range(self.size)]
        return [round(p.result(), 4) for p in probes]

    def wait_for_slot(self, timeout: float | None = None) -> bool:
        return self._slots.acquire(timeout=timeout)

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        assert self._pool is not None
        future = self._pool.submit(fn, *args)
        future.add_done_callback(lambda _f: self._slots.release())
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)
