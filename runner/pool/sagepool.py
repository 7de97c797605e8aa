"""SagePool: a resizable executor of pre-initialized sages; the package docstring draws its data flow."""

from __future__ import annotations

import atexit
import contextlib
import logging
import math
import os
import pickle
import select
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Executor, Future, InvalidStateError
from typing import Any

from runner.pool.child import PROTOCOL
from runner.pool.core import PoolCore
from runner.pool.errors import ArgumentsNotPicklable, PoolBroken
from runner.pool.handle import Task
from runner.pool.start import default_context
from runner.pool.types import PoolConfig, PoolEvent, PoolStats, StartContext

log = logging.getLogger(__name__)
_live_pools: weakref.WeakSet[SagePool] = weakref.WeakSet()


class Poller:
    """The manager's wait on pipes, sentinels and its wake-up pipe, with the poll set kept
    between waits: `multiprocessing.connection.wait` builds a new selector on every call,
    which the manager makes once per batch of replies."""

    def __init__(self) -> None:
        self._poll = select.poll()
        self._by_fd: dict[int, object] = {}
        self._source: list[object] | None = None

    def wait(self, waitables: list[object], timeout: float | None) -> list[object]:
        if waitables is not self._source:
            self._register(waitables)
        millis = None if timeout is None else max(0, math.ceil(timeout * 1000))
        return [self._by_fd[fd] for fd, _ in self._poll.poll(millis) if fd in self._by_fd]

    def _register(self, waitables: list[object]) -> None:
        for fd in self._by_fd:
            self._poll.unregister(fd)
        self._by_fd = {(w if isinstance(w, int) else w.fileno()): w for w in waitables}  # type: ignore[attr-defined]
        for fd in self._by_fd:
            self._poll.register(fd, select.POLLIN)
        self._source = waitables


