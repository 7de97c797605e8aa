"""Publish modes end to end: triage (labels and one comment on the issue, nothing pushed) and pr with
a fixer (a draft PR whose diff is only the change), through PyGithub and the emulator."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from conftest import GH_REPO, git, latest_report

pytestmark = pytest.mark.timeout(240)

TRIAGE = ("--publish", "triage")
MARK = "runner:triage-for-issue"


def triage_comments(world, number: int) -> list:
    issue = world.client().get_repo(GH_REPO).get_issue(number)
    return [c for c in issue.get_comments() if MARK in (c.body or "")]


def issue_labels(world, number: int) -> set[str]:
    return {label.name for label in world.client().get_repo(GH_REPO).get_issue(number).labels}


def run(world, path: Path, *flags: str):
    result = world.process(path, *flags)
    assert result.returncode == 0, result.stderr.decode()
    return result


def test_triage_mode_labels_and_comments_each_issue_once_and_pushes_nothing(github_world, runner_cli, tmp_path):
    world = github_world()
    numbers = world.seed(30)
    path = world.issues_file(tmp_path / "issues.jsonl")
    seeded = world.emulator.stats["writes"]
    run(world, path, *TRIAGE)
    assert world.emulator.stats["writes"] - seeded == 30 + 30 + 2  # comments, label writes, label creations

    repo = world.client().get_repo(GH_REPO)
    assert list(repo.get_pulls(state="all")) == []
    assert git(world.bare, "for-each-ref", "refs/heads/runner/") == ""
    for number in numbers:
        assert len(triage_comments(world, number)) == 1
        assert issue_labels(world, number) == {"priority/high", "kind/bug"}
    created = {label.name: label for label in repo.get_labels()}
    assert created["priority/high"].color == "d93f0b" and "runner" in created["priority/high"].description
    assert created["kind/bug"].color == "d73a4a"

    body = triage_comments(world, numbers[0])[0].body
    head = git(world.clone, "rev-parse", "main")
    link = re.search(rf"\]\(({re.escape(world.url)}/{GH_REPO}/blob/{head}/app/auth/login\.py#L(\d+)-L(\d+))\)", body)
    assert link, body
    assert "**High**" in body and "**bug**" in body and "### Checklist" in body and "- [ ]" in body
    assert "Possible duplicates" in body and re.search(r"^- #\d+$", body, re.M)

    report = latest_report(tmp_path / "reports")
    assert {r["status"] for r in report["issues"]} == {"published"}
    for record in report["issues"]:
        assert record["pull_request"] is None and "#issuecomment-" in record["comment"]
        assert record["published"] == [{"what": "comment", "url": record["comment"]}]
    github = report["metrics"]["github"]
    assert github["comments_created"] == 30 and github["labels_created"] == 2 and github["labels_added"] == 60

    writes = world.emulator.stats["writes"]
    run(world, path, *TRIAGE)
    assert world.emulator.stats["writes"] == writes
    assert all(len(triage_comments(world, n)) == 1 for n in numbers[:5])
    status = runner_cli("status", "--state-dir", str(tmp_path / "state"), "--published").stdout.decode()
    assert "published: 0 pull requests, 30 triage comments" in status
    first = next(r for r in report["issues"] if r["number"] == numbers[0])
    assert f"#{numbers[0]}: comment {first['comment']}\n" in status


def test_triage_rerun_edits_its_comment_only_where_nobody_else_did(github_world, tmp_path):
    world = github_world()
    world.seed(3)
    path = world.issues_file(tmp_path / "issues.jsonl")
    run(world, path, *TRIAGE)
    repo = world.client().get_repo(GH_REPO)
    before = {n: triage_comments(world, n)[0] for n in (1, 2, 3)}
    before[2].edit(before[2].body.replace("**Triage by runner**", "**Triage (checked by a maintainer)**"))
    for number in (1, 2):
        repo.get_issue(number).edit(
            title=f"Typo in the docs, minor ({number})", body="Spelling mistake in the readme, docs/index.md"
        )
    world.reset_limits()
    counts = dict(world.emulator.stats)
    run(world, world.issues_file(tmp_path / "edited.jsonl"), *TRIAGE)

    after = {n: triage_comments(world, n) for n in (1, 2, 3)}
    assert all(len(comments) == 1 for comments in after.values())
    assert after[1][0].id == before[1].id and "**Low**" in after[1][0].body and "**docs**" in after[1][0].body
    assert "checked by a maintainer" in after[2][0].body and "**High**" in after[2][0].body
    assert after[3][0].body == before[3].body
    stats = world.emulator.stats
    assert stats["comments_updated"] - counts["comments_updated"] == 1
    assert stats["comments_created"] == counts["comments_created"]
    # the new triage's labels replace the ones runner put there before, on both edited issues
    assert issue_labels(world, 1) == {"priority/low", "kind/docs"} == issue_labels(world, 2)
    assert issue_labels(world, 3) == {"priority/high", "kind/bug"}


def test_a_label_a_person_removed_stays_removed(github_world, tmp_path):
    world = github_world()
    world.seed(2)
    path = world.issues_file(tmp_path / "issues.jsonl")
    run(world, path, *TRIAGE)
    repo = world.client().get_repo(GH_REPO)
    person = repo.get_issue(1)  # PyGithub's remove_from_labels would send kind/bug unquoted
    person.requester.requestJsonAndCheck("DELETE", f"{person.url}/labels/{quote('kind/bug', safe='')}")
    repo.get_issue(1).add_to_labels("kind/feature")
    world.reset_limits()
    before = dict(world.emulator.stats)
    run(world, world.issues_file(tmp_path / "again.jsonl"), *TRIAGE)
    assert issue_labels(world, 1) == {"priority/high", "kind/feature"}
    assert issue_labels(world, 2) == {"priority/high", "kind/bug"}
    stats = world.emulator.stats
    # the person's kind/feature is now the issue's kind: the comment says so; no label is written
    assert "**feature**" in triage_comments(world, 1)[0].body
    assert stats["writes"] - before["writes"] == stats["comments_updated"] - before["comments_updated"] == 1


def test_label_names_come_from_the_config(github_world, runner_cli, tmp_path):
    world = github_world()
    world.seed(1)
    (tmp_path / "runner.toml").write_text(
        '[github]\ncontent_per_minute = 1000\npublish = "triage"\n'
        'priority_label = "P: {priority}"\nkind_label = "type: {kind}"\n'
    )
    path = world.issues_file(tmp_path / "issues.jsonl")
    result = runner_cli(
        "process",
        str(path),
        "--repo",
        str(world.clone),
        "--github",
        GH_REPO,
        "--write-interval",
        "0",
        "--notify-interval",
        "0",
        env=world.env(),
    )
    assert result.returncode == 0, result.stderr.decode()
    assert issue_labels(world, 1) == {"P: high", "type: bug"}


def test_pr_mode_needs_a_fixer_or_commit_plan(github_world, tmp_path):
    world = github_world()
    world.seed(1)
    path = world.issues_file(tmp_path / "issues.jsonl")
    writes = world.emulator.stats["writes"]
    result = world.process(path, "--publish", "pr")
    assert result.returncode == 2
    assert "--commit-plan" in result.stderr.decode() and "Traceback" not in result.stderr.decode()
    bad = world.process(path, "--publish", "both")
    assert bad.returncode == 2 and "triage, pr" in bad.stderr.decode()
    assert world.emulator.stats["writes"] == writes


FIXER = """\
import os, pathlib
number = os.environ["RUNNER_ISSUE_NUMBER"]
path = pathlib.Path("app/auth/login.py")
path.write_text(path.read_text() + f"# fixed for issue {number}\\n")
pathlib.Path(os.environ["RUNNER_SUMMARY"]).write_text(f"Appended a marker line for issue {number}.\\n")
"""


def test_pr_mode_with_a_fixer_opens_prs_whose_diff_is_only_the_change(github_world, tmp_path):
    world = github_world()
    numbers = world.seed(3)
    fixer = tmp_path / "fixer.py"
    fixer.write_text(FIXER)
    path = world.issues_file(tmp_path / "issues.jsonl")
    run(world, path, "--command", f"{sys.executable} {fixer}")

    made = list(world.client().get_repo(GH_REPO).get_pulls(state="all"))
    assert len(made) == 3
    for pr in made:
        number = int(pr.head.ref.rsplit("-", 1)[1])
        assert f"Appended a marker line for issue {number}." in pr.body
        assert f"# Plan for #{number}" in pr.body and "## Related files" in pr.body
        assert f"Closes #{number}" in pr.body
        message = git(world.bare, "log", "-1", "--format=%B", pr.head.ref)
        assert message.startswith(f"runner: fix for #{number}:") and f"# Plan for #{number}" in message
        assert f"Runner-Issue: {number}" in message
        diff = git(world.bare, "diff", "--name-only", f"{pr.base.ref}...{pr.head.ref}").split()
        assert diff == ["app/auth/login.py"]
    report = latest_report(tmp_path / "reports")
    assert sorted(r["number"] for r in report["issues"]) == numbers
    assert all(r["published"] == [{"what": "pull_request", "url": r["pull_request"]}] for r in report["issues"])


def test_a_local_fixer_branch_holds_only_the_change(make_repo, write_issues, runner_cli, tmp_path):
    from conftest import issue

    repo = make_repo()
    fixer = tmp_path / "fixer.py"
    fixer.write_text(FIXER)
    path = write_issues([issue(1, "Login fails", "app/auth/login.py crashes")])
    result = runner_cli("process", str(path), "--repo", str(repo), "--command", f"{sys.executable} {fixer}")
    assert result.returncode == 0, result.stderr.decode()
    assert git(repo, "diff", "--name-only", "main", "runner/issue-1").split() == ["app/auth/login.py"]
    assert "# Plan for #1" in git(repo, "log", "-1", "--format=%B", "runner/issue-1")
    planned = runner_cli(
        "process",
        str(path),
        "--repo",
        str(repo),
        "--command",
        f"{sys.executable} {fixer}",
        "--commit-plan",
        "--branch-prefix",
        "planned/",
    )
    assert planned.returncode == 0, planned.stderr.decode()
    assert ".runner/issues/1/PLAN.md" in git(repo, "diff", "--name-only", "main", "planned/1").split()
    assert json.loads(json.dumps(latest_report(tmp_path / "reports")["issues"][0]["published"])) == []
