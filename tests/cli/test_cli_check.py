"""`runner process --command ... --check ...`: checked fixes, locally and through the GitHub emulator."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import GH_REPO, branches, git, issue, latest_report

pytestmark = pytest.mark.timeout(240)

# Appends to the file the issue body names; a `pytest`-like check that leaves caches and build output in the
# worktree and fails when the latest fix says "broken".
FIXER = r"""
import json, os
issue = json.load(open(os.environ["RUNNER_ISSUE_JSON"]))
with open(issue["body"].split()[0], "a") as handle:
    handle.write(f"fix for #{issue['number']}: {issue['title']}\n")
"""
CHECK = r"""
import os, pathlib, subprocess, sys
for cache in ("__pycache__", ".pytest_cache", "build"):
    os.makedirs(cache, exist_ok=True)
    pathlib.Path(cache, "artefact").write_text("left by the check\n")
changed = subprocess.run(["git", "diff", "--name-only"], capture_output=True, text=True).stdout.split()
broken = [path for path in changed if "broken" in pathlib.Path(path).read_text().splitlines()[-1]]
print(f"checked {len(changed)} changed files")
if broken:
    print("FAILED test_fix: the fix is broken in", *broken, "```")
    sys.exit(1)
print("1 passed")
"""


@pytest.fixture
def tools(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "fix.py").write_text(FIXER)
    (tmp_path / "check.py").write_text(CHECK)
    return f"{sys.executable} {tmp_path / 'fix.py'}", f"{sys.executable} {tmp_path / 'check.py'}"


def two_issues(tmp_path: Path) -> Path:
    path = tmp_path / "issues.jsonl"
    items = [
        issue(1, "Search is slow", "app/search.py please"),
        issue(2, "Export is broken", "app/export/csv_export.py"),
    ]
    path.write_text("".join(json.dumps(i) + "\n" for i in items))
    return path


def committed_paths(repo: Path, branch: str) -> set[str]:
    return set(git(repo, "diff", "--name-only", "main", branch).split())


def test_a_failing_check_keeps_the_fix_local_as_check_failed(make_repo, runner_cli, tmp_path, tools):
    fixer, check = tools
    repo = make_repo(
        files={"app/search.py": "x = 1\n", "app/export/csv_export.py": "y = 2\n", ".gitignore": "__pycache__/\n"}
    )
    result = runner_cli("process", str(two_issues(tmp_path)), "--repo", str(repo), "--command", fixer, "--check", check)
    assert result.returncode == 1, result.stderr.decode()
    report = latest_report(tmp_path / "reports")
    by_number = {r["number"]: r for r in report["issues"]}
    assert by_number[1]["status"] == "committed" and by_number[2]["status"] == "check-failed"
    assert report["totals"]["failed"] == 1 and report["totals"]["succeeded"] == 1
    failed = by_number[2]["fixer"]["check"]
    assert failed["exit_code"] == 1 and failed["passed"] is False and "FAILED test_fix" in failed["output_tail"]
    assert failed["duration_s"] > 0 and Path(failed["log"]).is_file()
    assert Path(failed["log"]).parent == Path(by_number[2]["fixer"]["log"]).parent
    assert "the check exited with 1" in by_number[2]["error"]
    passed = by_number[1]["fixer"]["check"]
    assert passed["passed"] is True and "1 passed" in passed["output_tail"]
    local = branches(repo)
    assert set(local) == {"runner/issue-1", "runner/issue-2"}, "a failed check keeps its branch, locally"
    fix = {p for p in committed_paths(repo, "runner/issue-2") if not p.startswith(".runner/")}
    assert fix == {"app/export/csv_export.py"}
    for n in (1, 2):
        paths = committed_paths(repo, f"runner/issue-{n}")
        assert not any(p.split("/")[0] in ("__pycache__", ".pytest_cache", "build") for p in paths), paths
    assert "check-failed" in (tmp_path / "reports" / f"{report['run_id']}.md").read_text()


def test_a_failing_check_pushes_nothing_unless_publish_failed_and_then_labels_it(
    github_world, runner_cli, tmp_path, tools
):
    fixer, check = tools
    world = github_world()
    gh = world.client().get_repo(GH_REPO)
    world.emulator.configure(secondary_limits=False)
    gh.create_issue("Search is slow", body="app/search.py please")
    gh.create_issue("Export is broken", body="app/export/csv_export.py")
    world.emulator.configure(secondary_limits=True)
    world.reset_limits()
    path = world.issues_file(tmp_path / "issues.jsonl")
    run = ("process", str(path), "--repo", str(world.clone), *world.fast_flags(), "--command", fixer, "--check", check)

    first = runner_cli(*run, env=world.env())
    assert first.returncode == 1, first.stderr.decode()
    remote = git(world.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/runner/").split()
    assert remote == ["runner/issue-1"], "the fix that failed its check is not pushed"
    assert [p.head.ref for p in gh.get_pulls(state="all")] == ["runner/issue-1"]
    statuses = {r["number"]: r["status"] for r in latest_report(tmp_path / "reports")["issues"]}
    assert statuses == {1: "published", 2: "check-failed"}
    assert "runner/issue-2" in branches(world.clone)

    second = runner_cli(*run, "--publish-failed", env=world.env())
    assert second.returncode == 1, second.stderr.decode()
    shown = [p for p in gh.get_pulls(state="all") if p.head.ref == "runner/issue-2"]
    assert len(shown) == 1 and shown[0].draft
    assert "checks-failed" in {label.name for label in shown[0].labels}
    assert "The check failed" in shown[0].body and "FAILED test_fix" in shown[0].body
    record = {r["number"]: r for r in latest_report(tmp_path / "reports")["issues"]}[2]
    assert record["status"] == "check-failed" and record["pull_request"] == shown[0].html_url
    passed = [p for p in gh.get_pulls(state="all") if p.head.ref == "runner/issue-1"]
    assert "checks-failed" not in {label.name for label in passed[0].labels}

    gh.get_issue(2).edit(title="Export loses a column")
    world.issues_file(path)
    third = runner_cli(*run, env=world.env())
    assert third.returncode == 0, third.stderr.decode()
    fixed = gh.get_pull(shown[0].number)
    assert "checks-failed" not in {label.name for label in fixed.labels}, "a passing check takes the label off"


def test_issue_picks_exactly_those_and_the_old_label_spelling_still_labels_prs_with_a_warning(
    github_world, runner_cli, tmp_path
):
    world = github_world()
    world.seed(4)
    gh = world.client().get_repo(GH_REPO)
    old = runner_cli(
        "process",
        "--repo",
        str(world.clone),
        *world.fast_flags(),
        "--issue",
        "2",
        "--issue",
        "4",
        "--label",
        "legacy",
        env=world.env(),
    )
    assert old.returncode == 0, old.stderr.decode()
    assert "--label is deprecated" in old.stderr.decode() and "--pr-label" in old.stderr.decode()
    made = {p.head.ref: {label.name for label in p.labels} for p in gh.get_pulls(state="all")}
    assert set(made) == {"runner/issue-2", "runner/issue-4"} and all("legacy" in labels for labels in made.values())
    report = latest_report(tmp_path / "reports")
    assert sorted(r["number"] for r in report["issues"]) == [2, 4]
    assert report["not_selected"] == {"--issue": 2} and report["totals"]["skipped"] == 2 and report["skipped"] == []

    new = runner_cli(
        "process",
        "--repo",
        str(world.clone),
        *world.fast_flags(),
        "--issue",
        "1",
        "--pr-label",
        "fresh",
        env=world.env(),
    )
    assert new.returncode == 0, new.stderr.decode()
    assert "deprecated" not in new.stderr.decode()
    made = {p.head.ref: {label.name for label in p.labels} for p in gh.get_pulls(state="all")}
    assert "fresh" in made["runner/issue-1"] and "fresh" not in made["runner/issue-2"]
