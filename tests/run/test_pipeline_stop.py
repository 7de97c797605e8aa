"""A graceful stop (one SIGTERM) to a real run: every valid issue of the input still ends in the report,
the ones never started as deferred, and the journal owes them to the next run."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from conftest import branches, issue, latest_report

pytestmark = pytest.mark.timeout(240)
VALID = 300


def test_sigterm_defers_every_issue_not_finished_including_the_unread_ones(
    make_repo, write_issues, runner_cli, tmp_path
):
    repo = make_repo()
    items: list = [issue(n, f"Login session problem {n}", "app/auth/session.py") for n in range(1, VALID + 1)]
    items[250:250] = [{"number": 9001, "title": 7}, {"number": 9002, "title": "a pull request", "pull_request": {}}]
    path = write_issues(items, lines=True)
    fixer = tmp_path / "slow-fixer.py"
    started = tmp_path / "a-fixer-started"
    fixer.write_text(f"import pathlib, time\npathlib.Path({str(started)!r}).touch()\ntime.sleep(0.2)\n")
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
            "1",
            "--queue-size",
            "10",
            "--command",
            f"{sys.executable} {fixer}",
            "-q",
            "--state-dir",
            str(tmp_path / "state"),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 3, err.decode()

    report = latest_report(tmp_path / "reports")
    assert report["stopped"] == "SIGTERM"
    totals = report["totals"]
    assert totals["read"] == VALID + 2 and (totals["invalid"], totals["skipped"]) == (1, 1)
    assert totals["read"] == sum(totals[k] for k in ("skipped", "invalid", "succeeded", "failed", "deferred"))
    statuses = {r["number"]: r["status"] for r in report["issues"]}
    assert len(report["issues"]) == VALID and sorted(statuses) == list(range(1, VALID + 1))
    assert set(statuses.values()) == {"no-change", "deferred"}
    last = next(r for r in report["issues"] if r["number"] == VALID)
    assert last["status"] == "deferred" and last["error"] == "run stopped (SIGTERM) before this issue started"
    assert last["priority"] and last["kind"] and last["attempts"] == 0
    assert totals["deferred"] > VALID - 50

    db = sqlite3.connect(tmp_path / "state" / "journal.sqlite")
    journal = dict(db.execute("SELECT number, state FROM issues"))
    db.close()
    assert journal == {n: "deferred" if s == "deferred" else "done" for n, s in statuses.items()}
    log = (tmp_path / "state" / "logs" / "runner.log").read_text()
    assert "issues read after the stop deferred" in log
    assert log.count(" deferred: ") < 30  # one line each for the few that were queued, not one per unread issue

    again = runner_cli("process", str(path), "--repo", str(repo), "--workers", "2", reports="reports2")
    assert again.returncode == 0, again.stderr.decode()
    rerun = latest_report(tmp_path / "reports2")
    assert rerun["totals"]["succeeded"] == VALID and rerun["totals"]["deferred"] == 0
    assert len(branches(repo)) == VALID
    assert json.dumps(rerun).count("run stopped") == 0
