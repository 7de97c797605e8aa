"""Running the fixer's (or the check's) command: its own session, output streamed into a log
file, waited for without reaping it (so its process group id stays reserved and signalling
the group can never reach a stranger), and at the end stopped together with everything it
left behind: its group, its descendants, and processes marked with its worktree.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from runner.sage.worktrees import STOP_GRACE_S, is_alive, processes_using, wait_gone


@dataclass(frozen=True)
class CommandRun:
    exit_code: int | None
    timed_out: bool
    duration_s: float


def run_command(
    argv: tuple[str, ...], timeout_s: float, worktree: Path, env: dict[str, str], log_path: Path
) -> CommandRun:
    """Run to exit or timeout, output streamed straight into the log file (no pipe, no memory)."""
    started = time.monotonic()
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(
                list(argv),
                cwd=worktree,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            log.write(f"runner: cannot start {argv[0]!r}: {exc}\n".encode(errors="replace"))
            return CommandRun(127 if isinstance(exc, FileNotFoundError) else 126, False, time.monotonic() - started)
    exited = False
    try:
        exited = _wait_exit(proc.pid, timeout_s)
    finally:
        _stop_command(proc.pid, worktree)
        proc.wait()
    return CommandRun(proc.returncode if exited else None, not exited, time.monotonic() - started)


def _wait_exit(pid: int, timeout_s: float) -> bool:
    """Wait for our child to exit without reaping it, so its process group id stays reserved."""
    deadline, delay = time.monotonic() + timeout_s, 0.001
    while not _has_exited(pid):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.05)
    return True


def _has_exited(pid: int) -> bool:
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def _stop_command(leader: int, worktree: Path, grace_s: float = STOP_GRACE_S) -> None:
    """End everything the command started: its group, its descendants, anything marked with its worktree.

    Rounds of SIGTERM then SIGKILL; each round looks again, for processes forked
    meanwhile. The leader is our unreaped child throughout, so signalling its
    group can never reach a stranger that reused the id.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGKILL):
        others = {p.pid: p for p in _descendants(leader) + processes_using(worktree, group=leader)}
        if not others and _has_exited(leader):
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leader, sig)
        for proc in others.values():
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)
        deadline = time.monotonic() + grace_s
        wait_gone(list(others.values()), grace_s)
        while not _has_exited(leader) and time.monotonic() < deadline:
            time.sleep(0.02)


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return [p for p in psutil.Process(pid).children(recursive=True) if is_alive(p)]
    except psutil.Error:
        return []
