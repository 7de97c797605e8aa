"""Running git: argument lists only, never a shell, and an environment that cannot prompt."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

from runner.core.errors import RunnerError

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
_SIMPLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")


class GitError(RunnerError):
    """A git command failed; the message has git's own words."""


def git_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment with git unable to prompt, plus `extra` (say, auth config)."""
    return {**os.environ, **GIT_ENV, **(extra or {})}


def git_proc(repo: Path | str, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    """git with an argument list, stdin closed or `input`, and output as bytes; unchecked."""
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        input=input,
        capture_output=True,
        stdin=None if input is not None else subprocess.DEVNULL,
        env=git_environ(),
        start_new_session=True,
    )


def open_git(repo: Path | str, *args: str) -> subprocess.Popen:
    """A long-lived git (`cat-file --batch`, `fast-import`) with pipes for stdin and stdout."""
    return subprocess.Popen(
        ["git", "-C", str(repo), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=git_environ(),
        start_new_session=True,
    )


def run_git(repo: Path, *args: str, check: bool = True) -> str:
    """Run git with an argument list (never a shell); stdout as text."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, env=git_environ(), start_new_session=True
    )
    if check and proc.returncode != 0:
        raise GitError(f"git {' '.join(args[:3])} in {repo}: {proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def run_in_own_group(argv: list[str], env: dict[str, str], timeout_s: float) -> subprocess.CompletedProcess:
    """subprocess.run with a timeout that also ends the command's children: `git push` hands the
    transfer to a helper (git-remote-https, ssh) that would otherwise live on, holding the pipes."""
    with subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def last_line(stderr: bytes) -> str:
    lines = stderr.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"


def simple_branch_text(text: str) -> bool:
    """Text git accepts in a branch name, by rules simple enough to check without git:
    letters, digits and `._/-`, and none of `..`, `//`, `/.`, `.lock/` or a final dot."""
    if not _SIMPLE_NAME.match(text):
        return False
    return not (".." in text or "//" in text or "/." in text or ".lock/" in text or text.endswith("."))
