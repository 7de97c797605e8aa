"""DaskPool: the sages on a Dask distributed cluster, behind SagePool's interface.

    master process                                             Dask cluster
    ──────────────                                             ────────────
    start() ──register SagePlugin (index bytes, templates)──>  every worker, now and when it
                                                               joins: write them to its local
                                                               directory, sage.initialize()
    submit() ──client.submit(run_task, priority, key)──────>   scheduler (priority order)
       │ (only while wait_for_slot allows:                         │
       │  INFLIGHT_PER_THREAD tasks per worker thread)             ▼
       ▼                                                       worker: sage.work(task)
    Future <─set_result── results thread <── as_completed <────────┘
                             (KilledWorker -> DaskWorkerLost, transient: the master retries)
    watch thread: worker count and threads, deaths, task deadlines (restart a hung worker)

Why it is built this way:
- The master (queue, collector, git writer, publisher, journal, report) does not change: it
  sees the same methods as SagePool and concurrent futures.
- Workers need nothing but the installed package: the plugin carries the repository
  indexes and the user's templates, so no file of the master has to be shared. For a
  repository given as a URL each worker host clones it, commits and pushes (runner.dask.git).
- A lost worker is Dask's to handle (it reschedules the task); when Dask gives up the
  future fails with a transient error, and the master's retry policy takes over.
- With `--backend dask` the cluster is someone else's: resize() only records what it
  would have asked for. With `--backend dask-local` it owns a LocalCluster and scales it.
- One run per cluster at a time: a worker process holds one sage state.

Dask is imported only when this module is, and runner imports it only for a Dask backend.
The worker side (plugin, payload, task wrapper) is runner/dask/worker.py; the results and
watch threads are runner/dask/tracking.py.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from runner.core.models import Task
from runner.dask.futures import Counters, Flight, task_identity
from runner.dask.git import WorkerGitSettings
from runner.dask.tracking import ClusterTracking, quietly
from runner.dask.worker import (
    INIT_TOPIC,
    PLUGIN_NAME,
    SagePayload,
    SagePlugin,
    init_report,
    run_task,
)
from runner.pool.errors import InitializerError, PoolBroken, PoolError
from runner.pool.types import PoolStats
from runner.sage import worker as sage

log = logging.getLogger("runner.dask")

INFLIGHT_PER_THREAD = 8
START_TIMEOUT_S = 120.0


class DaskPool(ClusterTracking):
    """SagePool's interface on Dask. `scheduler` is an address (external cluster) or None
    (a LocalCluster of `workers` single-threaded worker processes, owned and scaled here)."""

    def __init__(
        self,
        workers: int,
        setup: sage.SageSetup,
        *,
        scheduler: str | None = None,
        task_timeout: float | None = None,
        inflight_per_thread: int = INFLIGHT_PER_THREAD,
        start_timeout_s: float = START_TIMEOUT_S,
        worker_git: WorkerGitSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if workers < 1 or inflight_per_thread < 1:
            raise ValueError("workers and inflight_per_thread must be >= 1")
        self.setup = setup
        self.worker_git = worker_git
        self.scheduler = scheduler
        self.task_timeout = task_timeout
        self.inflight_per_thread = inflight_per_thread
        self.start_timeout_s = start_timeout_s
        self.clock = clock
        self.token = uuid.uuid4().hex[:12]
        self.requested_sizes: list[tuple[float, int]] = []
        self._target = workers
        self._threads: dict[str, int] = {}
        self._pids: dict[str, int] = {}
        self._flights: dict[str, Flight] = {}
        self._counts = Counters()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._cluster: Any = None
        self._client: Any = None
        self._completed: Any = None
        self._threads_started: list[threading.Thread] = []
        self._broken: PoolError | None = None
        self._shutdown = False
        self._no_workers_since: float | None = None
        self._t0 = clock()

    # ---- lifecycle ------------------------------------------------------------------------

    def start(self, wait: bool = True, timeout: float | None = None) -> None:
        """Connect (or start a LocalCluster), initialize the sage on every worker, and
        start the results and watch threads. Raises InitializerError or PoolBroken."""
        if self._client is not None:
            return
        from distributed import as_completed

        try:
            payload = SagePayload.from_setup(
                self.setup, self.token, ignore_sigint=self.scheduler is None, git=self.worker_git
            )
        except (OSError, ValueError) as exc:
            raise InitializerError(f"cannot prepare the sage for Dask workers: {exc}") from None
        self._client = self._connect(timeout or self.start_timeout_s)
        try:
            self._prepare_workers(payload)
        except Exception as exc:
            self._close_client()
            raise InitializerError(f"{type(exc).__name__}: {exc}") from None
        self._completed = as_completed([])
        for target, name in ((self._collect, "dask-results"), (self._watch, "dask-watch")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads_started.append(thread)

    def _prepare_workers(self, payload: SagePayload) -> None:
        """Register the plugin (its setup runs on every current worker before this returns)."""
        client = self._client
        client.subscribe_topic(INIT_TOPIC, self._on_init_event)
        register = getattr(client, "register_plugin", None) or client.register_worker_plugin
        register(SagePlugin(payload), name=PLUGIN_NAME)
        self._record_inits(client.run(init_report, self.token))
        self._refresh_workers()

    def _connect(self, timeout: float) -> Any:
        from distributed import Client, LocalCluster

        try:
            if self.scheduler is None:
                self._cluster = LocalCluster(
                    n_workers=self._target,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                client = Client(self._cluster)
            else:
                client = Client(self.scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            where = self.scheduler or "a local cluster"
            raise PoolBroken(f"cannot reach the Dask scheduler at {where}: {exc}") from None
        try:
            client.wait_for_workers(1 if self.scheduler else self._target, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            self._client = client
            self._close_client()
            raise PoolBroken(
                f"no Dask worker joined {self.scheduler or 'the local cluster'} "
                f"within {timeout:.0f} s ({type(exc).__name__})"
            ) from None
        return client

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work; with `cancel_futures` drop what is in flight, else (with
        `wait`) let it finish. Then unregister the plugin and close the client and cluster."""
        with self._lock:
            if self._shutdown:
                return
            self._shutdown = True
            dropped = list(self._flights.values()) if cancel_futures else []
            for flight in dropped:
                self._flights.pop(flight.dask_future.key, None)
            self._changed.notify_all()
            if wait and not cancel_futures:
                self._changed.wait_for(lambda: not self._flights or self._broken is not None)
        if dropped and self._client is not None:
            quietly(self._client.cancel, [f.dask_future for f in dropped])
        for flight in dropped:
            if flight.future.cancel():
                flight.future.set_running_or_notify_cancel()  # so wait() and as_completed() see it done
        for thread in self._threads_started:
            if thread is not threading.current_thread():
                thread.join(timeout=10)
        self._close_client()

    def _close_client(self) -> None:
        client, cluster = self._client, self._cluster
        if client is not None:
            if self.scheduler is not None:
                quietly(client.unregister_worker_plugin, PLUGIN_NAME)
            quietly(client.close)
        if cluster is not None:
            quietly(cluster.close)
        self._client = self._cluster = None

    # ---- the executor interface -------------------------------------------------------------

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Send fn(*args, **kwargs) to the cluster; a runner Task's priority goes with it."""
        task = args[0] if args and isinstance(args[0], Task) else None
        key, priority, task_repr = task_identity(task, fn)
        future: Future = Future()
        with self._lock:
            self._check_usable()
            client = self._client
        dask_future = client.submit(run_task, self.token, key, fn, args, kwargs, key=key, priority=priority, pure=False)
        with self._lock:
            late = self._shutdown
            if not late:
                self._flights[dask_future.key] = Flight(future, dask_future, task_repr, self.clock())
        if late:
            quietly(client.cancel, [dask_future])
            raise RuntimeError("cannot schedule new futures after shutdown")
        self._completed.add(dask_future)
        return future

    def free_slots(self) -> int:
        with self._lock:
            return self._free_slots()

    def wait_for_slot(self, timeout: float | None = None, at_least: int = 1) -> bool:
        """Block until another task may be sent; False on timeout or shutdown. Raises PoolBroken.
        (`at_least` is for the local pool's burst refills; Dask's own scheduling batches.)"""
        with self._lock:
            self._changed.wait_for(
                lambda: self._broken is not None or self._shutdown or self._free_slots() > 0, timeout
            )
            if self._broken is not None:
                raise self._broken
            return not self._shutdown and self._free_slots() > 0

    def resize(self, n: int) -> None:
        """Scale the LocalCluster; on an external cluster only record the wish."""
        if n < 1:
            raise ValueError("a pool needs at least one worker")
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot resize a pool after shutdown")
            if self._cluster is None:
                self.requested_sizes.append((round(self.clock() - self._t0, 3), n))
                log.info("dask: would scale the external cluster to %d workers (not owned; recorded)", n)
                return
            self._counts.expected_departures += max(0, self._target - n)
            self._target = n
            cluster = self._cluster
        cluster.scale(n)

    @property
    def target_size(self) -> int:
        with self._lock:
            return self._target if self._cluster is not None else len(self._threads)

    @property
    def live_size(self) -> int:
        with self._lock:
            return len(self._threads)

    @property
    def busy_count(self) -> int:
        with self._lock:
            return min(len(self._threads), len(self._flights))

    @property
    def idle_count(self) -> int:
        with self._lock:
            return max(0, len(self._threads) - len(self._flights))

    def worker_pids(self) -> list[int]:
        """Pids of the LocalCluster's worker processes; [] for an external cluster."""
        with self._lock:
            if self._cluster is None:
                return []
            return [self._pids[a] for a in self._threads if a in self._pids]

    def stats(self) -> PoolStats:
        with self._lock:
            c = self._counts
            return PoolStats(
                started=len(c.inits),
                died=c.died,
                recycled=0,
                timeouts=c.timeouts,
                init_times_s=list(c.inits.values()),
                tasks_done=c.tasks_done,
                busy_s=dict(c.busy_s),
            )

    def describe(self) -> dict[str, Any]:
        """What the report could show about the backend."""
        with self._lock:
            return {
                "backend": "dask" if self.scheduler else "dask-local",
                "scheduler": self.scheduler,
                "workers": len(self._threads),
                "threads": sum(self._threads.values()),
                "git_on_workers": sorted(k or "(default)" for k in getattr(self.worker_git, "remotes", ())),
                "requested_sizes": list(self.requested_sizes),
            }

    # ---- internals (the lock is held where a name says so) ----------------------------------

    def _free_slots(self) -> int:
        return self.inflight_per_thread * sum(self._threads.values()) - len(self._flights)

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise self._broken
        if self._shutdown or self._client is None:
            raise RuntimeError("cannot schedule new futures after shutdown (or before start)")