class SagePool(Executor):
    """A process pool whose workers are initialized before work arrives and replaced when
    they crash, hang, run too many tasks or grow too big.

    task_timeout: seconds a task may run (from when its sage starts it); past it the sage
    and its descendants are killed and the task fails with TaskTimeout.
    max_tasks_per_worker / max_worker_rss: recycle a sage after that many tasks / once its
    RSS (sampled every rss_check_interval s) exceeds that many bytes.
    inflight_per_worker: tasks sent ahead into each sage's pipe (1 = none waiting there).
    max_init_failures: consecutive initializer failures (respawns back off from
    init_backoff_s, doubling) after which the pool is broken.
    on_event: called with a PoolEvent from the pool's own thread; must be cheap.
    """

    def __init__(
        self,
        workers: int,
        initializer: Callable[..., object] | None = None,
        initargs: tuple = (),
        *,
        task_timeout: float | None = None,
        max_tasks_per_worker: int | None = None,
        max_worker_rss: int | None = None,
        inflight_per_worker: int = 2,
        max_init_failures: int = 3,
        on_event: Callable[[PoolEvent], None] | None = None,
        mp_context: StartContext | None = None,
        rss_check_interval: float = 0.5,
        init_backoff_s: float = 0.1,
    ) -> None:
        if workers < 1 or inflight_per_worker < 1 or max_init_failures < 1:
            raise ValueError("workers, inflight_per_worker and max_init_failures must be >= 1")
        try:
            init_blob = pickle.dumps((initializer, initargs), PROTOCOL)
        except Exception as exc:
            message = f"initializer or initargs cannot be pickled: {exc!r}"
            raise ArgumentsNotPicklable(message) from exc
        name = getattr(initializer, "__qualname__", repr(initializer))
        config = PoolConfig(
            task_timeout,
            max_tasks_per_worker,
            max_worker_rss,
            inflight_per_worker,
            max_init_failures,
            rss_check_interval,
            init_backoff_s,
            name,
        )
        ctx = mp_context or default_context()
        self._core = PoolCore(config, ctx, init_blob, workers, self._wake)
        self._on_event = on_event
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._slots_wanted = 1
        self._thread: threading.Thread | None = None
        self._wake_r = self._wake_w = -1

    def start(self, wait: bool = True, timeout: float | None = None) -> None:
        """Spawn and initialize every sage; with `wait`, return once all are ready.
        Raises InitializerError if initialization keeps failing, TimeoutError on timeout."""
        core = self._core
        with self._lock:
            if core.broken is not None:
                raise core.init_error or core.broken
            self._ensure_running()
            if not wait:
                return
            ok = self._changed.wait_for(lambda: core.broken is not None or core.all_ready(), timeout)
            if core.broken is not None:
                raise core.init_error or core.broken
            if not ok:
                raise TimeoutError(f"sages not ready after {timeout} s")

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until target_size sages are initialized (after start, resize or a crash);
        False on timeout or if the pool is broken."""
        core = self._core
        with self._lock:
            self._changed.wait_for(lambda: core.broken is not None or core.all_ready(), timeout)
            return core.broken is None and core.all_ready()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        """Queue fn(*args, **kwargs). A call that cannot be pickled fails its future with
        ArgumentsNotPicklable. Raises PoolBroken or RuntimeError (after shutdown)."""
        future: Future = Future()
        try:
            blob = pickle.dumps((fn, args, kwargs), PROTOCOL)
        except Exception as exc:
            name = getattr(fn, "__qualname__", repr(fn))
            message = f"call to {name} cannot be pickled: {exc!r}"
            future.set_exception(ArgumentsNotPicklable(message))
            return future
        with self._lock:
            self._ensure_running()
            self._core.submit(Task(future, blob, fn, args))
        return future

    def resize(self, n: int) -> None:
        """Change the number of sages. Growing starts new sages at once; shrinking retires
        idle sages first and busy ones after their in-flight tasks. No task is cancelled."""
        if n < 1:
            raise ValueError("a pool needs at least one sage")
        with self._lock:
            if self._core.shutdown:
                raise RuntimeError("cannot resize a pool after shutdown")
            resized = PoolEvent("resize", None, {"from": self._core.target, "to": n})
            self._core.events.append(resized)
            self._core.target = n
            self._wake()

    def free_slots(self) -> int:
        """How many more submits keep every live sage at <= inflight_per_worker tasks."""
        with self._lock:
            return self._core.free_slots()

    def wait_for_slot(self, timeout: float | None = None, at_least: int = 1) -> bool:
        """Block until `at_least` slots are free (fewer if the pool never has that many);
        False on timeout or shutdown. Raises PoolBroken.

        Waiting for several lets the caller refill in bursts: the pool thread then wakes it
        once per few replies instead of once per reply."""
        core = self._core
        with self._lock:
            if not core.shutdown:
                self._ensure_running()
            self._slots_wanted = max(1, at_least)
            try:
                self._changed.wait_for(lambda: core.broken is not None or core.shutdown or self._enough_free(), timeout)
            finally:
                self._slots_wanted = 1
            if core.broken is not None:
                raise core.broken
            return not core.shutdown and core.free_slots() > 0

    def _enough_free(self) -> bool:
        free = self._core.free_slots()
        return free > 0 and (free >= self._slots_wanted or free >= self._core.capacity())

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work. Queued tasks still run unless `cancel_futures`; tasks already
        in a sage always finish. Then every sage exits."""
        with self._lock:
            self._core.shutdown = True
            cancelled = self._core.cancel_pending() if cancel_futures else []
            thread = self._thread
            self._wake()
            self._changed.notify_all()
        for task in cancelled:
            if task.future.cancel():
                task.future.set_running_or_notify_cancel()  # so wait() and as_completed() see it done
        if wait and thread is not None and thread is not threading.current_thread():
            thread.join()

    @property
    def target_size(self) -> int:
        with self._lock:
            return self._core.target

    @property
    def live_size(self) -> int:
        """Sages alive and counted towards target_size: initializing, idle or busy."""
        with self._lock:
            return len(self._core.live())

    @property
    def busy_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._core.live() if s.ready and s.inflight)

    @property
    def idle_count(self) -> int:
        with self._lock:
            return sum(1 for s in self._core.live() if s.ready and not s.inflight)

    def worker_pids(self) -> list[int]:
        """Pids of the live sages (retiring and dying ones excluded)."""
        with self._lock:
            return [s.pid for s in self._core.live()]

    def describe(self) -> dict[str, Any]:
        """What the report shows about the backend."""
        return {"backend": "local"}

    def stats(self) -> PoolStats:
        with self._lock:
            return self._core.snapshot_stats()

    # ---- the manager thread ---------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._core.broken is not None:
            raise self._core.broken
        if self._core.shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        if self._thread is None:
            self._wake_r, self._wake_w = os.pipe()
            os.set_blocking(self._wake_w, False)
            self._thread = threading.Thread(target=self._manage, name="sage-pool", daemon=True)
            self._thread.start()
            _live_pools.add(self)

    def _wake(self) -> None:
        if self._wake_w >= 0:
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_w, b"\0")

    def _manage(self) -> None:
        try:
            self._run_manager()
        except BaseException as exc:
            log.exception("sage pool manager failed")
            with self._lock:
                self._core.abandon(PoolBroken(f"pool manager failed: {exc!r}"))
                outbox, _ = self._core.take_deliveries()
                self._changed.notify_all()
            self._deliver(outbox, [])
        finally:
            with self._lock:
                os.close(self._wake_r)
                os.close(self._wake_w)
                self._wake_r = self._wake_w = -1

    def _run_manager(self) -> None:
        """Handle what woke us, maintain the pool, hand out results, sleep; until done."""
        core = self._core
        ready: list[object] = []
        poller = Poller()
        seen = None
        while True:
            with self._lock:
                if self._wake_r in ready:
                    os.read(self._wake_r, 4096)
                core.handle(ready)
                now = time.monotonic()
                core.maintain(now)
                state = core.state()
                if state != seen or self._enough_free():
                    self._changed.notify_all()
                    seen = state
                outbox, events = core.take_deliveries()
                done = core.finished()
                if not done:
                    waitables = core.waitables(self._wake_r)
                    timeout = core.sleep_time(now)
            self._deliver(outbox, events)
            if done:
                return
            ready = poller.wait(waitables, timeout)

    def _deliver(self, outbox: list[tuple[Future, Any, bool]], events: list[PoolEvent]) -> None:
        for future, value, failed in outbox:
            try:
                if failed:
                    future.set_exception(value)
                else:
                    future.set_result(value)
            except InvalidStateError:
                pass
        if self._on_event is not None:
            for event in events:
                try:
                    self._on_event(event)
                except Exception:
                    log.exception("pool on_event callback failed")


@atexit.register
def _shutdown_pools_at_exit() -> None:
    """Let in-flight tasks finish and stop the sages of pools nobody shut down."""
    for pool in list(_live_pools):
        pool.shutdown(wait=True, cancel_futures=True)
