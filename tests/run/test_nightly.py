"""Cron use: the journal, crash-safe resume, signals, the state-dir lock, runner nightly."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import GH_REPO, branches, git, latest_report

pytestmark = pytest.mark.timeout(300)


def start_runner(args: list[str], tmp_path: Path, env: dict[str, str]) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            *args,
            "--state-dir",
            str(tmp_path / "state"),
            "--report-dir",
            str(tmp_path / "reports"),
        ],
        cwd=tmp_path,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def exactly_once(world, numbers) -> None:
    repo = world.client().get_repo(GH_REPO)
    heads = sorted(p.head.ref for p in repo.get_pulls(state="all"))
    assert heads == sorted(f"runner/issue-{n}" for n in numbers)
    for n in numbers:
        comments = [c for c in repo.get_issue(n).get_comments() if "runner:pull-request-for-issue" in (c.body or "")]
        assert len(comments) == 1, (n, len(comments))
    assert set(branches(world.clone)) == {f"runner/issue-{n}" for n in numbers}


def test_sigkill_of_the_master_at_random_moments_never_duplicates(github_world, tmp_path):
    world = github_world()
    numbers = world.seed(12)
    path = world.issues_file(tmp_path / "issues.jsonl")
    args = [
        "process",
        str(path),
        "--repo",
        str(world.clone),
        *world.fast_flags(),
        "--notify-interval",
        "0.05",
        "--workers",
        "1",
        "-q",
    ]
    rng = random.Random(20261123)
    for _trial in range(20):
        proc = start_runner(args, tmp_path, world.env())
        time.sleep(rng.uniform(0.2, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    final = start_runner(args, tmp_path, world.env())
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err.decode()
    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"published"}
    assert sorted(r["number"] for r in report["issues"]) == sorted(numbers)
    exactly_once(world, numbers)
    assert world.emulator.stats["merge_attempts"] == 0 and world.emulator.stats["issues_closed"] == 0


def test_sigterm_lets_in_flight_issues_finish_and_defers_the_rest(github_world, tmp_path):
    world = github_world()
    numbers = world.seed(20)
    path = world.issues_file(tmp_path / "issues.jsonl")
    args = ["process", str(path), "--repo", str(world.clone), *world.fast_flags(), "--notify-interval", "0.3", "-q"]
    proc = start_runner(args, tmp_path, world.env())
    deadline = time.monotonic() + 60
    while world.emulator.stats["pulls_created"] < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 3, err.decode()
    report = latest_report(tmp_path / "reports")
    assert report["stopped"] == "SIGTERM"
    statuses = {r["number"]: r["status"] for r in report["issues"]}
    assert sorted(statuses) == sorted(numbers)
    assert set(statuses.values()) <= {"published", "deferred"} and "deferred" in statuses.values()
    published = sorted(n for n, s in statuses.items() if s == "published")
    assert len(published) >= 2
    db = sqlite3.connect(tmp_path / "state" / "journal.sqlite")
    done = sorted(n for (n,) in db.execute("SELECT number FROM issues WHERE state = 'done'"))
    assert done == published
    again = start_runner(args, tmp_path, world.env())
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    exactly_once(world, numbers)


def test_second_run_exits_75_and_a_killed_runs_lock_is_taken_over(make_repo, write_issues, tmp_path):
    from conftest import issue

    repo = make_repo()
    gate = tmp_path / "gate"
    waiter = tmp_path / "wait-for-gate.py"
    waiter.write_text(f"import os, time\nwhile not os.path.exists({str(gate)!r}):\n    time.sleep(0.05)\n")
    held = write_issues([issue(1, "issue 1", "login")], name="held.json")
    first = start_runner(
        ["process", str(held), "--repo", str(repo), "--workers", "1", "-q", "--command", f"{sys.executable} {waiter}"],
        tmp_path,
        {},
    )
    try:
        pid_file = tmp_path / "state" / "run.pid"
        deadline = time.monotonic() + 30
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        path = write_issues([issue(n, f"issue {n}", "login") for n in range(1, 400)])
        second = start_runner(["process", str(path), "--repo", str(repo), "-q"], tmp_path, {})
        _, err = second.communicate(timeout=60)
        assert second.returncode == 75 and str(first.pid) in err.decode()
        first.send_signal(signal.SIGKILL)
    finally:
        gate.touch()  # the killed run's sage still waits for its fixer command, holding our pipes
    first.communicate(timeout=30)
    third = start_runner(["process", str(path), "--repo", str(repo), "-q"], tmp_path, {})
    _, err = third.communicate(timeout=120)
    assert third.returncode == 0, err.decode()
    assert len(branches(repo)) == 399


def test_nightly_skips_unchanged_and_reprocesses_edited_issues(github_world, tmp_path, runner_cli):
    world = github_world()
    numbers = world.seed(6)
    config = tmp_path / "runner.toml"
    config.write_text(
        config.read_text() + f"\nwrite_interval = 0\nnotify_interval = 0\n{PLAN_PRS}"
        f'[repos]\n"{GH_REPO}" = "{world.clone}"\n'
    )
    first = runner_cli(
        "nightly", "--state-dir", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports"), env=world.env()
    )
    assert first.returncode == 0, first.stderr.decode()
    exactly_once(world, numbers)
    tips = branches(world.clone)
    time.sleep(1.1)
    world.client().get_repo(GH_REPO).get_issue(numbers[0]).edit(body="Now it also crashes in export_csv")
    writes_before = world.emulator.stats["writes"]
    second = runner_cli(
        "nightly", "--state-dir", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports"), env=world.env()
    )
    assert second.returncode == 0, second.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert [r["number"] for r in report["issues"]] == [numbers[0]]
    now = branches(world.clone)
    edited = f"runner/issue-{numbers[0]}"
    assert git(world.clone, "rev-parse", f"{now[edited]}^") == tips[edited]
    assert {b: c for b, c in now.items() if b != edited} == {b: c for b, c in tips.items() if b != edited}
    exactly_once(world, numbers)
    assert world.emulator.stats["pulls_created"] == 6
    # the edited issue's PR description, only (its priority and kind are unchanged, so are the labels)
    assert world.emulator.stats["writes"] == writes_before + 1
    pull = next(p for p in world.client().get_repo(GH_REPO).get_pulls(state="all") if p.head.ref == edited)
    assert "also crashes in export_csv" in pull.body
    status = runner_cli("status", "--state-dir", str(tmp_path / "state"))
    assert "done 6" in status.stdout.decode()


def test_a_damaged_journal_is_a_clear_error_and_a_missing_state_dir_is_rebuilt(
    make_repo, write_issues, tmp_path, runner_cli
):
    from conftest import issue

    repo = make_repo()
    path = write_issues([issue(1, "a")])
    state = tmp_path / "state"
    state.mkdir()
    (state / "journal.sqlite").write_bytes(b"this is not a database" * 100)
    broken = runner_cli("process", str(path), "--repo", str(repo))
    assert broken.returncode == 2 and "journal" in broken.stderr.decode() and "Traceback" not in broken.stderr.decode()
    (state / "journal.sqlite").unlink()
    assert runner_cli("process", str(path), "--repo", str(repo)).returncode == 0
    import shutil

    shutil.rmtree(state)
    assert runner_cli("process", str(path), "--repo", str(repo)).returncode == 0


PLAN_PRS = 'publish = "pr"\n[runner]\ncommit_plan = true\n'  # plan branches as draft PRs


def nightly_config(tmp_path: Path, world, extra: str = "") -> None:
    config = tmp_path / "runner.toml"
    config.write_text(
        config.read_text() + f"write_interval = 0\nnotify_interval = 0\n{extra}{PLAN_PRS}"
        f'[repos]\n"{GH_REPO}" = "{world.clone}"\n'
    )


def run_nightly(runner_cli, tmp_path: Path, env: dict[str, str]):
    return runner_cli(
        "nightly", "--state-dir", str(tmp_path / "state"), "--report-dir", str(tmp_path / "reports"), "-q", env=env
    )


def journal_states(tmp_path: Path) -> dict[int, str]:
    db = sqlite3.connect(tmp_path / "state" / "journal.sqlite")
    try:
        return dict(db.execute("SELECT number, state FROM issues"))
    finally:
        db.close()


def test_a_quiet_night_is_a_successful_run_that_says_so_in_one_line(github_world, tmp_path, runner_cli):
    world = github_world()
    nightly_config(tmp_path, world)
    empty = run_nightly(runner_cli, tmp_path, world.env())
    assert empty.returncode == 0 and empty.stderr == b""
    assert empty.stdout.decode().splitlines()[-1].endswith(f"nothing to do: no open issue in {GH_REPO}; none owed")
    numbers = world.seed(2)
    assert run_nightly(runner_cli, tmp_path, world.env()).returncode == 0
    exactly_once(world, numbers)
    assert run_nightly(runner_cli, tmp_path, world.env()).returncode == 0  # re-reads the issues it commented on
    quiet = run_nightly(runner_cli, tmp_path, world.env())
    assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr.decode()
    lines = quiet.stdout.decode().splitlines()
    assert len(lines) == 1 and "nothing to do: no issue updated since 20" in lines[0] and GH_REPO in lines[0]
    assert list((tmp_path / "state" / "tmp").iterdir()) == []
    report = latest_report(tmp_path / "reports")
    assert report["exit_code"] == 0 and report["issues"] == [] and report["totals"]["read"] == 0
    status = runner_cli("status", "--state-dir", str(tmp_path / "state")).stdout.decode().splitlines()
    assert status[0].startswith(report["run_id"]) and "nightly  exit 0" in status[0]
    assert len([line for line in status if " nightly " in line]) == 4


def test_an_owed_issue_github_no_longer_has_is_skipped_and_the_night_goes_on(github_world, tmp_path, runner_cli):
    from runner.testing.emulator import Emulator, EmulatorConfig

    world = github_world()
    world.seed(3)
    nightly_config(tmp_path, world)
    git(world.clone, "remote", "set-url", "origin", str(tmp_path / "no-such-remote.git"))
    owing = run_nightly(runner_cli, tmp_path, world.env())
    assert owing.returncode == 3, owing.stderr.decode()
    assert set(journal_states(tmp_path).values()) == {"deferred"}
    git(world.clone, "remote", "set-url", "origin", str(world.bare))
    world.emulator.stop()  # GitHub now has issue 1 only: 2 and 3 were deleted or transferred
    world.emulator = Emulator(
        {GH_REPO: world.bare}, tokens={world.env()["GITHUB_TOKEN"]}, config=EmulatorConfig(content_per_minute=1000)
    )
    world.url = world.emulator.start()
    world.client().get_repo(GH_REPO).create_issue("Issue 1: login session bug", body="Login fails in app/auth/login.py")
    result = run_nightly(runner_cli, tmp_path, world.env())
    assert result.returncode == 0, result.stderr.decode()
    assert "Traceback" not in result.stderr.decode()
    by_number = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}
    assert by_number[1]["status"] == "published"
    for gone in (2, 3):
        assert by_number[gone]["status"] == "skipped" and "GitHub answers 404" in by_number[gone]["error"]
    assert journal_states(tmp_path) == {1: "done", 2: "skipped", 3: "skipped"}
    again = run_nightly(runner_cli, tmp_path, world.env())
    assert again.returncode == 0, again.stderr.decode()
    assert all(r["number"] == 1 for r in latest_report(tmp_path / "reports")["issues"])


def test_an_owed_issue_github_cannot_give_now_stays_owed_without_stopping_the_night(github_world, tmp_path, runner_cli):
    world = github_world()
    world.seed(3)
    nightly_config(tmp_path, world, "max_wait = 1\n")
    git(world.clone, "remote", "set-url", "origin", str(tmp_path / "no-such-remote.git"))
    assert run_nightly(runner_cli, tmp_path, world.env()).returncode == 3
    git(world.clone, "remote", "set-url", "origin", str(world.bare))
    world.client().get_repo(GH_REPO).get_issue(2).edit(state="closed")  # not among the open issues fetched
    world.reset_limits()
    world.emulator.configure(primary_limit=1)  # the issue list, and then no more
    limited = run_nightly(runner_cli, tmp_path, world.env())
    assert limited.returncode == 3, limited.stderr.decode()
    assert "Traceback" not in limited.stderr.decode()
    by_number = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}
    assert sorted(by_number) == [1, 2, 3] and by_number[2]["status"] == "deferred"
    assert "could not fetch it again" in by_number[2]["error"]
    assert journal_states(tmp_path)[2] == "deferred"
    world.emulator.configure(primary_limit=5000)
    world.reset_limits()
    final = run_nightly(runner_cli, tmp_path, world.env())
    assert final.returncode == 0, final.stderr.decode()
    closed = next(r for r in latest_report(tmp_path / "reports")["issues"] if r["number"] == 2)
    assert closed["status"] == "skipped" and "was closed: no longer owed" in closed["error"]
    assert journal_states(tmp_path) == {1: "done", 2: "skipped", 3: "done"}
