"""`--check`: the check runs where the fixer ran, as it ran, in the time left; what it leaves is never committed."""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import pytest
from conftest import SAMPLE_FILES, git

from runner.sage.fixer import FixerSpec, run_fixer

pytestmark = pytest.mark.timeout(60)

# Edits a tracked file, writes an ignored file, and writes outside the worktree: beside it, and the plan.
FIXER = (
    "echo fixed >> app/search.py && echo noise > debug.log"
    ' && echo stray > ../stray-$RUNNER_ISSUE_NUMBER.txt && echo edited >> "$RUNNER_PLAN"'
)

# What a test run leaves: caches (ignored by the repository), build output (not ignored), an edit and a
# deletion of tracked files. It says what it saw: its variables, and `git status` as the fixer left it.
CHECK = r"""
import os, pathlib, subprocess, sys
os.makedirs("__pycache__", exist_ok=True); pathlib.Path("__pycache__/search.cpython.pyc").write_bytes(b"\0pyc")
os.makedirs(".pytest_cache/v", exist_ok=True); pathlib.Path(".pytest_cache/v/lastfailed").write_text("{}")
os.makedirs("build", exist_ok=True); pathlib.Path("build/out.bin").write_bytes(b"\1\2")
pathlib.Path("README.md").write_text("rewritten by the check\n"); os.remove("docs/index.md")
print("issue", os.environ["RUNNER_ISSUE_NUMBER"], "branch", os.environ["RUNNER_BRANCH"])
print("status:", subprocess.run(["git", "status", "--porcelain", "app"], capture_output=True, text=True).stdout)
print("search.py ends:", pathlib.Path("app/search.py").read_text().splitlines()[-1])
sys.exit(int(os.environ.get("CHECK_EXIT", "0")))
"""


def spec(tmp_path: Path, fixer: str = FIXER, check: list[str] | None = None, timeout_s: float = 30) -> FixerSpec:
    state = tmp_path / "state"
    return FixerSpec(
        ("sh", "-c", fixer),
        timeout_s,
        str(state / "worktrees"),
        str(state / "logs"),
        check=tuple(check or [sys.executable, "-c", CHECK]),
    )


def fix(repo: Path, fixer_spec: FixerSpec, number: int = 1, **env: str):
    return run_fixer(
        repo,
        "main",
        number,
        f"runner/issue-{number}",
        b'{"number": %d, "title": "t"}' % number,
        b"the plan\n",
        fixer_spec,
        repo / ".git" / "runner-refs.lock",
        env,
        branch_prefix="runner/issue-",
    )


@pytest.fixture
def repo(make_repo):
    files = {**SAMPLE_FILES, ".gitignore": "__pycache__/\n.pytest_cache/\n*.log\n"}
    return make_repo(files=files)


def test_a_passing_check_sees_the_fix_and_the_fixers_variables_and_logs_beside_it(repo, tmp_path):
    outcome = fix(repo, spec(tmp_path), number=7)
    check = outcome.check
    assert check is not None and check.passed and check.exit_code == 0 and not check.timed_out
    assert "issue 7 branch runner/issue-7" in check.output_tail
    assert "search.py ends: fixed" in check.output_tail
    assert " M app/search.py" in check.output_tail, "the check sees the worktree as the fixer left it, unstaged"
    assert Path(check.log_path) == Path(outcome.log_path).with_name(Path(outcome.log_path).stem + ".check.log")
    assert Path(check.log_path).read_text().startswith("issue 7")
    assert check.duration_s > 0


def test_only_the_fixers_change_to_the_tracked_tree_is_taken_never_what_the_check_leaves(repo, tmp_path):
    outcome = fix(repo, spec(tmp_path), CHECK_EXIT="1")
    assert outcome.check is not None and outcome.check.exit_code == 1 and not outcome.check.passed
    assert outcome.changed == {"app/search.py": (SAMPLE_FILES["app/search.py"] + "fixed\n").encode()}
    assert (tmp_path / "state" / "worktrees").is_dir() and git(repo, "status", "--porcelain") == ""


def test_no_check_when_the_fixer_failed_or_changed_nothing(repo, tmp_path):
    marker = tmp_path / "checked"
    check = ["sh", "-c", f"touch {marker}"]
    assert fix(repo, spec(tmp_path, "echo fixed >> app/search.py; exit 4", check)).check is None
    assert fix(repo, spec(tmp_path, "echo noise > debug.log", check), number=2).check is None
    assert not marker.exists()


def test_the_check_gets_only_the_time_the_fixer_left_and_is_killed_after_it(repo, tmp_path):
    pid_file = tmp_path / "check.pid"
    check = ["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"]
    outcome = fix(repo, spec(tmp_path, "echo fixed >> app/search.py", check, timeout_s=1.0))
    assert outcome.check is not None and outcome.check.timed_out and outcome.check.exit_code is None
    assert not outcome.check.passed and outcome.check.duration_s < 10
    assert outcome.changed, "the fixer's change is kept for the local branch"
    sleeper = int(pid_file.read_text())
    assert psutil.wait_procs([psutil.Process(sleeper)], timeout=5)[1] == [] if psutil.pid_exists(sleeper) else True
