"""Task functions that benchmark pools run in their workers.

Kept in a module that imports almost nothing, so unpickling a task in a fresh worker
costs no library imports (perf.scenario_* pull in runner's CLI stack and PyGithub).
"""

from __future__ import annotations

import time


class SimulatedTransient(Exception):
    """An injected failure that a retry can cure."""

    transient = True


def ready() -> None:
    """Pool initializer: importing this module is all the preparation a worker needs."""


def simulated_issue(number: int, latency_s: float, fail: bool) -> int:
    """SIMULATED external latency: a sleep, and nothing else."""
    time.sleep(latency_s)
    if fail:
        raise SimulatedTransient(f"injected failure for #{number}")
    return number


def simulated_io(seconds: float) -> float:
    """SIMULATED I/O wait (a fixer command waiting on the network, say): a sleep."""
    time.sleep(seconds)
    return seconds
