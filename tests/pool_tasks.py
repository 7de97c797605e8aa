"""Task and initializer functions for test_pool, run inside sage processes.

They live apart from the test module so that a sage unpickling them imports only this
small file, not pytest.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import subprocess
import threading
import time
from pathlib import Path

_kept: list[bytes] = []


def record_init(directory: str, delay: float) -> None:
    """Initializer: sleep `delay`, then leave a file named after this process."""
    time.sleep(delay)
    Path(directory, f"init-{os.getpid()}").write_text(str(time.time()))


def failing_init(how: str) -> None:
    if how == "exit":
        os._exit(7)
    raise ValueError("no configuration found")


def add(a: int, b: int = 0) -> int:
    return a + b


def pid() -> int:
    return os.getpid()


def fail(message: str) -> None:
    raise KeyError(message)


def log_id(path: str, task_id: int, delay: float = 0.0) -> int:
    """Append "<task_id> <pid>" to `path` (O_APPEND: one atomic write per line) after `delay`."""
    time.sleep(delay)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{task_id} {os.getpid()}\n".encode())
    finally:
        os.close(fd)
    return task_id


def announce_and_sleep(path: str, seconds: float) -> None:
    """Write our pid to `path` (atomically, via rename) and sleep: a victim for the test."""
    tmp = f"{path}.tmp"
    Path(tmp).write_text(str(os.getpid()))
    os.replace(tmp, path)
    time.sleep(seconds)


def announce_and_gate(path: str, gate: str) -> int:
    announce_and_sleep(path, 0)
    wait_for_file(gate)
    return os.getpid()


def die(how: str, delay: float) -> None:
    time.sleep(delay)
    if how == "exit":
        os._exit(3)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    faulthandler._sigsegv()


def spawn_children_and_hang(path: str) -> None:
    """Start two `sleep 1000` children (one in a session of its own), report them, hang."""
    same_group = subprocess.Popen(["sleep", "1000"])
    own_session = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    tmp = f"{path}.tmp"
    Path(tmp).write_text(f"{same_group.pid} {own_session.pid}")
    os.replace(tmp, path)
    time.sleep(1000)


def wait_for_file(path: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.01)
    return path


def gated(gate: str, value: int) -> int:
    wait_for_file(gate)
    return value


def return_lambda() -> object:
    return lambda: 1


def return_lock() -> object:
    return threading.Lock()


class LockedError(Exception):
    def __init__(self) -> None:
        super().__init__("carries a lock")
        self.lock = threading.Lock()


def raise_unpicklable() -> None:
    raise LockedError()


class TwoArgError(Exception):
    """Pickles fine but cannot be rebuilt: __init__ wants two arguments, args holds one."""

    def __init__(self, a: str, b: str) -> None:
        super().__init__(f"{a}/{b}")


def raise_unrebuildable() -> None:
    raise TwoArgError("x", "y")


class BreaksOnLoad:
    """Pickles, but unpickling it in the sage raises."""

    def __reduce__(self) -> tuple:
        return (_refuse, ())


def _refuse() -> None:
    raise RuntimeError("refusing to unpickle")


def grow(megabytes: int) -> int:
    """Keep `megabytes` of touched memory alive in this process."""
    _kept.append(b"\x01" * (megabytes * 1024 * 1024))
    return os.getpid()


def echo_size(payload: bytes) -> bytes:
    return payload[::-1]
