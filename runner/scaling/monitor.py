"""Resource monitor: a daemon thread that samples the machine and our processes.

Why: memory must be measured per process (the master and each sage worker), not
system-wide, and the scaling policy needs fresh readings without the master's
scheduling loop paying for them.

    PsutilSampler() ──> ResourceSample ──> ResourceMonitor thread ──> bounded history
                                                   │                  (peaks kept for the whole run)
                                                   └──> on_sample(sample)  (e.g. feed the scaling policy)

The thread waits on a ``threading.Event`` between samples, so ``stop()`` returns
promptly instead of sleeping out the interval. A sampler or callback that raises is
counted and remembered; the thread keeps going.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable

import psutil

from runner.scaling.samples import ResourceSample

__all__ = ["PsutilSampler", "ResourceMonitor", "ResourceSample"]

_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)


class ResourceMonitor:
    """Samples every ``interval_s`` on a daemon thread into a bounded history."""

    def __init__(
        self,
        sampler: Callable[[], ResourceSample],
        interval_s: float = 0.1,
        history: int = 600,
        on_sample: Callable[[ResourceSample], None] | None = None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self._sampler = sampler
        self._interval_s = interval_s
        self._on_sample = on_sample
        self._lock = threading.Lock()
        self._history: deque[ResourceSample] = deque(maxlen=history)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._peak_master_rss = 0
        self._peak_worker_rss = 0
        self._peak_total_rss = 0
        self.samples_taken = 0
        self.errors = 0
        self.last_error: BaseException | None = None

    def start(self) -> None:
        """Start the sampling thread; calling it on a running monitor does nothing."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="resource-monitor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = 5.0) -> None:
        """Ask the thread to finish and wait for it (at most ``timeout`` seconds)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def sample_once(self) -> ResourceSample | None:
        """Take one sample now, on the calling thread (also used by the loop)."""
        try:
            sample = self._sampler()
        except Exception as exc:
            self._note_error(exc)
            return None
        self._store(sample)
        if self._on_sample is not None:
            try:
                self._on_sample(sample)
            except Exception as exc:
                self._note_error(exc)
        return sample

    def history(self) -> list[ResourceSample]:
        with self._lock:
            return list(self._history)

    def latest(self) -> ResourceSample | None:
        with self._lock:
            return self._history[-1] if self._history else None

    def peak_master_rss(self) -> int:
        """Largest master RSS seen during the whole run (bytes)."""
        return self._peak_master_rss

    def peak_worker_rss(self) -> int:
        """Largest RSS of any single worker seen during the whole run (bytes)."""
        return self._peak_worker_rss

    def peak_total_rss(self) -> int:
        """Largest master + workers RSS seen in one sample (bytes)."""
        return self._peak_total_rss

    def __enter__(self) -> ResourceMonitor:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample_once()
            self._stop.wait(self._interval_s)

    def _store(self, sample: ResourceSample) -> None:
        with self._lock:
            self._history.append(sample)
            self.samples_taken += 1
            self._peak_master_rss = max(self._peak_master_rss, sample.master_rss)
            self._peak_worker_rss = max(self._peak_worker_rss, *sample.worker_rss, 0)
            self._peak_total_rss = max(self._peak_total_rss, sample.total_rss)

    def _note_error(self, exc: BaseException) -> None:
        with self._lock:
            self.errors += 1
            self.last_error = exc


class PsutilSampler:
    """Reads system CPU, memory, load and per-process RSS / CPU% with psutil.

    ``psutil.Process`` objects are cached per pid because ``cpu_percent`` reports the
    CPU used since the previous call on the same object, so a pid's first reading
    is 0%. Pids that are gone are skipped and forgotten. The system ``cpu_percent(interval=None)`` counter is
    module-global in psutil, so other callers in this process shift its interval.
    """

    def __init__(
        self,
        master_pid: int,
        worker_pids: Callable[[], list[int]],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._master_pid = master_pid
        self._worker_pids = worker_pids
        self._clock = clock
        self._cpu_count = psutil.cpu_count() or os.cpu_count() or 1
        self._processes: dict[int, psutil.Process] = {}
        psutil.cpu_percent(interval=None)
        for pid in [master_pid, *worker_pids()]:
            self._process(pid)

    def __call__(self) -> ResourceSample:
        pids = list(self._worker_pids())
        master = self._read(self._master_pid)
        workers = [(pid, reading) for pid in pids if (reading := self._read(pid)) is not None]
        self._forget_except({self._master_pid, *pids})
        return ResourceSample(
            at=self._clock(),
            cpu_percent=psutil.cpu_percent(interval=None),
            mem_percent=psutil.virtual_memory().percent,
            load_per_cpu=os.getloadavg()[0] / self._cpu_count,
            master_rss=master[0] if master else 0,
            worker_rss=[rss for _, (rss, _) in workers],
            worker_cpu=[cpu for _, (_, cpu) in workers],
            worker_pids=[pid for pid, _ in workers],
        )

    def _read(self, pid: int) -> tuple[int, float] | None:
        process = self._process(pid)
        if process is None:
            return None
        try:
            with process.oneshot():
                return process.memory_info().rss, process.cpu_percent(interval=None)
        except _GONE:
            self._processes.pop(pid, None)
            return None

    def _process(self, pid: int) -> psutil.Process | None:
        process = self._processes.get(pid)
        if process is not None:
            return process
        try:
            process = psutil.Process(pid)
            process.cpu_percent(interval=None)
        except _GONE:
            return None
        self._processes[pid] = process
        return process

    def _forget_except(self, keep: set[int]) -> None:
        for pid in [pid for pid in self._processes if pid not in keep]:
            del self._processes[pid]
