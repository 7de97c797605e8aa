"""Run metrics for the report and for the scaling policy.

Why: the numbers must describe real work honestly. Latency runs from the first
enqueue to the terminal state, so queue wait, retries and failures are all in it;
percentiles are interpolated over every finished issue, not nearest-rank over a
handful; throughput counts every attempted issue, failed ones included.

    record_enqueued ─> record_started ─> record_finished(status, priority)
         (first enqueue time kept          │
          per in-flight key only)          ├─> latencies (floats), service times
                                           ├─> counts per status / priority
                                           └─> recent finish times ─> throughput, error rate

Memory stays flat however long the run: only in-flight issues have a dict entry,
finish times are kept as counts per `BUCKET_S` slice of the last two windows, and
latencies are kept exactly up to `LATENCY_SAMPLE` issues, then as a uniform random
sample of that size (reservoir sampling, seeded), which the report says.
"skipped" issues are counted but not attempted: they add no latency, throughput or
error-rate weight.
"""

from __future__ import annotations

import math
import random
import statistics
import threading
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from runner.core.status import Status

RECENT_LATENCIES = 2000
LATENCY_SAMPLE = 20_000
BUCKET_S = 0.1


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    """p50/p95/p99 by linear interpolation (``statistics.quantiles``, inclusive)."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    if len(values) == 1:
        only = float(values[0])
        return {"p50": only, "p95": only, "p99": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


def summarize(values: Sequence[float]) -> dict[str, Any]:
    """Count, mean, max and percentiles of a list of durations."""
    summary: dict[str, Any] = {"count": len(values)}
    summary["mean"] = statistics.fmean(values) if values else None
    summary["max"] = max(values) if values else None
    summary.update(percentiles(values))
    return summary


class Reservoir:
    """Every value up to `size`, then a uniform random sample of `size` of them (Algorithm R),
    so a run of any length keeps at most `size` floats."""

    def __init__(self, size: int, seed: int) -> None:
        self.size = size
        self.count = 0
        self.total = 0.0
        self.maximum: float | None = None
        self.values = array("d")
        self._random = random.Random(seed)

    def append(self, value: float) -> None:
        self.count += 1
        self.total += value
        if self.maximum is None or value > self.maximum:
            self.maximum = value
        if len(self.values) < self.size:
            self.values.append(value)
            return
        slot = self._random.randrange(self.count)
        if slot < self.size:
            self.values[slot] = value

    def summary(self) -> dict[str, Any]:
        """Count, mean and max of every value; percentiles of the kept ones (`sampled` says how
        many when that is fewer than all)."""
        result = summarize(self.values)
        result.update(count=self.count, max=self.maximum, mean=self.total / self.count if self.count else None)
        if self.count > len(self.values):
            result["sampled"] = len(self.values)
        return result


class RunMetrics:
    """Thread-safe accumulator; ``clock`` is injected so tests never sleep."""

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        max_window_s: float = 120.0,
        max_series_points: int = 500,
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._max_window_s = max_window_s
        self._max_series_points = max_series_points
        self._enqueued_at: dict[Hashable, float] = {}
        self._started_at: dict[Hashable, float] = {}
        self._latencies = Reservoir(LATENCY_SAMPLE, seed=1)
        self._service_times = Reservoir(LATENCY_SAMPLE, seed=2)
        self._recent_latencies: deque[float] = deque(maxlen=RECENT_LATENCIES)
        self._by_status: Counter[str] = Counter()
        self._by_priority: Counter[str] = Counter()
        self._busy_s: dict[int, float] = {}
        self._recent: deque[list[int]] = deque()  # [bucket, finished, failed], oldest first
        self._series: list[tuple[float, int]] = []
        self._series_stride = 1
        self._first_at: float | None = None
        self._last_finish_at: float | None = None
        self._attempted = 0
        self._failed = 0
        self._starts = 0

    def record_enqueued(self, key: Hashable) -> None:
        """Note when an issue first entered the queue; re-enqueues (retries) keep it."""
        with self._lock:
            now = self._now()
            self._enqueued_at.setdefault(key, now)

    def record_started(self, key: Hashable) -> None:
        """Note the start of an attempt; service time runs from the latest start."""
        with self._lock:
            self._started_at[key] = self._now()
            self._starts += 1

    def record_finished(self, key: Hashable, status: str, priority: Any) -> None:
        """Record a terminal state; the key's in-flight entries are dropped."""
        self.record_finished_many([(key, status, priority)])

    def record_finished_many(self, finished: Iterable[tuple[Hashable, str, Any]]) -> None:
        """`record_finished` for several (key, status, priority) that ended at the same moment."""
        with self._lock:
            now = self._now()
            for key, status, priority in finished:
                self._finish_one(now, key, status, priority)
            self._prune(now)

    def _finish_one(self, now: float, key: Hashable, status: str, priority: Any) -> None:
        enqueued = self._enqueued_at.pop(key, None)
        started = self._started_at.pop(key, None)
        self._by_status[status] += 1
        self._by_priority[str(priority)] += 1
        if status == Status.SKIPPED:
            return
        self._attempted += 1
        failed = status == Status.FAILED
        self._failed += failed
        if enqueued is not None:
            self._latencies.append(now - enqueued)
            self._recent_latencies.append(now - enqueued)
        if started is not None:
            self._service_times.append(now - started)
        self._last_finish_at = now
        self._count_finish(now, failed)
        self._extend_series(now)

    def record_busy(self, worker_pid: int, seconds: float) -> None:
        """Add time a worker spent on tasks (for per-worker utilisation)."""
        with self._lock:
            self._busy_s[worker_pid] = self._busy_s.get(worker_pid, 0.0) + seconds

    def throughput_recent(self, window_s: float = 10.0) -> float:
        """Attempted issues finished per second over the last ``window_s``."""
        with self._lock:
            now = self._clock()
            return self._count_between(now - window_s, now) / window_s

    def throughput_previous(self, window_s: float = 10.0) -> float:
        """Same rate over the window just before the recent one (for trends)."""
        with self._lock:
            now = self._clock()
            return self._count_between(now - 2 * window_s, now - window_s) / window_s

    def completed_recent(self, window_s: float = 10.0) -> int:
        with self._lock:
            now = self._clock()
            return self._count_between(now - window_s, now)

    def throughput_overall(self) -> float:
        """Attempted issues per second from the first event to the last finish."""
        with self._lock:
            return self._overall()

    def error_rate(self) -> float:
        """failed / attempted over the whole run (0.0 before anything finished)."""
        with self._lock:
            return self._failed / self._attempted if self._attempted else 0.0

    def error_rate_recent(self, window_s: float = 10.0) -> float:
        with self._lock:
            now = self._clock()
            buckets = self._buckets_between(now - window_s, now)
            finished = sum(b[1] for b in buckets)
            return sum(b[2] for b in buckets) / finished if finished else 0.0

    def latency_p95(self) -> float | None:
        """p95 over the last `RECENT_LATENCIES` issues: cheap enough for a live view."""
        with self._lock:
            return percentiles(list(self._recent_latencies))["p95"]

    def in_flight(self) -> int:
        with self._lock:
            return len(self._enqueued_at)

    def throughput_series(self) -> list[tuple[float, int]]:
        """(seconds since first event, attempted issues finished so far), from (0, 0);
        at most ``max_series_points`` + 2 points, thinned evenly as the run grows."""
        with self._lock:
            return self._series_with_last_point()

    def as_dict(self) -> dict[str, Any]:
        """Everything above as JSON-ready data for the report."""
        with self._lock:
            elapsed = self._elapsed()
            return {
                "attempted": self._attempted,
                "failed": self._failed,
                "starts": self._starts,
                "by_status": dict(sorted(self._by_status.items())),
                "by_priority": dict(sorted(self._by_priority.items())),
                "error_rate": self._failed / self._attempted if self._attempted else 0.0,
                "elapsed_s": elapsed,
                "throughput_per_s": self._overall(),
                "latency_s": self._latencies.summary(),
                "service_s": self._service_times.summary(),
                "worker_busy_s": {str(pid): busy for pid, busy in sorted(self._busy_s.items())},
                "throughput_series": [list(point) for point in self._series_with_last_point()],
            }

    def _now(self) -> float:
        now = self._clock()
        if self._first_at is None:
            self._first_at = now
        return now

    def _elapsed(self) -> float:
        if self._first_at is None or self._last_finish_at is None:
            return 0.0
        return self._last_finish_at - self._first_at

    def _overall(self) -> float:
        elapsed = self._elapsed()
        return self._attempted / elapsed if elapsed > 0 else 0.0

    def _count_finish(self, now: float, failed: bool) -> None:
        """Bucket k holds finishes in ((k-1)*BUCKET_S, k*BUCKET_S], so windows ending on a
        bucket edge count exactly."""
        bucket = math.ceil(now / BUCKET_S - 1e-9)
        if not self._recent or self._recent[-1][0] != bucket:
            self._recent.append([bucket, 0, 0])
        last = self._recent[-1]
        last[1] += 1
        last[2] += failed

    def _buckets_between(self, start: float, end: float) -> list[list[int]]:
        low, high = math.ceil(start / BUCKET_S - 1e-9), math.ceil(end / BUCKET_S - 1e-9)
        return [b for b in self._recent if low < b[0] <= high]

    def _count_between(self, start: float, end: float) -> int:
        return sum(b[1] for b in self._buckets_between(start, end))

    def _prune(self, now: float) -> None:
        horizon = math.ceil((now - 2 * self._max_window_s) / BUCKET_S - 1e-9)
        while self._recent and self._recent[0][0] < horizon:
            self._recent.popleft()

    def _extend_series(self, now: float) -> None:
        """Keep one point per ``stride`` finishes; halve the points when full."""
        if self._attempted % self._series_stride:
            return
        self._series.append((now - (self._first_at or now), self._attempted))
        if len(self._series) > self._max_series_points:
            self._series = self._series[1::2]
            self._series_stride *= 2

    def _series_with_last_point(self) -> list[tuple[float, int]]:
        if self._first_at is None:
            return []
        series = [(0.0, 0), *self._series]
        if self._last_finish_at is not None and (not series or series[-1][1] != self._attempted):
            series.append((self._last_finish_at - self._first_at, self._attempted))
        return series
