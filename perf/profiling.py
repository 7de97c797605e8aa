"""cProfile for in-process scenarios, threads included.

cProfile only sees the thread that enabled it, and runner's master does most of its
work in threads (intake, collector, publisher, monitor). `profiled()` gives every
thread started inside the block its own fresh profiler and merges them all into one
table, so the top functions describe the whole master process.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

TOP = 20
_TAIL = re.compile(r"/(?:lib/python3\.\d+/)?(?:site-packages/)?(?=[^/]+(?:/[^/]+)?$)")
WAITS = (
    "acquire' of '_thread.lock",
    "poll' of 'select.poll",
    "time.sleep",
    "select.select",
    "'get' of '_queue.SimpleQueue'",
    "posix.waitpid",
    "select.epoll",
    "wait' of 'threading.Condition",
)


class Profiles:
    """The merged profiles of one scenario; `top()` is what goes into the results."""

    def __init__(self) -> None:
        self._done: list[cProfile.Profile] = []
        self._lock = threading.Lock()

    def add(self, profile: cProfile.Profile) -> None:
        with self._lock:
            self._done.append(profile)

    def stats(self) -> pstats.Stats | None:
        with self._lock:
            profiles = list(self._done)
        if not profiles:
            return None
        stats = pstats.Stats(profiles[0], stream=io.StringIO())
        for extra in profiles[1:]:
            stats.add(extra)
        return stats

    def top(self, n: int = TOP) -> dict[str, Any]:
        """The n functions with most own time, without blocking waits (lock acquires, poll,
        sleep), whose total is reported once as `waiting_s`: threads spend most of their
        life there and would otherwise fill the table."""
        stats = self.stats()
        if stats is None:
            return {"functions": [], "waiting_s": 0.0}
        rows, waiting = [], 0.0
        for func, (_, calls, tottime, cumtime, _) in stats.stats.items():  # type: ignore[attr-defined]
            filename, line, name = func
            label = f"{_short(filename)}:{line}({name})"
            if any(w in label for w in WAITS):
                waiting += tottime
                continue
            rows.append(
                {"function": label, "calls": calls, "tottime_s": round(tottime, 4), "cumtime_s": round(cumtime, 4)}
            )
        rows.sort(key=lambda r: -r["tottime_s"])
        return {"functions": rows[:n], "waiting_s": round(waiting, 3), "sort": "own time (tottime)"}


def _short(filename: str) -> str:
    """The last two path components, stdlib and site-packages prefixes dropped:
    `runner/pool/sagepool.py`, `selectors.py`, `requests/sessions.py`."""
    match = _TAIL.search(filename)
    return filename[match.end() :] if match else filename


@contextmanager
def profiled(threads: bool = True) -> Iterator[Profiles]:
    """Profile the calling thread and (with `threads`) every thread started inside the block."""
    profiles = Profiles()

    def start_in_thread(frame: Any, event: str, arg: Any) -> None:
        sys.setprofile(None)
        profile = cProfile.Profile()
        profiles.add(profile)
        profile.enable()

    main = cProfile.Profile()
    if threads:
        threading.setprofile(start_in_thread)
    main.enable()
    try:
        yield profiles
    finally:
        main.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        profiles.add(main)
