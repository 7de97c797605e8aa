"""Engine overhead: no-op tasks through SagePool against a plain ProcessPoolExecutor.

Both pools get the same worker count and the same master loop: at most
workers * inflight tasks outstanding, one submit at a time while a slot is free. The pool
startup cost of each start method is measured too, since it decides the default.

    python -m perf.engine_overhead [--tasks 20000] [--workers 2]
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures

from runner.pool import SagePool


def noop() -> None:
    return None


def _importable_noop() -> Callable[[], None]:
    """`noop` pickled by its module name, also when this file runs as __main__."""
    if __name__ != "__main__":
        return noop
    return importlib.import_module("perf.engine_overhead").noop


def sage_rate(tasks: int, workers: int, inflight: int) -> float:
    task = _importable_noop()
    pool = SagePool(workers, inflight_per_worker=inflight)
    pool.start()
    futures: list[Future] = []
    began = time.perf_counter()
    for _ in range(tasks):
        while pool.free_slots() <= 0:
            pool.wait_for_slot()
        futures.append(pool.submit(task))
    wait_futures(futures)
    elapsed = time.perf_counter() - began
    pool.shutdown()
    return tasks / elapsed


def executor_rate(tasks: int, workers: int, inflight: int) -> float:
    task = _importable_noop()
    slots = threading.Semaphore(workers * inflight)
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("forkserver")) as executor:
        list(executor.map(task_call, [task] * workers * 4))
        futures: list[Future] = []
        began = time.perf_counter()
        for _ in range(tasks):
            slots.acquire()
            future = executor.submit(task)
            future.add_done_callback(lambda _: slots.release())
            futures.append(future)
        wait_futures(futures)
        elapsed = time.perf_counter() - began
    return tasks / elapsed


def executor_unbounded_rate(tasks: int, workers: int) -> float:
    """The executor's best case: every task submitted at once, no master-side window."""
    task = _importable_noop()
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("forkserver")) as executor:
        list(executor.map(task_call, [task] * workers * 4))
        began = time.perf_counter()
        wait_futures([executor.submit(task) for _ in range(tasks)])
        return tasks / (time.perf_counter() - began)


def task_call(fn: Callable[[], None]) -> None:
    return fn()


def startup_seconds(method: str, workers: int) -> float:
    """Wall time from constructing a pool to all its sages initialized (no-op initializer)."""
    began = time.perf_counter()
    pool = SagePool(workers, _importable_noop(), mp_context=mp.get_context(method))
    pool.start()
    elapsed = time.perf_counter() - began
    pool.shutdown()
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--inflight", type=int, default=2)
    args = parser.parse_args(argv)
    for method in ("fork", "forkserver", "spawn"):
        first = startup_seconds(method, args.workers)
        again = startup_seconds(method, args.workers)
        print(f"start {args.workers} sages with {method:<10}: first {first:.3f} s, again {again:.3f} s")
    executor = executor_rate(args.tasks, args.workers, args.inflight)
    sage = sage_rate(args.tasks, args.workers, args.inflight)
    unbounded = executor_unbounded_rate(args.tasks, args.workers)
    print(f"ProcessPoolExecutor: {executor:9.0f} tasks/s ({unbounded:.0f} with all submitted at once)")
    print(f"SagePool:            {sage:9.0f} tasks/s")
    print(f"ratio SagePool/ProcessPoolExecutor: {sage / executor:.2f}")


if __name__ == "__main__":
    main()
