"""Where sages are forked from: one fork server, started early, with the sage modules preloaded.

Every backend that starts local sages asks here, so the preload list is written once. The
console entry point calls `start_fork_server` before the command line is even parsed (for
`process` and `nightly`), so the server imports the sage modules on another core meanwhile.
"""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Sequence

from runner.pool.types import StartContext

SAGE_MODULES = ("runner.pool", "runner.sage.worker", "runner.sage.render", "runner.sage.preload")


def default_context(preload: Sequence[str] = SAGE_MODULES) -> StartContext:
    """forkserver where available: fork is unsafe once the master runs threads, and spawn
    starts a fresh interpreter for every sage (perf/engine_overhead.py measures all three:
    forkserver starts sages several times faster than spawn once the server runs).

    `preload` is imported once in the fork server, so sages start with it already loaded;
    it only takes effect if the process's fork server is not running yet.
    """
    if "forkserver" not in mp.get_all_start_methods():
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(list(preload))
    return ctx


def start_fork_server() -> None:
    """The fork server sages are forked from, importing the sage modules once (no-op if running)."""
    if "forkserver" not in mp.get_all_start_methods():
        return
    from multiprocessing import forkserver

    default_context()
    forkserver.ensure_running()
