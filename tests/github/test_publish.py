"""Publishing end to end: runner process --github against the local GitHub emulator over HTTP."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import GH_REPO, TOKEN, branches, git, latest_report, marker_comments, pulls

pytestmark = pytest.mark.timeout(240)


def assert_token_nowhere(result, tmp_path: Path) -> None:
    assert TOKEN not in result.stdout.decode() + result.stderr.decode()
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.suffix in (".json", ".md", ".jsonl", ".log", ".txt", ""):
            with contextlib.suppress(IsADirectoryError):
                assert TOKEN not in path.read_text(errors="ignore"), path


def test_fifty_issues_published_once_and_rerun_changes_nothing(github_world, tmp_path):
    world = github_world()
    numbers = world.seed(50)
    path = world.issues_file(tmp_path / "issues.jsonl")
    result = world.process(path)
    assert result.returncode == 0, result.stderr.decode()
    made = pulls(world)
    assert len(made) == 50
    assert {p.head.ref for p in made} == {f"runner/issue-{n}" for n in numbers}
    assert all(p.draft and p.state == "open" and p.base.ref == "main" for p in made)
    pr = made[0]
    assert {"runner", "kind/bug"} <= {label.name for label in pr.labels}
    assert f"Closes #{pr.head.ref.rsplit('-', 1)[1]}" in pr.body
    assert all(marker_comments(world, n) == 1 for n in numbers[:5])
    remote = git(world.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/runner/").split()
    assert len(remote) == 50
    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"published"}
    assert all(r["pull_request"] and "/pull/" in r["pull_request"] for r in report["issues"])
    assert report["metrics"]["github"]["pull_requests_created"] == 50
    assert_token_nowhere(result, tmp_path)

    stats_before = world.emulator.stats
    again = world.process(path)
    assert again.returncode == 0, again.stderr.decode()
    assert len(pulls(world)) == 50
    assert all(marker_comments(world, n) == 1 for n in numbers)
    for key in ("pulls_created", "comments_created", "issues_created"):
        assert world.emulator.stats[key] == stats_before[key], key
    assert world.emulator.stats["merge_attempts"] == 0 and world.emulator.stats["issues_closed"] == 0


def test_a_closed_pull_request_is_not_reopened(github_world, tmp_path):
    world = github_world()
    world.seed(3)
    path = world.issues_file(tmp_path / "issues.jsonl")
    assert world.process(path).returncode == 0
    closed = pulls(world)[0]
    closed.edit(state="closed")
    result = world.process(path)
    assert result.returncode == 0
    assert len(pulls(world)) == 3 and len(pulls(world, "open")) == 2
    report = latest_report(tmp_path / "reports")
    skipped = [r for r in report["issues"] if r["status"] == "skipped"]
    assert [r["branch"] for r in skipped] == [closed.head.ref]


def test_no_comment_opens_labelled_pull_requests_and_creates_no_comment(github_world, tmp_path):
    world = github_world()
    numbers = world.seed(4)
    path = world.issues_file(tmp_path / "issues.jsonl")
    before = world.emulator.stats
    result = world.process(path, extra=["--no-comment"])
    assert result.returncode == 0, result.stderr.decode()
    made = pulls(world)
    assert sorted(p.head.ref for p in made) == sorted(f"runner/issue-{n}" for n in numbers)
    assert all("runner" in {label.name for label in p.labels} for p in made)
    assert all(f"Closes #{p.head.ref.rsplit('-', 1)[1]}" in p.body for p in made)
    assert all(marker_comments(world, n) == 0 for n in numbers)
    stats = world.emulator.stats
    assert stats["comments_created"] == before["comments_created"]
    assert stats["pulls_created"] - before["pulls_created"] == 4
    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"published"}
    assert report["metrics"]["github"]["comments_created"] == 0
    assert report["metrics"]["github"]["pacing"]["notifications"] == 4


def test_process_fetches_open_issues_itself_when_no_file_is_given(github_world, runner_cli, tmp_path):
    world = github_world()
    numbers = world.seed(120, body=lambda n: None if n % 7 == 0 else f"body {n}")
    world.client().get_repo(GH_REPO).get_issue(numbers[0]).edit(state="closed")
    result = runner_cli("process", "--repo", str(world.clone), *world.fast_flags(), env=world.env())
    assert result.returncode == 0, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    assert report["totals"]["read"] == 119 and report["totals"]["succeeded"] == 119
    assert len(branches(world.clone)) == 119
    assert world.emulator.stats["pulls_created"] == 119
    bad = runner_cli(
        "process", "--repo", str(world.clone), *world.fast_flags(), env={**world.env(), "GITHUB_TOKEN": "wrong-token"}
    )
    assert bad.returncode == 2 and "wrong-token" not in bad.stderr.decode()


def test_a_remote_branch_moved_by_someone_else_is_never_forced(github_world, tmp_path):
    world = github_world()
    numbers = world.seed(2)
    path = world.issues_file(tmp_path / "issues.jsonl")
    foreign = git(world.bare, "commit-tree", "-m", "someone else", "main^{tree}")
    git(world.bare, "update-ref", f"refs/heads/runner/issue-{numbers[0]}", foreign)
    result = world.process(path)
    assert result.returncode == 1, result.stderr.decode()
    by_number = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}
    assert by_number[numbers[0]]["status"] == "failed" and "never forces" in by_number[numbers[0]]["error"]
    assert by_number[numbers[1]]["status"] == "published"
    assert git(world.bare, "rev-parse", f"refs/heads/runner/issue-{numbers[0]}") == foreign


def test_an_edited_issue_refreshes_the_description_runner_wrote_but_never_a_persons(github_world, tmp_path):
    world = github_world()
    world.seed(3)
    path = world.issues_file(tmp_path / "issues.jsonl")
    assert world.process(path).returncode == 0
    repo = world.client().get_repo(GH_REPO)
    by_issue = {int(p.head.ref.rsplit("-", 1)[1]): p for p in pulls(world)}
    by_issue[2].edit(body="Reviewer's own description.\r\nKeep this.")
    for number in (1, 2):
        repo.get_issue(number).edit(body=f"Now it also crashes in app/auth/session.py (edit {number})")
    world.reset_limits()
    edited = world.issues_file(tmp_path / "edited.jsonl")
    result = world.process(edited)
    assert result.returncode == 0, result.stderr.decode()
    after = {int(p.head.ref.rsplit("-", 1)[1]): p for p in pulls(world)}
    assert len(after) == 3
    assert "also crashes in app/auth/session.py (edit 1)" in after[1].body
    assert after[2].body == "Reviewer's own description.\r\nKeep this."
    assert after[3].body == by_issue[3].body
    assert latest_report(tmp_path / "reports")["metrics"]["github"]["pull_requests_updated"] == 1
    again = world.process(edited)
    assert again.returncode == 0
    assert latest_report(tmp_path / "reports")["metrics"]["github"]["pull_requests_updated"] == 0


def start_process(args: list[str], tmp_path: Path, env: dict[str, str], name: str) -> subprocess.Popen:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner",
            "process",
            *args,
            "--state-dir",
            str(tmp_path / f"state-{name}"),
            "--report-dir",
            str(tmp_path / f"reports-{name}"),
        ],
        cwd=tmp_path,
        env={**clean, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def comment_authors(world, number: int) -> list[str]:
    issue = world.client().get_repo(GH_REPO).get_issue(number)
    return [c.user.login for c in issue.get_comments() if f"runner:pull-request-for-issue {number} " in (c.body or "")]


def test_two_runs_with_their_own_state_dirs_on_one_clone_publish_each_issue_once(github_world, tmp_path):
    """A cron job and a person, at once: both look, both wait their pace, and only one writes."""
    world = github_world(latency_s=0.02)
    numbers = world.seed(8)
    path = world.issues_file(tmp_path / "issues.jsonl")
    args = [str(path), "--repo", str(world.clone), *world.fast_flags(), "--notify-interval", "0.2", "-q"]
    runs = [start_process(args, tmp_path, world.env(), name) for name in ("cron", "person")]
    for run in runs:
        _, err = run.communicate(timeout=180)
        assert run.returncode == 0, err.decode()
    heads = sorted(p.head.ref for p in pulls(world))
    assert heads == sorted(f"runner/issue-{n}" for n in numbers)
    assert all(comment_authors(world, n) == ["octocat"] for n in numbers)
    for name in ("cron", "person"):
        report = latest_report(tmp_path / f"reports-{name}")
        assert sorted(r["number"] for r in report["issues"]) == sorted(numbers)
        assert {r["status"] for r in report["issues"]} == {"published"}
    assert world.emulator.stats["pulls_created"] == 8 and world.emulator.stats["comments_created"] == 8


def test_a_marker_comment_by_someone_else_does_not_count_as_runners(github_world, tmp_path):
    world = github_world(logins={"mallory-token": "mallory"})
    world.seed(2)
    spoof = world.client("mallory-token").get_repo(GH_REPO).get_issue(1)
    spoof.create_comment("me too! <!-- runner:pull-request-for-issue 1 -->")
    path = world.issues_file(tmp_path / "issues.jsonl")
    for _ in range(2):
        result = world.process(path)
        assert result.returncode == 0, result.stderr.decode()
        assert comment_authors(world, 1) == ["mallory", "octocat"] and comment_authors(world, 2) == ["octocat"]
    assert world.emulator.stats["comments_created"] == 3


def test_a_pull_request_someone_else_opened_from_runners_branch_is_left_alone(github_world, tmp_path):
    world = github_world(logins={"mallory-token": "mallory"})
    world.seed(2)
    path = world.issues_file(tmp_path / "issues.jsonl")
    assert world.process(path).returncode == 0
    runners = next(p for p in pulls(world) if p.head.ref == "runner/issue-2")
    runners.edit(state="closed")
    theirs = (
        world.client("mallory-token")
        .get_repo(GH_REPO)
        .create_pull(base="main", head="runner/issue-2", title="mine now", body=runners.body)
    )
    world.client().get_repo(GH_REPO).get_issue(2).edit(body="Now it also crashes in app/auth/session.py")
    world.reset_limits()
    edited = world.issues_file(tmp_path / "edited.jsonl")
    result = world.process(edited)
    assert result.returncode == 0, result.stderr.decode()
    by_number = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}
    assert by_number[2]["status"] == "skipped"
    assert f"#{theirs.number}" in by_number[2]["error"] and "@mallory" in by_number[2]["error"]
    after = world.client().get_repo(GH_REPO).get_pull(theirs.number)
    assert after.body == runners.body and after.title == "mine now" and [label.name for label in after.labels] == []
    assert len(pulls(world)) == 3 and world.emulator.stats["pulls_created"] == 3


def test_an_app_installation_token_needs_its_login_and_then_publishes_once(github_world, tmp_path):
    world = github_world(logins={"ghs_installation_token_0123": "runner-app[bot]"})
    numbers = world.seed(3)
    path = world.issues_file(tmp_path / "issues.jsonl")
    env = {**world.env(), "GITHUB_TOKEN": "ghs_installation_token_0123"}
    unknown = world.process(path, env=env)
    assert unknown.returncode == 1, unknown.stderr.decode()
    errors = {r["error"] for r in latest_report(tmp_path / "reports")["issues"]}
    assert len(errors) == 1 and 'login = "<app-slug>[bot]"' in errors.pop()
    assert pulls(world) == [] and world.emulator.stats["comments_created"] == 0
    config = tmp_path / "runner.toml"
    config.write_text(config.read_text() + 'login = "runner-app[bot]"\n')
    for _ in range(2):
        result = world.process(path, env=env)
        assert result.returncode == 0, result.stderr.decode()
        assert {p.user.login for p in pulls(world)} == {"runner-app[bot]"} and len(pulls(world)) == 3
        assert all(comment_authors(world, n) == ["runner-app[bot]"] for n in numbers)
    config.write_text(config.read_text().replace("runner-app[bot]", "someone-else"))
    wrong = world.process(path)
    assert wrong.returncode == 1
    assert "the token belongs to 'octocat'" in latest_report(tmp_path / "reports")["issues"][0]["error"]
