"""The pool contract (`runner.pool.WorkerPool`), one suite run against every backend.

Each test takes `make_pool`, parametrized over the local SagePool and a DaskPool on a
LocalCluster, so the dispatcher's assumptions hold wherever the sages run. Tasks are
standard-library callables: a Dask worker process can import them without the tests.
"""

from __future__ import annotations

import operator
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import wait

import pytest

from runner.pool import PoolError, SagePool, TaskTimeout, WorkerPool

BACKENDS = ["local", "dask-local"]


def _local(workers: int, task_timeout: float | None) -> WorkerPool:
    return SagePool(workers, task_timeout=task_timeout)


def _dask(workers: int, task_timeout: float | None) -> WorkerPool:
    pytest.importorskip("distributed")
    from runner.dask import DaskPool
    from runner.sage import SageSetup

    return DaskPool(workers, SageSetup({}, None, "runner/issue-", ".runner/issues/{number}"), task_timeout=task_timeout)


@pytest.fixture(params=BACKENDS)
def make_pool(request) -> Iterator[Callable[..., WorkerPool]]:
    pools: list[WorkerPool] = []

    def make(workers: int = 2, task_timeout: float | None = None) -> WorkerPool:
        pool = (_local if request.param == "local" else _dask)(workers, task_timeout)
        pools.append(pool)
        if request.param == "dask-local":
            import dask

            with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                pool.start()
        else:
            pool.start()
        return pool

    yield make
    for pool in pools:
        pool.shutdown(wait=True, cancel_futures=True)


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


@pytest.mark.timeout(90)
def test_a_started_pool_has_its_workers_ready_and_says_what_it_is(make_pool):
    pool = make_pool(2)
    assert isinstance(pool, WorkerPool)
    assert pool.live_size == pool.target_size == 2
    assert pool.stats().started == 2 and pool.idle_count == 2 and pool.busy_count == 0
    assert all(os.path.exists(f"/proc/{pid}") for pid in pool.worker_pids())
    assert pool.describe()["backend"] in ("local", "dask-local")


@pytest.mark.timeout(90)
def test_results_and_exceptions_come_back_through_the_futures(make_pool):
    pool = make_pool(2)
    assert pool.submit(operator.add, 2, 3).result(timeout=30) == 5
    with pytest.raises(ValueError):
        pool.submit(int, "not a number").result(timeout=30)
    assert pool.stats().tasks_done >= 1


@pytest.mark.timeout(90)
def test_a_worker_that_dies_fails_its_task_with_a_pool_error_and_the_pool_goes_on(make_pool):
    pool = make_pool(1)
    crashed = pool.submit(os._exit, 3)
    assert isinstance(crashed.exception(timeout=40), PoolError)
    assert pool.submit(abs, -7).result(timeout=40) == 7
    assert pool.stats().died == 1


@pytest.mark.timeout(90)
def test_a_task_past_its_time_limit_fails_with_task_timeout_and_others_finish(make_pool):
    pool = make_pool(2, task_timeout=1.5)
    hung, fine = pool.submit(time.sleep, 60), pool.submit(abs, -7)
    wait([hung, fine], timeout=40)
    assert isinstance(hung.exception(), TaskTimeout)
    assert fine.result() == 7 and pool.stats().timeouts == 1


@pytest.mark.timeout(90)
def test_slots_bound_the_work_in_flight_and_resize_changes_the_pool(make_pool):
    pool = make_pool(1)
    assert pool.free_slots() > 0 and pool.wait_for_slot(timeout=5)
    futures = []
    while pool.free_slots() > 0:
        futures.append(pool.submit(time.sleep, 0.2))
    assert not pool.wait_for_slot(timeout=0.01) or pool.free_slots() > 0
    assert pool.wait_for_slot(timeout=30)
    pool.resize(2)
    assert pool.target_size == 2
    wait_until(lambda: pool.live_size == 2)
    wait(futures, timeout=30)
    assert all(f.exception() is None for f in futures)


@pytest.mark.timeout(90)
def test_shutdown_with_cancel_futures_returns_promptly_and_refuses_new_work(make_pool):
    pool = make_pool(1)
    futures = [pool.submit(time.sleep, 0.3) for _ in range(pool.free_slots() + 4)]
    pool.shutdown(wait=True, cancel_futures=True)
    _, not_done = wait(futures, timeout=10)  # a cancelled future must count as done for wait() too
    assert not not_done and any(f.cancelled() for f in futures)
    with pytest.raises(RuntimeError):
        pool.submit(abs, -1)
