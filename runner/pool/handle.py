"""One sage as the parent sees it: its process, its end of the pipe, the tasks sent to it.

SagePool holds one `Sage` per worker process and does all its bookkeeping under the pool
lock; this module only knows how to start, talk to, measure and kill one process.
"""

from __future__ import annotations

import contextlib
import os
import reprlib
import signal
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import psutil

from runner.pool.child import STOP, worker_main
from runner.pool.types import StartContext


class Task:
    """A submitted call: its future, its pickled form (sent as is, resent as is) and its origin."""

    __slots__ = ("args", "blob", "fn", "future", "running", "started_at")

    def __init__(self, future: Future, blob: bytes, fn: Callable[..., Any], args: tuple) -> None:
        self.future = future
        self.blob = blob
        self.fn = fn
        self.args = args
        self.running = False
        self.started_at = 0.0

    def describe(self) -> str:
        """A short human name for error messages, e.g. ``fetch(42, 'x')``."""
        name = getattr(self.fn, "__qualname__", None) or reprlib.repr(self.fn)
        try:
            return f"{name}({', '.join(reprlib.repr(a) for a in self.args)})"
        except Exception:
            return f"{name}(...)"


class Sage:
    """A started worker process plus the parent-side state the pool keeps about it.

    `inflight` holds the tasks sent and not yet answered, oldest first: the first one is
    running (its `started_at` is when it got there), the others wait unread in the pipe.
    """

    def __init__(self, ctx: StartContext, name: str, sys_path: list[str], init_blob: bytes) -> None:
        parent_end, child_end = ctx.Pipe(duplex=True)
        self.process = ctx.Process(target=worker_main, name=name, args=(child_end, sys_path, init_blob))
        try:
            self.process.start()
        except BaseException:
            parent_end.close()
            raise
        finally:
            child_end.close()
        self.conn = parent_end
        assert self.process.pid is not None, "a started process has a pid"
        self.pid: int = self.process.pid
        self.sentinel: int = self.process.sentinel
        self.spawned_at = time.monotonic()
        self.inflight: deque[Task] = deque()
        self.sent = 0
        self.busy_s = 0.0
        self.ready = False
        self.retiring = False  # takes no new task; stopped once its in-flight tasks are answered
        self.doomed = False  # killed, unreachable or failed to initialize: only waits to exit
        self.stop_sent = False
        self.eof = False  # the pipe reached end of file: nothing more will be read
        self.init_failed = False
        self.timed_out: Task | None = None
        self._ps: psutil.Process | None = None

    def accepts(self, nbytes: int, limit: int, small: int) -> bool:
        """Whether a task of `nbytes` can be sent now without the send blocking.

        Up to `limit` small messages fit in the socket buffer; a large one is only sent to an
        idle sage, which is blocked reading its pipe and so drains it at once.
        """
        if not self.ready or self.retiring or self.doomed:
            return False
        queued = len(self.inflight)
        return queued < limit and (nbytes <= small or queued == 0)

    def send(self, blob: bytes) -> bool:
        try:
            self.conn.send_bytes(blob)
        except OSError:
            self.doomed = True
            return False
        return True

    def stop(self) -> None:
        """Ask the sage to exit once it has answered everything already sent."""
        if not self.stop_sent:
            self.stop_sent = True
            self.send(STOP)

    def rss(self) -> int | None:
        try:
            if self._ps is None:
                self._ps = psutil.Process(self.pid)
            return self._ps.memory_info().rss
        except psutil.Error:
            return None

    def kill_tree(self) -> None:
        """SIGKILL the sage and every process it started, even ones that left its group."""
        self.doomed = True
        _signal(self.pid, signal.SIGSTOP)
        try:
            descendants = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        kill_group(self.pid)
        _signal(self.pid, signal.SIGKILL)
        for proc in descendants:
            with contextlib.suppress(psutil.Error):
                proc.kill()

    def reap(self) -> int | None:
        """Collect the exit code of a sage whose sentinel fired and release its resources."""
        self.process.join(timeout=5)
        code = self.process.exitcode
        self.conn.close()
        with contextlib.suppress(ValueError):
            self.process.close()
        return code


def kill_group(pgid: int) -> None:
    """Kill what is left of a sage's process group (each sage leads its own group)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)
