"""`runner nightly` with the selection options: what `--issue` or `--limit` leaves out waits for the next night."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from conftest import GH_REPO, latest_report

pytestmark = pytest.mark.timeout(300)


def nightly(runner_cli, tmp_path: Path, world, *args: str):
    result = runner_cli(
        "nightly",
        "--state-dir",
        str(tmp_path / "state"),
        "--report-dir",
        str(tmp_path / "reports"),
        "-q",
        *args,
        env=world.env(),
    )
    assert result.returncode == 0, result.stderr.decode()
    return latest_report(tmp_path / "reports")


def since_mark(tmp_path: Path) -> str | None:
    db = sqlite3.connect(tmp_path / "state" / "journal.sqlite")
    try:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (f"since:{GH_REPO}",)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


def test_limit_and_issue_leave_the_rest_for_the_next_night(github_world, tmp_path, runner_cli):
    world = github_world()
    numbers = world.seed(4)
    world.client().get_repo(GH_REPO).get_issue(numbers[1]).edit(title="Data loss when saving")  # critical
    config = tmp_path / "runner.toml"
    config.write_text(
        config.read_text() + 'write_interval = 0\nnotify_interval = 0\npublish = "pr"\n'
        f'[repos]\n"{GH_REPO}" = "{world.clone}"\n[runner]\ncommit_plan = true\n'
    )

    limited = nightly(runner_cli, tmp_path, world, "--limit", "1")
    assert [r["number"] for r in limited["issues"]] == [numbers[1]] and limited["not_selected"] == {"--limit": 3}
    assert since_mark(tmp_path) is None

    named = nightly(runner_cli, tmp_path, world, "--issue", str(numbers[3]))
    assert [r["number"] for r in named["issues"]] == [numbers[3]] and named["totals"]["read"] == 1
    assert since_mark(tmp_path) is None

    rest = nightly(runner_cli, tmp_path, world)
    assert sorted(r["number"] for r in rest["issues"]) == [numbers[0], numbers[2]]
    assert since_mark(tmp_path) is not None
    heads = sorted(p.head.ref for p in world.client().get_repo(GH_REPO).get_pulls(state="all"))
    assert heads == sorted(f"runner/issue-{n}" for n in numbers)
