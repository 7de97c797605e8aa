"""`--json` on `runner process` and `runner status`: one JSON object on stdout, people's
lines on stderr (none but errors with `--quiet`), exit codes as without it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import issue
from typer.testing import CliRunner

from runner.cli.app import app

pytestmark = pytest.mark.timeout(120)

RUN_KEYS = {"run_id", "command", "exit_code", "totals", "by_status", "report", "report_error", "nothing_to_do"}
ISSUE_KEYS = {"repo", "number", "state", "attempts", "error", "branch", "commit", "pull_request", "updated_at"}


def test_process_and_status_json(make_repo, write_issues, runner_cli, tmp_path):
    """process: the summary, stderr empty with --quiet; status: the run just made, counts, issues."""
    repo = make_repo()
    path = write_issues([issue(1, "Login fails", "app/auth/login.py"), {"number": "x"}, issue(2, "Export slow", "")])
    result = runner_cli("process", str(path), "--repo", str(repo), "--json", "-q")

    assert result.returncode == 0 and result.stderr == b""
    summary = json.loads(result.stdout)
    assert set(summary) == RUN_KEYS
    assert summary["command"] == "process" and summary["exit_code"] == 0
    assert summary["totals"] == {"read": 3, "skipped": 0, "invalid": 1, "succeeded": 2, "failed": 0, "deferred": 0}
    assert summary["by_status"] == {"committed": 2}
    report = json.loads(Path(summary["report"]["json"]).read_text())
    assert report["run_id"] == summary["run_id"]
    assert summary["report"]["markdown"].endswith(f"{summary['run_id']}.md")

    state = str(tmp_path / "state")
    attention = CliRunner().invoke(app, ["status", "--state-dir", state, "--json"])
    assert attention.exit_code == 0 and attention.stderr == ""
    document = json.loads(attention.stdout)
    assert set(document) == {"runs", "by_state", "issues"}
    assert document["by_state"] == {"done": 2} and document["issues"] == []
    [run] = document["runs"]
    assert run["run_id"] == summary["run_id"] and run["command"] == "process" and run["exit_code"] == 0
    assert run["report"] == summary["report"]["json"] and run["totals"] == summary["totals"]

    every = json.loads(CliRunner().invoke(app, ["status", "--state-dir", state, "--json", "--all"]).stdout)
    assert [i["number"] for i in every["issues"]] == [1, 2]
    assert all(set(i) == ISSUE_KEYS and i["state"] == "done" for i in every["issues"])
    assert every["issues"][0]["branch"] == "runner/issue-1" and len(every["issues"][0]["commit"]) == 40


def test_process_json_keeps_the_human_summary_on_stderr_and_the_exit_code(make_repo, write_issues, runner_cli):
    repo = make_repo()
    path = write_issues([issue(4, "Timeout", "app/search.py")])
    result = runner_cli("process", str(path), "--repo", str(repo), "--json", "--command", "false")

    summary = json.loads(result.stdout)
    assert result.returncode == summary["exit_code"] == 1
    assert summary["by_status"] == {"failed": 1}
    assert b"exit code 1" in result.stderr


def test_process_json_usage_error_prints_nothing_on_stdout(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "process",
            str(tmp_path / "missing.json"),
            "--repo",
            str(tmp_path),
            "--state-dir",
            str(tmp_path / "state"),
            "--json",
            "-q",
        ],
    )
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("runner: error:")
