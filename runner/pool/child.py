"""The child side of SagePool: the wire messages and the loop one sage process runs.

Each sage owns one end of a duplex pipe; the parent holds the other. The protocol is
strictly ordered, which is what lets the parent know which task a worker is running:

    parent -> sage   pickled (fn, args, kwargs), one per task, or STOP (an empty message)
    sage -> parent   Ready | InitFailed              once, after the initializer
                     Returned | Raised | Unpicklable  one per task, in the order sent

A sage runs its tasks one after another, so the oldest task the parent has not had a
reply for is the one running; the others are still unread in the pipe.

This module is imported in every worker: it must stay free of heavy imports.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any, NamedTuple

STOP = b""
PROTOCOL = pickle.HIGHEST_PROTOCOL


class Ready(NamedTuple):
    """The initializer finished; the sage now reads tasks."""

    pid: int
    init_s: float


class InitFailed(NamedTuple):
    """The initializer raised; the sage exits after sending this."""

    exc_type: str
    message: str
    traceback: str


class Returned(NamedTuple):
    value: Any


class Raised(NamedTuple):
    """The task raised `exc`; `traceback` is the worker-side text, lost by pickling."""

    exc: BaseException
    traceback: str


class Unpicklable(NamedTuple):
    """The task's result or exception could not be pickled; only that task fails."""

    message: str


def worker_main(conn: Connection, sys_path: list[str], init_blob: bytes) -> None:
    """Entry point of a sage process: initialize once, then serve tasks until STOP or EOF."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _own_process_group()
    sys.path[:] = sys_path
    if not _initialize(conn, init_blob):
        return
    _serve(conn)


def _own_process_group() -> None:
    """Lead a process group so the parent can kill this sage and everything it started."""
    with contextlib.suppress(OSError):
        os.setpgrp()


def _initialize(conn: Connection, init_blob: bytes) -> bool:
    started = time.perf_counter()
    try:
        initializer, initargs = pickle.loads(init_blob)
        if initializer is not None:
            initializer(*initargs)
    except BaseException as exc:
        text = "".join(traceback.format_exception(exc))
        conn.send_bytes(pickle.dumps(InitFailed(type(exc).__qualname__, str(exc), text), PROTOCOL))
        return False
    conn.send_bytes(pickle.dumps(Ready(os.getpid(), time.perf_counter() - started), PROTOCOL))
    return True


def _serve(conn: Connection) -> None:
    while True:
        try:
            blob = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if blob == STOP:
            return
        conn.send_bytes(run_call(blob))


def run_call(blob: bytes) -> bytes:
    """Run one pickled call and return the pickled reply; never raises."""
    try:
        fn, args, kwargs = pickle.loads(blob)
        value = fn(*args, **kwargs)
    except BaseException as exc:
        return _encode_exception(exc)
    try:
        return pickle.dumps(Returned(value), PROTOCOL)
    except Exception as exc:
        message = f"result of type {type(value).__qualname__} could not be pickled: {exc!r}"
        return pickle.dumps(Unpicklable(message), PROTOCOL)


def _encode_exception(exc: BaseException) -> bytes:
    text = "".join(traceback.format_exception(exc))
    try:
        return pickle.dumps(Raised(exc, text), PROTOCOL)
    except Exception as error:
        message = (
            f"exception {type(exc).__qualname__}: {exc} could not be pickled ({error!r}); worker traceback:\n{text}"
        )
        return pickle.dumps(Unpicklable(message), PROTOCOL)
