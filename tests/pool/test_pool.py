"""SagePool with real worker processes: crashes, timeouts, recycling, resizing, shutdown."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import pool_tasks as tasks
import psutil
import pytest

from runner.pool import (
    ArgumentsNotPicklable,
    InitializerError,
    PoolBroken,
    PoolEvent,
    RemoteTraceback,
    ResultNotPicklable,
    SagePool,
    TaskTimeout,
    WorkerCrashed,
)
from runner.pool.errors import PoolError


@pytest.fixture
def make_pool() -> Iterator[Callable[..., SagePool]]:
    """Build pools that are torn down even when a test fails: sages killed, thread joined."""
    pools: list[SagePool] = []

    def make(workers: int = 2, *args: object, **kwargs: object) -> SagePool:
        pool = SagePool(workers, *args, **kwargs)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        for pid in pool.worker_pids():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        pool.shutdown(wait=True, cancel_futures=True)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def logged(path: str) -> dict[int, int]:
    """Task id -> pid that ran it, from a log_id file; fails if any id ran twice."""
    lines = [tuple(map(int, line.split())) for line in Path(path).read_text().splitlines()]
    ran = dict(lines)
    assert len(ran) == len(lines), Counter(task_id for task_id, _ in lines).most_common(3)
    return ran


def submit_while_slots(pool: SagePool, calls: list[tuple]) -> list[Future]:
    """Submit like the master does: one at a time, only while the pool has a free slot."""
    futures = []
    for fn, *args in calls:
        while pool.free_slots() <= 0:
            pool.wait_for_slot(timeout=5)
        futures.append(pool.submit(fn, *args))
    return futures


@pytest.mark.timeout(20)
def test_start_initializes_every_sage_before_the_first_task(make_pool, tmp_path):
    events: list[PoolEvent] = []
    pool = make_pool(2, tasks.record_init, (str(tmp_path), 0.05), on_event=events.append)
    pool.start()
    pids = pool.worker_pids()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"init-{pid}" for pid in pids)
    assert (pool.live_size, pool.idle_count, pool.busy_count) == (2, 2, 0)
    stats = pool.stats()
    assert stats.started == 2 and len(stats.init_times_s) == 2
    assert all(t >= 0.05 for t in stats.init_times_s)
    assert pool.submit(tasks.pid).result(timeout=5) in pids
    wait_until(lambda: sum(e.kind == "ready" for e in events) == 2)
    assert all(e.detail["init_s"] >= 0.05 for e in events if e.kind == "ready")


@pytest.mark.timeout(20)
def test_results_and_exceptions_round_trip(make_pool):
    pool = make_pool(2)
    assert pool.submit(tasks.add, 2, b=3).result(timeout=10) == 5
    error = pool.submit(tasks.fail, "missing").exception(timeout=5)
    assert type(error) is KeyError and error.args == ("missing",)
    assert isinstance(error.__cause__, RemoteTraceback)
    assert "raise KeyError(message)" in str(error.__cause__)
    assert list(pool.map(tasks.add, range(20), range(20))) == [2 * i for i in range(20)]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("how", ["sigkill", "exit", "segv"])
def test_a_dying_worker_fails_only_its_own_task(make_pool, tmp_path, how):
    pool = make_pool(2, inflight_per_worker=2)
    pool.start()
    log = str(tmp_path / "done.log")
    announce = str(tmp_path / "victim.pid")
    if how == "sigkill":
        victim = pool.submit(tasks.announce_and_sleep, announce, 60)
    else:
        victim = pool.submit(tasks.die, how, 0.3)
    # each task goes to the least loaded sage: id 1 waits in the victim's pipe, unread
    others = [pool.submit(tasks.log_id, log, i, 0.05) for i in range(30)]
    if how == "sigkill":
        os.kill(int(Path(tasks.wait_for_file(announce)).read_text()), signal.SIGKILL)
    error = victim.exception(timeout=15)
    assert isinstance(error, WorkerCrashed) and error.transient
    assert error.exitcode == {"sigkill": -signal.SIGKILL, "exit": 3, "segv": -signal.SIGSEGV}[how]
    assert [f.result(timeout=15) for f in others] == list(range(30))
    ran = logged(log)
    assert sorted(ran) == list(range(30)) and ran[1] != error.pid
    assert pool.wait_ready(timeout=10) and pool.live_size == 2
    assert error.pid not in pool.worker_pids()
    assert pool.stats().died == 1 and pool.stats().started == 3


@pytest.mark.timeout(30)
def test_a_task_past_its_timeout_is_killed_with_its_children(make_pool, tmp_path):
    events: list[PoolEvent] = []
    pool = make_pool(1, task_timeout=1.0, on_event=events.append)
    pool.start()
    report = str(tmp_path / "children")
    hung = pool.submit(tasks.spawn_children_and_hang, report)
    queued = pool.submit(tasks.add, 1, 1)
    children = [int(pid) for pid in Path(tasks.wait_for_file(report)).read_text().split()]
    error = hung.exception(timeout=15)
    assert isinstance(error, TaskTimeout) and error.transient and error.timeout == 1.0
    assert "spawn_children_and_hang" in str(error)
    assert queued.result(timeout=10) == 2
    wait_until(lambda: all(gone(child) for child in children))
    assert pool.wait_ready(timeout=10) and pool.live_size == 1
    assert pool.stats().timeouts == 1
    assert [e.kind for e in events if e.kind in ("timeout", "died")] == ["timeout", "died"]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(
    "task", [tasks.return_lambda, tasks.return_lock, tasks.raise_unpicklable, tasks.raise_unrebuildable]
)
def test_an_unpicklable_result_fails_only_its_task(make_pool, task):
    pool = make_pool(1)
    before = pool.submit(tasks.pid).result(timeout=10)
    error = pool.submit(task).exception(timeout=5)
    assert isinstance(error, ResultNotPicklable) and not error.transient
    assert pool.submit(tasks.pid).result(timeout=5) == before
    assert pool.stats().died == 0


@pytest.mark.timeout(20)
def test_unpicklable_arguments_fail_the_future_and_the_pool_stays_healthy(make_pool):
    pool = make_pool(1)
    error = pool.submit(tasks.add, threading.Lock(), 1).exception(timeout=1)
    assert isinstance(error, ArgumentsNotPicklable) and "add" in str(error)
    refused = pool.submit(tasks.add, tasks.BreaksOnLoad()).exception(timeout=10)
    assert isinstance(refused, RuntimeError) and "refusing" in str(refused)
    assert pool.submit(tasks.add, 1, 2).result(timeout=5) == 3
    assert pool.stats().died == 0


@pytest.mark.timeout(20)
@pytest.mark.parametrize("how", ["raise", "exit"])
def test_a_failing_initializer_breaks_the_pool_after_a_few_tries(make_pool, how):
    events: list[PoolEvent] = []
    pool = make_pool(1, tasks.failing_init, (how,), max_init_failures=3, on_event=events.append)
    queued = pool.submit(tasks.add, 1, 1)
    with pytest.raises(InitializerError) as caught:
        pool.start()
    if how == "raise":
        assert "ValueError: no configuration found" in str(caught.value)
        assert "failing_init" in str(caught.value)
        assert 'raise ValueError("no configuration found")' in caught.value.worker_traceback
    else:
        assert "exited with code 7" in str(caught.value)
    broken = queued.exception(timeout=5)
    assert isinstance(broken, PoolBroken) and isinstance(broken.__cause__, InitializerError)
    with pytest.raises(PoolBroken):
        pool.submit(tasks.add, 1, 1)
    with pytest.raises(PoolBroken):
        pool.wait_for_slot(timeout=1)
    with pytest.raises(InitializerError):
        pool.start()
    assert pool.wait_ready(timeout=1) is False
    time.sleep(0.5)
    assert pool.stats().started == 3
    failures = [e.at for e in events if e.kind == "init_failed"]
    assert len(failures) == 3
    assert failures[1] - failures[0] >= 0.1 and failures[2] - failures[1] >= 0.2


@pytest.mark.timeout(20)
def test_a_worker_is_recycled_after_max_tasks(make_pool):
    events: list[PoolEvent] = []
    pool = make_pool(1, max_tasks_per_worker=3, on_event=events.append)
    pids = [pool.submit(tasks.pid).result(timeout=10) for _ in range(7)]
    assert sorted(Counter(pids).values()) == [1, 3, 3]
    assert pids[0] == pids[2] != pids[3] == pids[5] != pids[6]
    wait_until(lambda: pool.stats().recycled == 2)
    assert {e.detail["reason"] for e in events if e.kind == "recycle"} == {"max_tasks"}
    assert pool.wait_ready(timeout=10) and pool.live_size == 1


@pytest.mark.timeout(20)
def test_a_worker_whose_memory_grows_too_big_is_recycled(make_pool):
    events: list[PoolEvent] = []
    pool = make_pool(1, max_worker_rss=150 * 2**20, rss_check_interval=0.05, on_event=events.append)
    small = pool.submit(tasks.pid).result(timeout=10)
    assert pool.submit(tasks.grow, 200).result(timeout=10) == small
    wait_until(lambda: pool.worker_pids() not in ([], [small]))
    assert pool.submit(tasks.pid).result(timeout=10) != small
    recycle = [e for e in events if e.kind == "recycle"]
    assert recycle[0].pid == small and recycle[0].detail["reason"] == "rss"
    assert recycle[0].detail["rss"] > 150 * 2**20
    wait_until(lambda: gone(small))


@pytest.mark.timeout(40)
def test_resizing_under_load_loses_nothing_and_runs_nothing_twice(make_pool, tmp_path):
    events: list[PoolEvent] = []
    pool = make_pool(2, on_event=events.append)
    pool.start()
    log = str(tmp_path / "ids.log")
    futures: list[Future] = []
    plan = ((4, range(0, 40)), (1, range(40, 60)), (3, range(60, 100)), (2, range(100, 120)))
    for size, ids in plan:
        futures += submit_while_slots(pool, [(tasks.log_id, log, i, 0.01) for i in ids])
        pool.resize(size)
        assert pool.target_size == size
    assert [f.result(timeout=20) for f in futures] == list(range(120))
    assert sorted(logged(log)) == list(range(120))
    assert pool.wait_ready(timeout=10) and pool.live_size == 2
    kinds = Counter(e.kind for e in events)
    assert kinds["resize"] == 4 and kinds["retire"] >= 3 and kinds["died"] == 0


@pytest.mark.timeout(20)
def test_shrinking_retires_idle_sages_first_and_busy_ones_after_their_task(make_pool, tmp_path):
    pool = make_pool(3)
    pool.start()
    announce, gate = str(tmp_path / "pid"), str(tmp_path / "gate")
    busy = pool.submit(tasks.announce_and_gate, announce, gate)
    busy_pid = int(Path(tasks.wait_for_file(announce)).read_text())
    idle = [pid for pid in pool.worker_pids() if pid != busy_pid]
    pool.resize(1)
    wait_until(lambda: all(gone(pid) for pid in idle))
    assert pool.worker_pids() == [busy_pid] and not busy.done()
    Path(gate).touch()
    assert busy.result(timeout=10) == busy_pid
    assert pool.submit(tasks.pid).result(timeout=10) == busy_pid


@pytest.mark.timeout(20)
def test_free_slots_and_wait_for_slot_track_in_flight_work(make_pool, tmp_path):
    pool = make_pool(2, inflight_per_worker=2)
    pool.start()
    assert pool.free_slots() == 4
    gate = str(tmp_path / "gate")
    futures = [pool.submit(tasks.gated, gate, i) for i in range(4)]
    assert pool.free_slots() == 0
    assert (pool.busy_count, pool.idle_count) == (2, 0)
    assert pool.wait_for_slot(timeout=0.05) is False
    extra = pool.submit(tasks.add, 5, 5)
    assert pool.free_slots() == 0
    Path(gate).touch()
    assert pool.wait_for_slot(timeout=10) is True
    assert [f.result(timeout=10) for f in futures] == [0, 1, 2, 3]
    assert extra.result(timeout=10) == 10
    wait_until(lambda: pool.free_slots() == 4)


@pytest.mark.timeout(30)
def test_wait_for_slot_can_wait_for_several_free_slots(make_pool, tmp_path):
    pool = make_pool(1, inflight_per_worker=4)
    pool.start()
    gates = [tmp_path / f"gate{i}" for i in range(4)]
    futures = [pool.submit(tasks.gated, str(gate), i) for i, gate in enumerate(gates)]
    gates[0].touch()
    assert futures[0].result(timeout=10) == 0
    waited_from = time.monotonic()
    assert pool.wait_for_slot(timeout=0.3, at_least=2) is True, "one slot is free"
    assert time.monotonic() - waited_from >= 0.3, "but two were asked for"
    gates[1].touch()
    assert pool.wait_for_slot(timeout=10, at_least=2) is True
    assert pool.free_slots() >= 2
    for gate in gates[2:]:
        gate.touch()
    assert [f.result(timeout=10) for f in futures] == [0, 1, 2, 3]
    assert pool.wait_for_slot(timeout=10, at_least=99) is True, "never more than the pool holds"


@pytest.mark.timeout(20)
def test_shutdown_waits_for_queued_and_in_flight_tasks(make_pool, tmp_path):
    pool = make_pool(1)
    futures = [pool.submit(tasks.log_id, str(tmp_path / "log"), i, 0.05) for i in range(6)]
    pool.start()
    pids = pool.worker_pids()
    pool.shutdown(wait=True)
    assert [f.result(timeout=0) for f in futures] == list(range(6))
    assert all(gone(pid) for pid in pids) and pool.live_size == 0
    assert pool.wait_for_slot(timeout=1) is False
    with pytest.raises(RuntimeError):
        pool.submit(tasks.add, 1, 1)


@pytest.mark.timeout(20)
def test_shutdown_with_cancel_futures_cancels_what_has_not_started(make_pool, tmp_path):
    pool = make_pool(1, inflight_per_worker=1)
    pool.start()
    gate = str(tmp_path / "gate")
    running = pool.submit(tasks.gated, gate, 1)
    queued = [pool.submit(tasks.add, i, 0) for i in range(5)]
    pool.shutdown(wait=False, cancel_futures=True)
    assert all(f.cancelled() for f in queued)
    Path(gate).touch()
    assert running.result(timeout=10) == 1
    pool.shutdown(wait=True)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_other_start_methods_work(make_pool, method):
    pool = make_pool(1, mp_context=multiprocessing.get_context(method))
    assert pool.submit(tasks.add, 1, 2).result(timeout=10) == 3
    assert isinstance(pool.submit(tasks.die, "exit", 0).exception(timeout=10), WorkerCrashed)
    assert pool.submit(tasks.add, 3, 4).result(timeout=10) == 7


@pytest.mark.timeout(20)
def test_workers_ignore_sigint(make_pool, tmp_path):
    pool = make_pool(1)
    announce = str(tmp_path / "pid")
    future = pool.submit(tasks.announce_and_sleep, announce, 0.3)
    os.kill(int(Path(tasks.wait_for_file(announce)).read_text()), signal.SIGINT)
    assert future.result(timeout=10) is None
    assert pool.stats().died == 0


@pytest.mark.timeout(20)
def test_large_arguments_and_results_do_not_block_the_pipes(make_pool):
    pool = make_pool(2, inflight_per_worker=2)
    payloads = [bytes([i]) * (3 * 2**20) for i in range(8)]
    futures = [pool.submit(tasks.echo_size, p) for p in payloads]
    small = [pool.submit(tasks.add, i, 1) for i in range(20)]
    assert [f.result(timeout=15) for f in futures] == [p[::-1] for p in payloads]
    assert [f.result(timeout=15) for f in small] == list(range(1, 21))


def test_errors_pickle_and_say_whether_a_retry_may_help():
    errors: list[PoolError] = [
        WorkerCrashed("f(1)", 123, -9),
        TaskTimeout("f(1)", 2.5),
        ResultNotPicklable("no"),
        ArgumentsNotPicklable("no"),
        InitializerError("init failed: ValueError: x", "tb"),
        PoolBroken("broken"),
    ]
    for error in errors:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.args == error.args
    assert [type(e).transient for e in errors] == [True, True, False, False, False, False]
    assert "SIGKILL" in str(WorkerCrashed("f(1)", 123, -9))
