"""The sage on a Dask worker: what the master's DaskPool sends, and what runs there.

    SagePlugin (pickled once, kept by the scheduler)
        setup(worker) on every worker, current and future (off the worker's event loop):
            drop_token_env()            the worker's own GITHUB_TOKEN & co.: sages never hold a token
            SagePayload.materialize(<worker local dir>/runner-sage-<token>)   index files, templates
            worker_git.install(...)     repositories given as URLs: this host's clones (runner/dask/git.py)
            sage.initialize(setup) -> init time, logged as event INIT_TOPIC
    run_task(token, key, fn, args, kwargs)    each task: checks the run, times it for deadlines;
                                              for a cloned repository the worker commits and pushes

Why bytes and not paths: workers on other hosts cannot read the master's state directory,
so the payload carries the repository index files and the user's templates, and a
worker needs nothing but the installed package. One run per cluster at a time: a worker
process holds one sage state, and a task of another run fails with SageNotReady.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from runner.core.models import Task
from runner.core.secrets import drop_token_env
from runner.core.storage import write_failure
from runner.dask import git as worker_git
from runner.dask.git import WorkerGitSettings
from runner.pool.errors import PoolError
from runner.sage import codeindex
from runner.sage import worker as sage

log = logging.getLogger("runner.dask")

PLUGIN_NAME = "runner-sage"
INIT_TOPIC = "runner-sage-init"
MAX_TEMPLATE_BYTES = 16 * 1024 * 1024

_active_token: str | None = None
_running: dict[str, float] = {}


class DaskWorkerLost(PoolError):
    """Dask gave up on the task: the workers running it kept dying (KilledWorker)."""

    transient = True

    def __init__(self, task_repr: str, detail: str) -> None:
        super().__init__(task_repr, detail)
        self.task_repr, self.detail = task_repr, detail

    def __str__(self) -> str:
        return f"Dask workers died while running {self.task_repr}: {self.detail}"


class ClusterLost(PoolError):
    """The cluster dropped the task (scheduler restarted or unreachable)."""

    transient = True


class SageNotReady(PoolError):
    """The worker's sage was not initialized for this run (another run took it over)."""

    transient = True


@dataclass(frozen=True)
class SagePayload:
    """What a worker needs to build the sage state, as bytes: no shared files."""

    token: str
    indexes: Mapping[str, dict[str, bytes]]
    templates: Mapping[str, bytes] | None
    branch_prefix: str
    plan_dir: str
    repos: Mapping[str, tuple[str, str, str]]
    fixer: Any = None
    ignore_sigint: bool = False
    git: WorkerGitSettings | None = None
    outputs: sage.Outputs = field(default_factory=sage.Outputs)

    @classmethod
    def from_setup(
        cls, setup: sage.SageSetup, token: str, ignore_sigint: bool = False, git: WorkerGitSettings | None = None
    ) -> SagePayload:
        """`repos` and `fixer` name paths on the master's host: only a LocalCluster's workers
        can use them, except for the repositories in `git` (given as URLs), which each worker
        host clones (config refuses a fixer command with an external cluster otherwise).
        `ignore_sigint` is for a LocalCluster: Ctrl-C reaches the whole process group, and
        the master, not its workers, decides how the run stops (as SagePool's sages do)."""
        indexes = {
            key: {p.name: p.read_bytes() for p in codeindex.index_files(Path(path))}
            for key, path in setup.index_paths.items()
        }
        templates = read_tree(Path(setup.templates_dir)) if setup.templates_dir else None
        return cls(
            token,
            indexes,
            templates,
            setup.branch_prefix,
            setup.plan_dir,
            dict(setup.repos),
            setup.fixer,
            ignore_sigint,
            git,
            setup.outputs,
        )

    def materialize(self, directory: Path) -> sage.SageSetup:
        """Write the indexes and templates under `directory`; the setup that points there. An
        index's files keep their names in a folder of their own: a delta finds its base by name."""
        directory.mkdir(parents=True, exist_ok=True)
        paths = {}
        for n, (key, files) in enumerate(sorted(self.indexes.items())):
            folder = directory / f"index-{n}"
            folder.mkdir(exist_ok=True)
            for name, data in files.items():
                _write_index_file(folder / name, data, key)
            paths[key] = str(folder / next(iter(files)))
        templates_dir = None
        if self.templates is not None:
            templates_dir = directory / "templates"
            write_tree(templates_dir, self.templates)
        return sage.SageSetup(
            paths,
            str(templates_dir) if templates_dir else None,
            self.branch_prefix,
            self.plan_dir,
            self.repos,
            self.fixer,
            self.outputs,
        )


