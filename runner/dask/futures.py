"""Bookkeeping for DaskPool: in-flight records, counters, Dask keys and outcomes."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import Any

from runner.core.models import Priority, Task
from runner.dask.worker import DaskWorkerLost

_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class Flight:
    future: Future
    dask_future: Any
    task_repr: str
    submitted: float


@dataclass
class Counters:
    died: int = 0
    timeouts: int = 0
    tasks_done: int = 0
    expected_departures: int = 0
    busy_s: dict[int, float] = field(default_factory=dict)
    inits: dict[tuple[str, int], float] = field(default_factory=dict)


def task_identity(task: Task | None, fn: Callable[..., Any]) -> tuple[str, int, str]:
    """Dask key, Dask priority (higher runs first) and a name for errors."""
    suffix = uuid.uuid4().hex
    if task is None:
        name = getattr(fn, "__name__", "call")
        return f"runner-{_KEY_UNSAFE.sub('_', name)}-{suffix}", 0, name
    repo = _KEY_UNSAFE.sub("_", task.repo_key) or "default"
    key = f"runner-{repo}-{task.issue.number}-{task.attempt}-{suffix}"
    priority = len(Priority) - 1 - int(task.triage.priority)
    return key, priority, f"issue {task.repo_key + '#' if task.repo_key else '#'}{task.issue.number}"


class Dropped(Exception):
    """Marks a future the cluster cancelled or lost before it finished."""


def outcome(dask_future: Any) -> tuple[Any, BaseException | None]:
    """(result, None) or (None, the task's exception); _Dropped if the cluster cancelled it."""
    try:
        return dask_future.result(timeout=30), None
    except Exception as exc:
        return None, exc
    except BaseException:
        return None, Dropped()


def task_error(task_repr: str, error: BaseException) -> BaseException:
    from distributed import KilledWorker

    if isinstance(error, KilledWorker):
        return DaskWorkerLost(task_repr, str(error))
    return error


def resolve(future: Future, value: Any, error: BaseException | None) -> None:
    try:
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)
    except InvalidStateError:
        pass
