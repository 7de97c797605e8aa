"""The backend choice point: which pool runs the sages for a run.

Every backend keeps the contract the dispatcher is written against,
`runner.pool.WorkerPool`. The local backend is `SagePool`; `--backend dask` (an existing
cluster) and `--backend dask-local` (a LocalCluster owned by the run) use
`runner.dask.pool.DaskPool`, imported only then, so runner without Dask
installed still runs locally.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from runner.config import Config, ConfigError
from runner.pool import PoolEvent, SagePool, WorkerPool
from runner.pool.start import default_context, start_fork_server
from runner.sage import worker as sage

INFLIGHT_PER_WORKER = 8
MAX_WORKER_RSS = 1024 * 1024 * 1024
MAX_TASKS_PER_WORKER = 50_000


def initial_workers(config: Config) -> int:
    """Fixed `--workers N`, or for auto the CPU count clamped to the configured bounds."""
    if config.workers:
        return config.workers
    return max(config.min_workers, min(config.max_workers, os.cpu_count() or 1))


def make_pool(config: Config, setup: sage.SageSetup, on_event: Callable[[PoolEvent], None] | None = None) -> WorkerPool:
    """The pool for `config.backend`: a SagePool, or a DaskPool with the same interface."""
    if config.backend != "local":
        return make_dask_pool(config, setup)
    return SagePool(
        initial_workers(config),
        initializer=sage.initialize,
        initargs=(setup,),
        task_timeout=config.task_timeout,
        max_tasks_per_worker=MAX_TASKS_PER_WORKER,
        max_worker_rss=MAX_WORKER_RSS,
        inflight_per_worker=INFLIGHT_PER_WORKER,
        on_event=on_event,
        mp_context=default_context(),
    )


def start_early(config: Config) -> None:
    """Start the fork server now: it imports the sage modules on another core while the
    master reads its input and loads the index, instead of after."""
    if config.backend == "local":
        start_fork_server()


def make_dask_pool(config: Config, setup: sage.SageSetup) -> WorkerPool:
    try:
        from runner.dask.pool import DaskPool
    except ImportError as exc:
        raise ConfigError(f"--backend {config.backend} needs Dask: pip install 'issue-runner[dask]' ({exc})") from None
    from runner.dask.git import settings_for

    workers = config.dask_workers or initial_workers(config)
    scheduler = config.scheduler if config.backend == "dask" else None
    return DaskPool(
        workers, setup, scheduler=scheduler, task_timeout=config.task_timeout, worker_git=settings_for(config, setup)
    )