def _write_index_file(path: Path, data: bytes, repository: str) -> None:
    """One shipped index file; a worker that cannot hold it says which file and why, since
    the master only sees the message (a bare ENOSPC names no file)."""
    try:
        path.write_bytes(data)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise OSError(
            exc.errno,
            f"cannot write the code index of {repository} to {path} on this Dask worker: "
            f"{write_failure(path.parent, exc)}",
        ) from None


def read_tree(root: Path) -> dict[str, bytes]:
    """Every regular file under `root`, by relative POSIX path."""
    files, total = {}, 0
    for path in sorted(root.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            total += len(data)
            if total > MAX_TEMPLATE_BYTES:
                raise ValueError(f"templates directory {root} is larger than {MAX_TEMPLATE_BYTES} bytes")
            files[path.relative_to(root).as_posix()] = data
    return files


def write_tree(root: Path, files: Mapping[str, bytes]) -> None:
    for name, data in files.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"unsafe template path {name!r}")
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


class SagePlugin(WorkerPlugin):
    """Initializes the sage on every worker, current and future, once."""

    name = PLUGIN_NAME

    def __init__(self, payload: SagePayload) -> None:
        self.payload: SagePayload | None = payload
        self.token = payload.token
        self.directory: Path | None = None

    async def setup(self, worker: Any) -> None:
        """Runs once per worker (the scheduler sends a fresh copy to each); the bytes are
        dropped once written, so a worker does not keep the indexes twice. The work runs in a
        thread: a first clone may take minutes, and the worker must keep answering meanwhile."""
        global _active_token
        payload = self.payload
        assert payload is not None
        _active_token = None
        drop_token_env()
        if payload.ignore_sigint and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        self.directory = Path(worker.local_directory) / f"runner-sage-{self.token}"
        init_s = await asyncio.get_running_loop().run_in_executor(None, self._initialize, payload, self.directory)
        self.payload = None
        _active_token = self.token
        worker.log_event(INIT_TOPIC, init_report(self.token))
        log.debug("sage initialized in %.3f s", init_s)

    def _initialize(self, payload: SagePayload, directory: Path) -> float:
        setup = payload.materialize(directory)
        if payload.git is not None:
            setup = worker_git.install(payload.git, setup, self.token)
        return sage.initialize(setup)

    def teardown(self, worker: Any) -> None:
        global _active_token
        if _active_token == self.token:
            _active_token = None
        worker_git.close()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)


def init_report(token: str) -> dict[str, Any] | None:
    """This worker's pid and sage init time, if its sage belongs to run `token`."""
    if _active_token != token:
        return None
    return {"token": token, "pid": os.getpid(), "init_s": sage.init_time()}


def run_task(token: str, key: str, fn: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """The task as Dask runs it: checked against the run, timed for the master's deadline."""
    if _active_token != token:
        raise SageNotReady(
            f"this Dask worker's sage is not initialized for run {token} (one runner run per cluster at a time)"
        )
    _running[key] = time.monotonic()
    try:
        task = args[0] if args and isinstance(args[0], Task) else None
        if task is not None and worker_git.handles(task.repo_key):
            return worker_git.work_and_push(task, lambda: fn(*args, **kwargs))
        return fn(*args, **kwargs)
    finally:
        _running.pop(key, None)


def running_for(keys: list[str]) -> dict[str, float]:
    """Seconds each of `keys` has been running on this worker (those it runs now)."""
    now, wanted = time.monotonic(), set(keys)
    return {key: now - started for key, started in list(_running.items()) if key in wanted}
