"""runner process when sages crash, hang or cannot start: real processes, real signals."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import psutil
import pytest
from conftest import branches, issue, latest_report


def sages_of(pid: int) -> list[psutil.Process]:
    """Worker processes of a runner: the children of its fork server."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "forkserver" in " ".join(child.cmdline()) and child.ppid() != pid:
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def issues_finished(journal: Path) -> int:
    """Issues the run has journaled past `queued`: results are flowing, so the sages are ready."""
    if not journal.exists():
        return 0
    try:
        with closing(sqlite3.connect(f"file:{journal}?mode=ro", uri=True, timeout=1)) as db:
            return db.execute("SELECT COUNT(*) FROM issues WHERE state != 'queued'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def cpu_seconds(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return -1.0
    return times.user + times.system


@pytest.mark.timeout(180)
def test_sigkill_of_a_sage_mid_run_loses_nothing(make_repo, write_issues, tmp_path):
    repo = make_repo()
    items = [issue(n, f"Login session problem {n}", "app/auth/session.py " * 50) for n in range(1, 3001)]
    path = write_issues(items, lines=True)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "process",
            str(path),
            "--repo",
            str(repo),
            "--workers",
            "2",
            "-q",
            "--state-dir",
            str(tmp_path / "state"),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and proc.poll() is None:
        workers = sages_of(proc.pid)
        if len(workers) >= 2 and issues_finished(tmp_path / "state" / "journal.sqlite") > 0:
            busiest = max(workers, key=cpu_seconds)  # a sage killed while it initializes is no mid-run death
            killed = busiest.pid
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.02)
    _out, err = proc.communicate(timeout=150)
    assert killed is not None, "the run ended before a sage could be killed"
    assert proc.returncode == 0, err.decode()
    report = latest_report(tmp_path / "reports")
    assert report["totals"]["succeeded"] == 3000
    assert sorted(r["number"] for r in report["issues"]) == list(range(1, 3001))
    assert report["metrics"]["pool"]["died"] >= 1
    assert len(branches(repo)) == 3000


@pytest.mark.timeout(120)
def test_a_hanging_template_is_killed_at_the_timeout_and_others_finish(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    hang = tmp_path / "tpl" / "bug"
    hang.mkdir(parents=True)
    (hang / "PLAN.md.j2").write_text(
        "{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}never\n"
    )
    items = [
        issue(1, "Crash on save", labels=["bug"]),
        issue(2, "Add dark mode", labels=["enhancement"]),
        issue(3, "Docs typo", labels=["docs"]),
    ]
    result = runner_cli(
        "process",
        str(write_issues(items)),
        "--repo",
        str(repo),
        "--templates",
        str(tmp_path / "tpl"),
        "--timeout",
        "1.5",
        "--max-attempts",
        "2",
        "--workers",
        "2",
    )
    assert result.returncode == 1, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    by_number = {r["number"]: r for r in report["issues"]}
    assert by_number[1]["status"] == "failed" and "TaskTimeout" in by_number[1]["error"]
    assert by_number[1]["attempts"] == 2
    assert by_number[2]["status"] == by_number[3]["status"] == "committed"
    assert report["metrics"]["pool"]["timeouts"] == 2
    assert set(branches(repo)) == {"runner/issue-2", "runner/issue-3"}


@pytest.mark.timeout(60)
def test_a_broken_template_stops_the_run_with_exit_2(make_repo, write_issues, runner_cli, tmp_path):
    repo = make_repo()
    broken = tmp_path / "tpl" / "default"
    broken.mkdir(parents=True)
    (broken / "PLAN.md.j2").write_text("{% for x in %}\n")
    result = runner_cli(
        "process", str(write_issues([issue(1, "a")])), "--repo", str(repo), "--templates", str(tmp_path / "tpl")
    )
    assert result.returncode == 2
    message = result.stderr.decode()
    assert "sage workers could not start" in message and "TemplateSyntaxError" in message
    assert branches(repo) == {}
