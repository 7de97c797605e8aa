"""git is started with an argument list and an environment that cannot prompt or hang."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from runner.git.cmd import GitError, git_environ, git_proc, last_line, run_git, run_in_own_group, simple_branch_text


def test_git_environ_cannot_prompt_and_keeps_the_callers_extra() -> None:
    env = git_environ({"GIT_CONFIG_COUNT": "0"})
    assert env["GIT_TERMINAL_PROMPT"] == "0"
    assert env["LC_ALL"] == "C"
    assert env["GIT_CONFIG_COUNT"] == "0"


def test_run_git_returns_stdout_and_raises_with_gits_words(make_repo) -> None:
    repo = make_repo()
    assert run_git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    with pytest.raises(GitError, match="no-such-ref"):
        run_git(repo, "rev-parse", "--verify", "no-such-ref")
    assert run_git(repo, "rev-parse", "--verify", "-q", "no-such-ref", check=False) == ""


def test_issue_text_in_an_argument_is_data_not_a_shell_word(make_repo, tmp_path: Path) -> None:
    repo = make_repo()
    marker = tmp_path / "pwned"
    hostile = f"$(touch {marker}); `touch {marker}`"
    proc = git_proc(repo, "log", "--format=%s", f"--grep={hostile}")
    assert proc.returncode == 0
    assert not marker.exists()


def test_git_proc_feeds_input_and_keeps_bytes(make_repo) -> None:
    repo = make_repo()
    proc = git_proc(repo, "hash-object", "--stdin", input=b"\xff\x00binary")
    assert proc.returncode == 0
    assert len(proc.stdout.strip()) in (40, 64)


def test_a_timeout_ends_the_command_and_its_children(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    argv = ["sh", "-c", 'sleep 600 & echo $! > "$1"; wait', "sh", str(pid_file)]
    with pytest.raises(subprocess.TimeoutExpired):
        run_in_own_group(argv, env={}, timeout_s=1)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_last_line_of_stderr() -> None:
    assert last_line(b"hint: one\nfatal: the reason\n") == "fatal: the reason"
    assert last_line(b"") == "no output"


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("runner/issue-12", True),
        ("fix_login.v2", True),
        ("-delete", False),
        ("a..b", False),
        ("a//b", False),
        ("a/.hidden", False),
        ("x.lock/y", False),
        ("ends.", False),
        ("has space", False),
        ("semi;colon", False),
    ],
)
def test_simple_branch_text(text: str, ok: bool) -> None:
    assert simple_branch_text(text) is ok
