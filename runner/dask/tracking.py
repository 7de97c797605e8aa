"""The two threads behind a DaskPool: the results thread, which completes the master's futures
as Dask finishes tasks (one gather per batch), and the watch thread, which follows the
workers (count, threads, deaths, init reports) and fails and restarts a task past its deadline.

They share the pool's state under its lock; `ClusterTracking` declares that state, and
`DaskPool` (runner/dask/pool.py) sets it up, starts the threads and owns the lifecycle.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from runner.dask.futures import Counters, Dropped, Flight, outcome, resolve, task_error
from runner.dask.worker import ClusterLost, running_for
from runner.pool.errors import PoolBroken, PoolError, TaskTimeout

log = logging.getLogger("runner.dask")

WATCH_EVERY_S = 0.25
NO_WORKERS_GRACE_S = 120.0


def quietly(call: Callable[..., Any], *args: Any) -> None:
    """Run a clean-up call; a failure is logged, never raised (the pool is closing anyway)."""
    try:
        call(*args)
    except Exception as exc:
        log.warning("dask: %s failed: %s", getattr(call, "__name__", call), exc)


class ClusterTracking:
    """The results and watch threads' half of DaskPool (the lock is held where a name says so)."""

    token: str
    task_timeout: float | None
    clock: Callable[[], float]
    _lock: threading.Lock
    _changed: threading.Condition
    _flights: dict[str, Flight]
    _counts: Counters
    _threads: dict[str, int]
    _pids: dict[str, int]
    _client: Any
    _completed: Any
    _shutdown: bool
    _broken: PoolError | None
    _no_workers_since: float | None

    def _collect(self) -> None:
        """The results thread: complete futures as Dask finishes them, one gather per batch."""
        completed = self._completed
        while True:
            with completed.thread_condition:
                if not completed.has_ready():
                    completed.thread_condition.wait(0.1)
            if completed.has_ready():
                self._complete_batch(completed.next_batch(block=False))
            with self._lock:
                if self._shutdown and not self._flights:
                    return

    def _complete_batch(self, batch: list[Any]) -> None:
        finished = [f for f in batch if f.status == "finished"]
        try:
            values = dict(zip(map(id, finished), self._client.gather(finished), strict=False)) if finished else {}
        except Exception:
            values = {}
        for dask_future in batch:
            if id(dask_future) in values:
                self._complete(dask_future, values[id(dask_future)], None)
            else:
                self._complete(dask_future, *outcome(dask_future))

    def _complete(self, dask_future: Any, value: Any, error: BaseException | None) -> None:
        with self._lock:
            flight = self._flights.pop(dask_future.key, None)
            if flight is None:
                return
            if error is None:
                self._counts.tasks_done += 1
                self._add_busy(value)
            self._changed.notify_all()
        if isinstance(error, Dropped):
            error = ClusterLost(f"the Dask cluster dropped {flight.task_repr}")
        elif error is not None:
            error = task_error(flight.task_repr, error)
        resolve(flight.future, value, error)

    def _add_busy(self, result: Any) -> None:
        pid, busy = getattr(result, "worker_pid", 0), getattr(result, "busy_s", 0.0)
        if pid:
            self._counts.busy_s[pid] = self._counts.busy_s.get(pid, 0.0) + busy

    def _watch(self) -> None:
        """Worker count, deaths and deadlines, every WATCH_EVERY_S."""
        while True:
            with self._lock:
                self._changed.wait_for(lambda: self._shutdown, WATCH_EVERY_S)
                if self._shutdown:
                    return
            try:
                self._refresh_workers()
                self._expire_overdue()
            except Exception as exc:
                log.warning("dask: cannot reach the scheduler: %s", exc)
                self._note_workers({})

    def _refresh_workers(self) -> None:
        self._note_workers(dict(self._client.nthreads()))

    def _note_workers(self, threads: dict[str, int]) -> None:
        with self._lock:
            gone = set(self._threads) - set(threads)
            for address in gone:
                if self._counts.expected_departures > 0:
                    self._counts.expected_departures -= 1
                else:
                    self._counts.died += 1
                    log.warning("dask: worker %s left the cluster unexpectedly", address)
            self._threads = threads
            now = self.clock()
            if threads:
                self._no_workers_since = None
            elif self._no_workers_since is None:
                self._no_workers_since = now
            elif now - self._no_workers_since > NO_WORKERS_GRACE_S and self._broken is None:
                self._broken = PoolBroken(f"no Dask worker for {NO_WORKERS_GRACE_S:.0f} s")
            self._changed.notify_all()

    def _expire_overdue(self) -> None:
        """Fail tasks that have run past task_timeout on their worker, and restart that worker.
        Only tasks submitted longer ago than the timeout are asked about, so this is rare."""
        if self.task_timeout is None:
            return
        now, limit = self.clock(), self.task_timeout
        with self._lock:
            candidates = {k: f for k, f in self._flights.items() if now - f.submitted > limit}
        if not candidates:
            return
        answers = self._client.run(running_for, list(candidates), on_error="return")
        hung = sorted(w for w, ran in answers.items() if isinstance(ran, dict) and any(s > limit for s in ran.values()))
        late = {k for w in hung for k, s in answers[w].items() if s > limit}
        overdue = [candidates[k] for k in late]
        if not overdue:
            return
        with self._lock:
            for flight in overdue:
                self._flights.pop(flight.dask_future.key, None)
            self._counts.timeouts += len(overdue)
            self._counts.expected_departures += len(hung)
            self._changed.notify_all()
        self._client.cancel([f.dask_future for f in overdue])
        for flight in overdue:
            resolve(flight.future, None, TaskTimeout(flight.task_repr, self.task_timeout))
        if hung:
            log.warning("dask: restarting %s: a task ran past %s s", ", ".join(hung), self.task_timeout)
            quietly(self._client.restart_workers, hung)

    def _on_init_event(self, event: Any) -> None:
        _, message = event
        if isinstance(message, dict) and message.get("token") == self.token:
            self._record_inits({message.get("worker", "?"): message})

    def _record_inits(self, reports: Mapping[str, Any]) -> None:
        with self._lock:
            for address, report in reports.items():
                if report:
                    self._counts.inits[(address, report["pid"])] = report["init_s"]
                    self._pids[address] = report["pid"]
