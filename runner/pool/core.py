"""The bookkeeping behind SagePool: which sage runs what, and what to do when one goes.

`PoolCore` holds all mutable pool state. Every method runs with the pool lock held and
never blocks for long; futures to complete and events to emit are queued in `outbox` and
`events`, which the manager thread delivers after releasing the lock (so callbacks may
call back into the pool).
"""

from __future__ import annotations

import itertools
import pickle
import sys
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from runner.pool.child import InitFailed, Raised, Ready, Returned, Unpicklable
from runner.pool.errors import (
    InitializerError,
    PoolBroken,
    PoolError,
    RemoteTraceback,
    ResultNotPicklable,
    TaskTimeout,
    WorkerCrashed,
)
from runner.pool.handle import Sage, Task, kill_group
from runner.pool.types import PoolConfig, PoolEvent, PoolStats, StartContext


class PoolCore:
    """All mutable pool state and the policies acting on it; the caller holds the lock."""

    def __init__(
        self, config: PoolConfig, ctx: StartContext, init_blob: bytes, target: int, wake: Callable[[], None]
    ) -> None:
        self.config = config
        self.target = target
        self.sages: list[Sage] = []
        self.pending: deque[Task] = deque()
        self.outbox: list[tuple[Future, Any, bool]] = []
        self.events: list[PoolEvent] = []
        self.stats = PoolStats()
        self.shutdown = False
        self.broken: PoolBroken | None = None
        self.init_error: InitializerError | None = None
        self._ctx = ctx
        self._init_blob = init_blob
        self._wake = wake
        self._names = itertools.count(1)
        self._handles: dict[object, tuple[Sage | None, bool]] = {}
        self._waitables: list[object] | None = None
        self._sleeping_until: float | None = 0.0
        self._init_failures = 0
        self._respawn_at = 0.0
        self._next_rss = 0.0

    # ---- accounting -----------------------------------------------------------------------

    def live(self) -> list[Sage]:
        """Sages counted towards the target: not retiring, not dying."""
        return [s for s in self.sages if not s.retiring and not s.doomed]

    def all_ready(self) -> bool:
        return sum(1 for s in self.live() if s.ready) >= self.target

    def capacity(self) -> int:
        """Tasks the live sages can hold at once."""
        return len(self.live()) * self.config.inflight_per_worker

    def state(self) -> tuple:
        """What waiters other than a slot wait for: sages, their readiness, shutdown, breakage."""
        return (len(self.sages), sum(1 for s in self.sages if s.ready), self.shutdown, self.broken is not None)

    def free_slots(self) -> int:
        live = 0
        used = len(self.pending)
        for sage in self.sages:
            if not sage.retiring and not sage.doomed:
                live += 1
                used += len(sage.inflight)
        return max(0, live * self.config.inflight_per_worker - used)

    def finished(self) -> bool:
        return (self.shutdown or self.broken is not None) and not self.pending and not self.sages

    def take_deliveries(self) -> tuple[list[tuple[Future, Any, bool]], list[PoolEvent]]:
        outbox, self.outbox = self.outbox, []
        events, self.events = self.events, []
        return outbox, events

    def snapshot_stats(self) -> PoolStats:
        s = self.stats
        busy = dict(s.busy_s)
        busy.update({sage.pid: sage.busy_s for sage in self.sages})
        return PoolStats(s.started, s.died, s.recycled, s.timeouts, list(s.init_times_s), s.tasks_done, busy)

    # ---- sending --------------------------------------------------------------------------

    def submit(self, task: Task) -> None:
        if self.pending or not self._send_anywhere(task):
            self.pending.append(task)

    def cancel_pending(self) -> list[Task]:
        """Take out the queued tasks that never reached a sage, for the caller to cancel."""
        cancelled = [t for t in self.pending if not t.running]
        self.pending = deque(t for t in self.pending if t.running)
        return cancelled

    def _send_anywhere(self, task: Task) -> bool:
        """Send to the least loaded sage that accepts it; False when none can take it now."""
        best = None
        nbytes = len(task.blob)
        limit, small = self.config.inflight_per_worker, self.config.small_message
        for sage in self.sages:
            if sage.accepts(nbytes, limit, small) and (best is None or len(sage.inflight) < len(best.inflight)):
                best = sage
                if not sage.inflight:
                    break
        return best is not None and self._send(best, task)

    def _send(self, sage: Sage, task: Task) -> bool:
        """True when the task is taken care of (sent, or found cancelled)."""
        if not task.running:
            if not task.future.set_running_or_notify_cancel():
                return True
            task.running = True
        if not sage.send(task.blob):
            return False
        if not sage.inflight:
            task.started_at = now = time.monotonic()
            if self.config.task_timeout is not None:
                self._wake_for_deadline(now + self.config.task_timeout)
        sage.inflight.append(task)
        sage.sent += 1
        max_tasks = self.config.max_tasks_per_worker
        if max_tasks is not None and sage.sent >= max_tasks:
            self._retire(sage, "recycle", reason="max_tasks", tasks=sage.sent)
            self._wake()
        return True

    def _wake_for_deadline(self, deadline: float) -> None:
        if self._sleeping_until is None or deadline < self._sleeping_until:
            self._sleeping_until = deadline
            self._wake()

    def _dispatch_pending(self) -> None:
        while self.pending:
            task = self.pending.popleft()
            if not self._send_anywhere(task):
                self.pending.appendleft(task)
                return

    # ---- what the manager thread waits for ------------------------------------------------

    def waitables(self, wake_fd: int) -> list[object]:
        if self._waitables is None:
            self._handles = {wake_fd: (None, False)}
            for sage in self.sages:
                self._handles[sage.sentinel] = (sage, False)
                if not sage.eof:
                    self._handles[sage.conn] = (sage, True)
            self._waitables = list(self._handles)
        return self._waitables

    def sleep_time(self, now: float) -> float | None:
        times = []
        if self.config.task_timeout is not None:
            times += [
                s.inflight[0].started_at + self.config.task_timeout for s in self.sages if s.inflight and not s.doomed
            ]
        if self._init_failures and len(self.live()) < self.target:
            times.append(self._respawn_at)
        if self.config.max_worker_rss is not None and self.sages:
            times.append(self._next_rss)
        self._sleeping_until = min(times) if times else None
        return None if self._sleeping_until is None else max(0.0, self._sleeping_until - now)

    def handle(self, ready: list[object]) -> None:
        """Read replies from ready pipes, then bury the sages whose sentinel fired."""
        exited = []
        for obj in ready:
            sage, is_conn = self._handles.get(obj, (None, False))
            if sage is not None and is_conn and not sage.eof:
                self._read_replies(sage)
            elif sage is not None and not is_conn:
                exited.append(sage)
        for sage in exited:
            self._on_exit(sage)

    def maintain(self, now: float) -> None:
        self._enforce_timeouts(now)
        self._sample_rss(now)
        self._reconcile(now)
        self._dispatch_pending()

    # ---- replies and exits ----------------------------------------------------------------

    def _read_replies(self, sage: Sage) -> None:
        conn = sage.conn
        while True:
            try:
                blob = conn.recv_bytes()
            except (EOFError, OSError):
                sage.eof = True
                sage.doomed = sage.doomed or sage.ready  # an initializing one is buried on exit
                self._waitables = None
                return
            self._on_reply(sage, blob)
            if not conn.poll():
                return

    def _on_reply(self, sage: Sage, blob: bytes) -> None:
        try:
            msg = pickle.loads(blob)
        except Exception as exc:
            msg = Unpicklable(f"reply could not be unpickled in the parent: {exc!r}")
        if not sage.ready:
            self._on_first_message(sage, msg)
            return
        task = sage.inflight.popleft()
        now = time.monotonic()
        sage.busy_s += now - task.started_at
        if sage.inflight:
            sage.inflight[0].started_at = now
        self.stats.tasks_done += 1
        kind = type(msg)
        if kind is Returned:
            self.outbox.append((task.future, msg.value, False))
        elif kind is Raised:
            msg.exc.__cause__ = RemoteTraceback(msg.traceback)
            self.outbox.append((task.future, msg.exc, True))
        else:
            self.outbox.append((task.future, ResultNotPicklable(msg.message), True))
        if sage.retiring and not sage.inflight:
            sage.stop()

    def _on_first_message(self, sage: Sage, msg: object) -> None:
        if isinstance(msg, Ready):
            sage.ready = True
            self._init_failures = 0
            self.stats.init_times_s.append(msg.init_s)
            self.events.append(
                PoolEvent("ready", sage.pid, {"init_s": msg.init_s, "start_s": time.monotonic() - sage.spawned_at})
            )
            return
        if isinstance(msg, InitFailed):
            error = InitializerError(
                f"initializer {self.config.initializer_name} failed in "
                f"worker {sage.pid}: {msg.exc_type}: {msg.message}",
                msg.traceback,
            )
        else:
            error = InitializerError(f"worker {sage.pid} sent {msg!r} instead of Ready")
        sage.doomed = sage.init_failed = True
        self._init_failed(sage.pid, error)

    def _on_exit(self, sage: Sage) -> None:
        """A sage is gone: fail the task it was running, resend the ones it never started."""
        if not sage.eof:
            self._read_replies(sage)
        code = sage.reap()
        self.sages.remove(sage)
        self._waitables = None
        if not sage.ready and not sage.init_failed and not sage.stop_sent:
            sage.init_failed = True
            self._init_failed(
                sage.pid, InitializerError(f"worker {sage.pid} exited with code {code} while initializing")
            )
        crashed = bool(sage.inflight) or not (sage.stop_sent or sage.init_failed)
        if sage.inflight:
            self._fail_running_task(sage, code)
        self.stats.busy_s[sage.pid] = sage.busy_s
        if crashed:
            kill_group(sage.pid)
            self.stats.died += 1
        kind = "died" if crashed else "exited"
        self.events.append(PoolEvent(kind, sage.pid, {"exitcode": code}))

    def _fail_running_task(self, sage: Sage, code: int | None) -> None:
        head = sage.inflight.popleft()
        sage.busy_s += time.monotonic() - head.started_at
        if head is sage.timed_out:
            error: PoolError = TaskTimeout(head.describe(), self.config.task_timeout)
        else:
            error = WorkerCrashed(head.describe(), sage.pid, code)
        self.outbox.append((head.future, error, True))
        self.pending.extendleft(reversed(sage.inflight))
        sage.inflight.clear()

    # ---- policies -------------------------------------------------------------------------

    def _enforce_timeouts(self, now: float) -> None:
        timeout = self.config.task_timeout
        if timeout is None:
            return
        for sage in self.sages:
            if sage.inflight and not sage.doomed and now - sage.inflight[0].started_at >= timeout:
                sage.timed_out = sage.inflight[0]
                sage.kill_tree()
                self.stats.timeouts += 1
                detail = {"task": sage.timed_out.describe()}
                self.events.append(PoolEvent("timeout", sage.pid, detail))

    def _sample_rss(self, now: float) -> None:
        limit = self.config.max_worker_rss
        if limit is None or now < self._next_rss:
            return
        self._next_rss = now + self.config.rss_check_interval
        for sage in self.live():
            rss = sage.rss() if sage.ready else None
            if rss is not None and rss > limit:
                self._retire(sage, "recycle", reason="rss", rss=rss)

    def _reconcile(self, now: float) -> None:
        """Spawn or retire sages towards the target; after init failures, wait out the backoff."""
        live = self.live()
        winding_down = self.broken is not None or (self.shutdown and not self.pending)
        target = 0 if winding_down else self.target
        if len(live) > target:
            live.sort(key=_retire_order)
            for sage in live[: len(live) - target]:
                self._retire(sage, "retire")
        elif len(live) < target and (not self._init_failures or now >= self._respawn_at):
            for _ in range(target - len(live)):
                self._spawn()

    def _spawn(self) -> None:
        try:
            sage = Sage(self._ctx, f"sage-{next(self._names)}", list(sys.path), self._init_blob)
        except Exception as exc:
            self._init_failed(None, InitializerError(f"could not start a worker: {exc!r}"))
            return
        self.sages.append(sage)
        self._waitables = None
        self.stats.started += 1
        self.events.append(PoolEvent("spawned", sage.pid))

    def _retire(self, sage: Sage, kind: str, **detail: Any) -> None:
        sage.retiring = True
        if kind == "recycle":
            self.stats.recycled += 1
        self.events.append(PoolEvent(kind, sage.pid, detail))
        if not sage.inflight:
            sage.stop()

    def _init_failed(self, pid: int | None, error: InitializerError) -> None:
        self.init_error = error
        self._init_failures += 1
        self.events.append(PoolEvent("init_failed", pid, {"error": str(error)}))
        if self._init_failures >= self.config.max_init_failures:
            self.break_(error)
        else:
            backoff = self.config.init_backoff_s * 2 ** (self._init_failures - 1)
            self._respawn_at = time.monotonic() + backoff

    def break_(self, cause: BaseException) -> None:
        """No more work can run: fail what is queued; the sages wind down."""
        if self.broken is not None:
            return
        self.broken = _broken(cause)
        for task in self.pending:
            self.outbox.append((task.future, _broken(cause), True))
        self.pending.clear()
        self.events.append(PoolEvent("broken", None, {"error": str(cause)}))

    def abandon(self, cause: BaseException) -> None:
        """The manager thread is failing: kill every sage, fail every task still owed a result."""
        self.break_(cause)
        for sage in self.sages:
            sage.kill_tree()
            self.outbox += [(task.future, _broken(cause), True) for task in sage.inflight]
            sage.inflight.clear()


def _broken(cause: BaseException) -> PoolBroken:
    error = PoolBroken(f"the pool cannot run tasks any more: {cause}")
    error.__cause__ = cause
    return error


def _retire_order(sage: Sage) -> int:
    """Shrink idle sages first, then initializing ones, then the least loaded busy ones."""
    if not sage.ready:
        return 1
    return 0 if not sage.inflight else 1 + len(sage.inflight)
